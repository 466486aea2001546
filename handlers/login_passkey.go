package handlers

import (
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// passkeyFailure is the one message for a passkey that cannot sign in.
const passkeyFailure = "That passkey could not sign you in."

// beginPasskeyLogin starts a passkey sign-in. Asked for the second factor (?for=second_factor,
// from /login/verify) it is the second factor of the sign-in in progress, whose password is done,
// limited to that user's passkeys; otherwise it is a whole sign-in with a discoverable credential,
// which names the user by itself, whatever sign-in this browser left in progress.
func (h *Handler) beginPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	ctx := c.UserContext()
	limited, err := h.passkeyThrottled(c)
	if err != nil {
		return err
	}
	if limited {
		return jsonError(c, fiber.StatusTooManyRequests, throttledMessage)
	}
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	userID := int64(0)
	if c.Query("for") == "second_factor" {
		si, u, err := h.currentSignIn(c)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !si.Done(string(auth.StepPassword))) {
			return jsonError(c, fiber.StatusBadRequest, "Your sign-in expired. Please start again.")
		}
		if err != nil {
			return err
		}
		wu, err := h.loadWAUser(ctx, u)
		if err != nil {
			return err
		}
		if len(wu.creds) == 0 {
			return jsonError(c, fiber.StatusBadRequest, "You have no passkey yet.")
		}
		assertion, session, err = h.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
		userID = u.ID
	} else {
		assertion, session, err = h.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return err
		}
	}
	if err := h.saveChallenge(c, "login", userID, session); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(assertion)
}

func (h *Handler) passkeyThrottled(c *fiber.Ctx) (bool, error) {
	n, err := h.store.CountFailures(c.UserContext(), store.AttemptPasskey, throttle.IPKey(h.clientIP(c)),
		throttle.WindowStart(h.now(), throttle.PasskeyPerIP.Window()), false)
	return err == nil && n >= throttle.PasskeyPerIP.Max(), err
}

// finishPasskeyLogin checks the browser's assertion. A signature counter that went backwards
// (a cloned authenticator) is refused and logged. A whole passkey sign-in does the password and
// second-factor steps at once; then auth.NextStep decides as for any sign-in.
func (h *Handler) finishPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	ctx := c.UserContext()
	ip := h.clientIP(c)
	now := h.now()
	fail := func(userID int64, reason string) error {
		var subject *int64
		if userID != 0 {
			subject = ptr(userID)
		}
		err := h.failedGuess(c, h.event(c, store.EventLoginFailed, nil, subject, map[string]any{"step": "passkey", "reason": reason}), throttle.PasskeyPerIP.For(throttle.IPKey(ip)))
		if err != nil {
			return err
		}
		return jsonError(c, fiber.StatusUnauthorized, passkeyFailure)
	}
	limited, err := h.passkeyThrottled(c)
	if err != nil {
		return err
	}
	if limited {
		return jsonError(c, fiber.StatusTooManyRequests, throttledMessage)
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
	var si store.SignIn
	if ch.UserID != 0 {
		// The second factor of the sign-in in progress: it must be the same sign-in's user.
		var u store.User
		si, u, err = h.currentSignIn(c)
		if err != nil || u.ID != ch.UserID {
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
	u := wu.user
	pk, ok := wu.passkeyFor(cred.ID)
	switch {
	case !ok:
		return fail(u.ID, "unknown_credential")
	case cred.Authenticator.CloneWarning:
		return fail(u.ID, "sign_count_regressed")
	case !u.Active():
		return fail(u.ID, "inactive")
	}
	data, err := credentialJSON(cred)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UsePasskey(ctx, pk.ID, data, cred.Authenticator.SignCount, now); err != nil {
			return err
		}
		if err := tx.RecordAttempt(ctx, store.AttemptPasskey, []string{throttle.UserKey(u.ID)}, true, now); err != nil {
			return err
		}
		if ch.UserID != 0 {
			if err := tx.MarkSignInStep(ctx, si.IDHash, stepStrongFactor); err != nil {
				return err
			}
			return tx.MarkSignInStep(ctx, si.IDHash, string(auth.StepSecondFactor))
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return fail(u.ID, "sign_count_regressed") // another sign-in presented this counter first
	}
	if err != nil {
		return err
	}
	if ch.UserID != 0 {
		si.StepsDone = append(si.StepsDone, string(auth.StepSecondFactor), stepStrongFactor)
	} else if si, err = h.startSignIn(c, u, "", auth.StepPassword, auth.StepSecondFactor); err != nil {
		return err
	}
	method := "passkey"
	if ch.UserID != 0 {
		method = "password+passkey"
	}
	loc, err := h.nextLocation(c, si, u, method)
	if errors.Is(err, store.ErrNotFound) {
		return jsonError(c, fiber.StatusBadRequest, "Your sign-in expired. Please start again.")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"redirect": loc})
}
