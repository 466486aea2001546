package handlers

import (
	"bytes"
	"context"
	"net/http"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// webauthnCookie carries the token of the ceremony in progress; the challenge itself stays in
// the store (account.SaveChallenge).
const webauthnCookie = "weftid_webauthn"

// waUser is account.PasskeyUser under the names the passkey sign-in (login_passkey.go) uses.
type waUser struct {
	*account.PasskeyUser
	user  store.User
	creds []webauthn.Credential
}

// passkeyFor finds the stored passkey of a credential id.
func (u *waUser) passkeyFor(id []byte) (store.Passkey, bool) { return u.PasskeyFor(id) }

// loadWAUser loads a user with their WebAuthn handle and credentials (account.PasskeyUser).
func (h *Handler) loadWAUser(ctx context.Context, u store.User) (*waUser, error) {
	pu, err := h.account.PasskeyUser(ctx, u)
	if err != nil {
		return nil, err
	}
	return &waUser{PasskeyUser: pu, user: pu.User, creds: pu.Credentials}, nil
}

// saveChallenge keeps a ceremony's session data, in place of the ceremony the browser's cookie
// named before, and gives the browser a cookie naming it.
func (h *Handler) saveChallenge(c *fiber.Ctx, purpose string, userID int64, session *webauthn.SessionData) error {
	ch, err := h.account.SaveChallenge(c.UserContext(), purpose, userID, session, c.Cookies(h.cookieName(webauthnCookie)))
	if err != nil {
		return err
	}
	h.setCookie(c, webauthnCookie, ch.Token, ch.Expires)
	return nil
}

// challengeToken is the browser's ceremony token, which is used once: its cookie is cleared.
func (h *Handler) challengeToken(c *fiber.Ctx) string {
	token := c.Cookies(h.cookieName(webauthnCookie))
	h.clearCookie(c, webauthnCookie)
	return token
}

// takeChallenge consumes the browser's ceremony of that purpose (once) and returns its session.
func (h *Handler) takeChallenge(c *fiber.Ctx, purpose string) (store.Challenge, webauthn.SessionData, error) {
	return h.account.TakeChallenge(c.UserContext(), h.challengeToken(c), purpose)
}

// bodyRequest wraps the request body for go-webauthn, which reads responses from *http.Request.
func bodyRequest(c *fiber.Ctx) *http.Request {
	r, _ := http.NewRequestWithContext(c.UserContext(), http.MethodPost, "/", bytes.NewReader(c.Body()))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// errNoPasskeys is the answer of every passkey endpoint when WebAuthn is off.
const errNoPasskeys = "Passkeys are not available on this server: its address must be a domain name, not an IP address."

// passkeysOff answers a passkey endpoint when WebAuthn could not be configured.
func (h *Handler) passkeysOff(c *fiber.Ctx) bool {
	if h.wa != nil {
		return false
	}
	_ = jsonError(c, fiber.StatusServiceUnavailable, errNoPasskeys)
	return true
}

// jsonError answers a WebAuthn call with a message the page shows.
func jsonError(c *fiber.Ctx, status int, msg string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

// credentialJSON is what is stored of a credential.
var credentialJSON = account.CredentialJSON
