package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// challengeTTL is how long a browser has to answer a WebAuthn challenge.
const challengeTTL = 5 * time.Minute

// webauthnCookie carries the id of the ceremony in progress; the challenge itself stays here.
const webauthnCookie = "weftid_webauthn"

// newWebAuthn configures WebAuthn for the base URL: its host is the RP ID, its origin the only
// origin accepted. Passkeys are discoverable and always verify the user.
func newWebAuthn(base string, rpID string) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "weftid",
		RPOrigins:     []string{base},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

// waUser is a user as go-webauthn sees them.
type waUser struct {
	user     store.User
	handle   []byte
	passkeys []store.Passkey
	creds    []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.handle }
func (u *waUser) WebAuthnName() string                       { return u.user.Email }
func (u *waUser) WebAuthnDisplayName() string                { return u.user.Name }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyFor finds the stored passkey of a credential id.
func (u *waUser) passkeyFor(id []byte) (store.Passkey, bool) {
	for _, p := range u.passkeys {
		if bytes.Equal(p.CredentialID, id) {
			return p, true
		}
	}
	return store.Passkey{}, false
}

// loadWAUser loads a user with their WebAuthn handle and credentials.
func (h *Handler) loadWAUser(ctx context.Context, u store.User) (*waUser, error) {
	handle, err := h.store.WebAuthnHandle(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	passkeys, err := h.store.PasskeysByUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	wu := &waUser{user: u, handle: handle, passkeys: passkeys}
	for _, p := range passkeys {
		var cred webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &cred); err != nil {
			return nil, fmt.Errorf("passkey %d: %w", p.ID, err)
		}
		wu.creds = append(wu.creds, cred)
	}
	return wu, nil
}

// saveChallenge keeps a ceremony's session data, in place of the ceremony the browser's cookie
// named before, and gives the browser a cookie naming it.
func (h *Handler) saveChallenge(c *fiber.Ctx, purpose string, userID int64, session *webauthn.SessionData) error {
	data, err := json.Marshal(session)
	if err != nil {
		return err
	}
	var previous []byte
	if old := c.Cookies(h.cookieName(webauthnCookie)); old != "" {
		previous = h.keys.HashToken("webauthn", old)
	}
	token := auth.NewToken()
	now := h.now()
	expires := now.Add(challengeTTL)
	err = h.store.StartChallenge(c.UserContext(), store.Challenge{
		IDHash: h.keys.HashToken("webauthn", token), UserID: userID, Purpose: purpose, Data: string(data), ExpiresAt: expires,
	}, previous, now)
	if err != nil {
		return err
	}
	h.setCookie(c, webauthnCookie, token, expires)
	return nil
}

// takeChallenge consumes the browser's ceremony of that purpose (once) and returns its session.
func (h *Handler) takeChallenge(c *fiber.Ctx, purpose string) (store.Challenge, webauthn.SessionData, error) {
	token := c.Cookies(h.cookieName(webauthnCookie))
	h.clearCookie(c, webauthnCookie)
	if token == "" {
		return store.Challenge{}, webauthn.SessionData{}, store.ErrNotFound
	}
	ch, err := h.store.ConsumeChallenge(c.UserContext(), h.keys.HashToken("webauthn", token), purpose, h.now())
	if err != nil {
		return store.Challenge{}, webauthn.SessionData{}, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(ch.Data), &session); err != nil {
		return store.Challenge{}, webauthn.SessionData{}, err
	}
	return ch, session, nil
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
func credentialJSON(cred *webauthn.Credential) (string, error) {
	b, err := json.Marshal(cred)
	return string(b), err
}
