package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/signin"
)

// beginPasskeyLogin starts a passkey sign-in (signin.BeginPasskey): the second factor of the
// sign-in in progress when asked for it (?for=second_factor, from /login/verify), otherwise a
// whole sign-in with a discoverable credential.
func (h *Handler) beginPasskeyLogin(c *fiber.Ctx) error {
	assertion, ch, err := h.SignIn.BeginPasskey(c.UserContext(), h.client(c), c.Query("for") == "second_factor", c.Cookies(h.cookieName(webauthnCookie)))
	if err != nil {
		return h.respondJSON(c, signin.Result{}, err)
	}
	h.setCookie(c, webauthnCookie, ch.Token, ch.Expires)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(assertion)
}

// finishPasskeyLogin hands the browser's assertion to signin.FinishPasskey, which checks it,
// refuses a cloned authenticator and takes the sign-in on.
func (h *Handler) finishPasskeyLogin(c *fiber.Ctx) error {
	r, err := h.SignIn.FinishPasskey(c.UserContext(), h.client(c), h.challengeToken(c), c.Body())
	return h.respondJSON(c, r, err)
}
