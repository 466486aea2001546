package handlers

import (
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
)

// beginPasskeyLogin starts a passkey sign-in. Asked for the second factor (?for=second_factor,
// from /login/verify) it is the second factor of the sign-in in progress, whose password is done,
// limited to that user's passkeys; otherwise it is a whole sign-in with a discoverable credential,
// which names the user by itself, whatever sign-in this browser left in progress.
func (h *Handler) beginPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	ctx := c.UserContext()
	u, err := h.signin.PasskeyBegin(ctx, h.client(c), c.Query("for") == "second_factor")
	if err != nil {
		return h.respondJSON(c, signin.Result{}, err)
	}
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	if u.ID != 0 {
		wu, err := h.loadWAUser(ctx, u)
		if err != nil {
			return err
		}
		if len(wu.creds) == 0 {
			return h.respondJSON(c, signin.Result{}, signin.ErrNoPasskey)
		}
		assertion, session, err = h.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
	} else if assertion, session, err = h.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired)); err != nil {
		return err
	}
	if err := h.saveChallenge(c, "login", u.ID, session); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(assertion)
}

// finishPasskeyLogin checks the browser's assertion with WebAuthn and hands it to
// signin.PasskeyFinish, which refuses a cloned authenticator and takes the sign-in on.
func (h *Handler) finishPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	ctx := c.UserContext()
	cl := h.client(c)
	fail := func(userID int64, reason string) error {
		return h.respondJSON(c, signin.Result{}, h.signin.PasskeyFailed(ctx, cl.Origin, userID, reason))
	}
	if err := h.signin.PasskeyLimited(ctx, cl.Origin); err != nil {
		return h.respondJSON(c, signin.Result{}, err)
	}
	ch, session, err := h.takeChallenge(c, "login")
	if errors.Is(err, store.ErrNotFound) {
		return fail(0, "no_challenge")
	}
	if err != nil {
		return err
	}

	var wu *waUser
	var cred *webauthn.Credential
	if ch.UserID != 0 {
		// The second factor of the sign-in in progress: it must be the same sign-in's user.
		_, u, cerr := h.currentSignIn(c)
		if cerr != nil || u.ID != ch.UserID {
			return fail(ch.UserID, "no_sign_in")
		}
		if wu, err = h.loadWAUser(ctx, u); err != nil {
			return err
		}
		cred, err = h.wa.FinishLogin(wu, session, bodyRequest(c))
	} else {
		var found *waUser
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			u, err := h.store.UserByWebAuthnHandle(ctx, userHandle)
			if err != nil {
				return nil, err
			}
			found, err = h.loadWAUser(ctx, u)
			return found, err
		}
		cred, err = h.wa.FinishDiscoverableLogin(handler, session, bodyRequest(c))
		wu = found
	}
	if err != nil || wu == nil {
		userID := int64(0)
		if wu != nil {
			userID = wu.user.ID
		}
		h.log.Info("passkey sign-in refused", "err", err)
		return fail(userID, "invalid_assertion")
	}
	data, err := credentialJSON(cred)
	if err != nil {
		return err
	}
	pk, found := wu.passkeyFor(cred.ID)
	r, err := h.signin.PasskeyFinish(ctx, cl, signin.Assertion{
		SecondFactor: ch.UserID != 0, User: wu.user, Passkey: pk, Found: found,
		Credential: data, SignCount: cred.Authenticator.SignCount, CloneWarning: cred.Authenticator.CloneWarning,
	})
	return h.respondJSON(c, r, err)
}
