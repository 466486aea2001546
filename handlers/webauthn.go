package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/weftid/weftid/services/account"
)

// webauthnCookie carries the token of the ceremony in progress; the challenge itself stays in
// the store (account.SaveChallenge).
const webauthnCookie = "weftid_webauthn"

// challengeToken is the browser's ceremony token, which is used once: its cookie is cleared.
func (h *Handler) challengeToken(c *fiber.Ctx) string {
	token := c.Cookies(h.cookieName(webauthnCookie))
	h.clearCookie(c, webauthnCookie)
	return token
}

// passkeysOff answers a passkey endpoint when WebAuthn could not be configured.
func (h *Handler) passkeysOff(c *fiber.Ctx) bool {
	if h.Account.WebAuthn() != nil {
		return false
	}
	_ = jsonError(c, fiber.StatusServiceUnavailable, messageFor(account.ErrPasskeysOff))
	return true
}

// jsonError answers a WebAuthn call with a message the page shows.
func jsonError(c *fiber.Ctx, status int, msg string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(fiber.Map{"error": msg})
}
