package handlers

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// securityNotices are the fixed messages Account > Security may show.
var securityNotices = map[string]string{
	"totp_removed":    "TOTP was removed. You will sign in with an email code again.",
	"passkey_added":   "Your passkey was registered.",
	"passkey_renamed": "The passkey was renamed.",
	"passkey_deleted": "The passkey was deleted.",
}

// showAccountSecurity is Account > Security: the user's TOTP, backup codes and passkeys.
func (h *Handler) showAccountSecurity(c *fiber.Ctx) error {
	return h.renderSecurity(c, fiber.StatusOK, "")
}

func (h *Handler) renderSecurity(c *fiber.Ctx, status int, errMsg string) error {
	ctx := c.UserContext()
	u := currentUser(c)
	p := views.SecurityPage{Notice: securityNotices[c.Query("notice")], Error: errMsg}
	t, err := h.store.TOTPByUser(ctx, u.ID)
	switch {
	case err == nil:
		p.TOTPOn = t.Confirmed()
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if p.BackupLeft, err = h.store.CountBackupCodes(ctx, u.ID); err != nil {
		return err
	}
	if p.Passkeys, err = h.store.PasskeysByUser(ctx, u.ID); err != nil {
		return err
	}
	return render(c, status, views.AccountSecurityPage(h.pageBase(c, "Security", "account"), p))
}

// beginTOTPSetup makes a new secret, sealed, waiting for its first code.
func (h *Handler) beginTOTPSetup(c *fiber.Ctx) error {
	if err := h.putPendingTOTP(c, currentUser(c)); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return redirect(c, "/account/security") // already on
		}
		return err
	}
	return redirect(c, "/account/security/totp")
}

func (h *Handler) putPendingTOTP(c *fiber.Ctx, u *store.User) error {
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		return err
	}
	sealed, err := h.keys.Seal([]byte(secret), totpContext(u.ID))
	if err != nil {
		return err
	}
	return h.store.PutPendingTOTP(c.UserContext(), u.ID, sealed, h.now())
}

// pendingTOTPSecret opens the secret of a setup waiting for its first code.
func (h *Handler) pendingTOTPSecret(c *fiber.Ctx, u store.User) (string, bool, error) {
	t, err := h.store.TOTPByUser(c.UserContext(), u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Confirmed()) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	secret, err := h.keys.Open(t.SecretEnc, totpContext(u.ID))
	if err != nil {
		return "", false, err
	}
	return string(secret), true, nil
}

// renderTOTPSetup shows the QR code and key of the pending setup.
func (h *Handler) renderTOTPSetup(c *fiber.Ctx, status int, u store.User, secret, action, errMsg string) error {
	_, qr, err := auth.TOTPQRCode(auth.ProductName, u.Email, secret)
	if err != nil {
		return err
	}
	return render(c, status, views.TOTPSetupPage(h.pageBase(c, "Set up TOTP", "account"), action, qr, secret, errMsg))
}

// showTOTPSetup is the pending setup's page.
func (h *Handler) showTOTPSetup(c *fiber.Ctx) error {
	u := *currentUser(c)
	secret, ok, err := h.pendingTOTPSecret(c, u)
	if err != nil {
		return err
	}
	if !ok {
		return redirect(c, "/account/security")
	}
	return h.renderTOTPSetup(c, fiber.StatusOK, u, secret, "/account/security/totp", "")
}

// confirmTOTP turns the pending setup on with a first code from the app, and shows the backup
// codes once.
func (h *Handler) confirmTOTP(c *fiber.Ctx) error {
	u := *currentUser(c)
	secret, ok, err := h.pendingTOTPSecret(c, u)
	if err != nil {
		return err
	}
	if !ok {
		return redirect(c, "/account/security")
	}
	codes, responded, err := h.enableTOTP(c, u, secret, false, func(status int, msg string) error {
		return h.renderTOTPSetup(c, status, u, secret, "/account/security/totp", msg)
	})
	if responded || err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", "account"), codes, "/account/security"))
}

// enableTOTP checks a first code for secret (throttled like every code) and, when right, makes
// secret the user's authenticator with a fresh set of backup codes, logging mfa_totp_enabled (and,
// for enrollment, user_enhanced_auth_enrolled) in the same transaction. again renders the setup
// again with a message (a wrong code, or throttled); then responded is true.
func (h *Handler) enableTOTP(c *fiber.Ctx, u store.User, secret string, enrolling bool, again func(status int, msg string) error) (codes []string, responded bool, err error) {
	ctx := c.UserContext()
	defer h.limiter.Lock(throttle.UserKey(u.ID))()
	ip := h.clientIP(c)
	limited, err := h.limiter.Limited(ctx, throttle.CodePerUser.For(throttle.UserKey(u.ID)), throttle.CodePerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return nil, false, err
	}
	if limited {
		return nil, true, again(fiber.StatusTooManyRequests, throttledMessage)
	}
	now := h.now()
	step, ok := auth.CheckTOTP(secret, c.FormValue("code"), now, 0)
	if !ok {
		err := h.failedGuess(c, h.event(c, store.EventMFATOTPSetupFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "wrong_code"}), throttle.CodePerUser.For(throttle.UserKey(u.ID)), throttle.CodePerIP.For(throttle.IPKey(ip)))
		if err != nil {
			return nil, false, err
		}
		msg := "That code is not right. Check the time on your device and enter the code the app shows now."
		return nil, true, again(fiber.StatusUnprocessableEntity, msg)
	}
	sealed, err := h.keys.Seal([]byte(secret), totpContext(u.ID))
	if err != nil {
		return nil, false, err
	}
	codes = auth.NewBackupCodes()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		// The secret the code was checked against is the one that is turned on.
		if err := tx.PutPendingTOTP(ctx, u.ID, sealed, now); err != nil {
			return err
		}
		if err := tx.ConfirmTOTP(ctx, u.ID, step, now); err != nil {
			return err
		}
		if err := tx.ReplaceBackupCodes(ctx, u.ID, h.backupHashes(codes), now); err != nil {
			return err
		}
		// A right code proves the owner: the count of wrong codes restarts, as at sign-in.
		if err := tx.RecordAttempt(ctx, store.AttemptCode, []string{throttle.UserKey(u.ID)}, true, now); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, h.event(c, store.EventMFATOTPEnabled, ptr(u.ID), ptr(u.ID), nil)); err != nil {
			return err
		}
		if enrolling {
			return tx.AddEvent(ctx, h.event(c, store.EventUserEnhancedAuthEnrolled, ptr(u.ID), ptr(u.ID), map[string]any{"method": "totp"}))
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		// TOTP was turned on meanwhile, elsewhere: this setup is void.
		return nil, true, again(fiber.StatusConflict, "An authenticator app was set up for this account meanwhile. Start again.")
	}
	if err != nil {
		return nil, false, err
	}
	return codes, false, nil
}

func (h *Handler) backupHashes(codes []string) [][]byte {
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = h.keys.HashToken("backup_code", auth.NormalizeBackupCode(code))
	}
	return hashes
}

// regenerateBackupCodes replaces the user's backup codes and shows the new set once.
func (h *Handler) regenerateBackupCodes(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	t, err := h.store.TOTPByUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed()) {
		return h.renderSecurity(c, fiber.StatusConflict, "Backup codes come with TOTP: set up TOTP first.")
	}
	if err != nil {
		return err
	}
	codes := auth.NewBackupCodes()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReplaceBackupCodes(ctx, u.ID, h.backupHashes(codes), h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventMFABackupCodesRegenerated, ptr(u.ID), ptr(u.ID), nil))
	})
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", "account"), codes, "/account/security"))
}

// removeTOTP turns TOTP off after the user proves themselves again with their password or a
// current code (each guess throttled and counted).
func (h *Handler) removeTOTP(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := *currentUser(c)
	t, err := h.store.TOTPByUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed()) {
		return redirect(c, "/account/security")
	}
	if err != nil {
		return err
	}
	defer h.limiter.Lock(throttle.EmailKey(u.Email))() // check, verify and count each guess before the next
	ip := h.clientIP(c)
	limited, err := h.limiter.Limited(ctx, throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email)), throttle.PasswordPerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if limited {
		return h.renderSecurity(c, fiber.StatusTooManyRequests, throttledMessage)
	}
	now := h.now()
	password, code := c.FormValue("password"), strings.TrimSpace(c.FormValue("code"))
	proved, step := false, int64(0)
	switch {
	case code != "":
		secret, err := h.keys.Open(t.SecretEnc, totpContext(u.ID))
		if err != nil {
			return err
		}
		step, proved = auth.CheckTOTP(string(secret), code, now, t.LastStep)
	case password != "" && len(password) <= maxPasswordInput:
		if proved, _, err = h.hasher.Verify(ctx, u.PasswordHash, password); err != nil {
			return err
		}
	}
	if !proved {
		err := h.failedGuess(c, h.event(c, store.EventMFATOTPRemoveFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "not_proved"}), throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email)), throttle.PasswordPerIP.For(throttle.IPKey(ip)))
		if err != nil {
			return err
		}
		return h.renderSecurity(c, fiber.StatusUnprocessableEntity, "To remove TOTP, enter your password or a current code from the app.")
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if step != 0 {
			if err := tx.UseTOTPStep(ctx, u.ID, step); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		// Proved with the password or a code: the account's count of wrong guesses restarts.
		if err := tx.RecordAttempt(ctx, store.AttemptPassword, []string{throttle.EmailKey(u.Email)}, true, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventMFATOTPRemoved, ptr(u.ID), ptr(u.ID), nil))
	})
	if errors.Is(err, store.ErrNotFound) {
		return h.renderSecurity(c, fiber.StatusUnprocessableEntity, "To remove TOTP, enter your password or a current code from the app.")
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=totp_removed")
}

// beginPasskeyRegistration starts registering a passkey for the signed-in user.
func (h *Handler) beginPasskeyRegistration(c *fiber.Ctx) error {
	return h.beginRegistration(c, *currentUser(c))
}

func (h *Handler) beginRegistration(c *fiber.Ctx, u store.User) error {
	if h.passkeysOff(c) {
		return nil
	}
	wu, err := h.loadWAUser(c.UserContext(), u)
	if err != nil {
		return err
	}
	creation, session, err := h.wa.BeginRegistration(wu,
		webauthn.WithExclusions(webauthn.Credentials(wu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return err
	}
	if err := h.saveChallenge(c, "register", u.ID, session); err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(creation)
}

// finishPasskeyRegistration checks the new credential and stores it with its name.
func (h *Handler) finishPasskeyRegistration(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	u := *currentUser(c)
	if ok, err := h.registerPasskey(c, u); !ok || err != nil {
		return err // refused: registerPasskey answered with the reason
	}
	return c.JSON(fiber.Map{"redirect": "/account/security?notice=passkey_added"})
}

// registerPasskey finishes a registration for u, answering with a JSON error itself when the
// browser's answer is refused (ok false).
func (h *Handler) registerPasskey(c *fiber.Ctx, u store.User) (ok bool, err error) {
	ctx := c.UserContext()
	ch, session, err := h.takeChallenge(c, "register")
	if errors.Is(err, store.ErrNotFound) || (err == nil && ch.UserID != u.ID) {
		return false, jsonError(c, fiber.StatusBadRequest, "The request expired. Please try again.")
	}
	if err != nil {
		return false, err
	}
	wu, err := h.loadWAUser(ctx, u)
	if err != nil {
		return false, err
	}
	cred, err := h.wa.FinishRegistration(wu, session, bodyRequest(c))
	if err != nil {
		h.log.Info("passkey registration refused", "user_id", u.ID, "err", err)
		return false, jsonError(c, fiber.StatusBadRequest, "The passkey could not be registered. Please try again.")
	}
	data, err := credentialJSON(cred)
	if err != nil {
		return false, err
	}
	name := passkeyName(c.Query("name"))
	now := h.now()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.CreatePasskey(ctx, store.Passkey{UserID: u.ID, CredentialID: cred.ID, Name: name, Credential: data,
			SignCount: cred.Authenticator.SignCount, CreatedAt: now})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasskeyRegistered, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": p.ID, "name": name}))
	})
	if errors.Is(err, store.ErrConflict) {
		return false, jsonError(c, fiber.StatusConflict, "This passkey is registered already.")
	}
	return err == nil, err
}

// passkeyName cleans a name for a passkey: trimmed, at most 100 characters, never empty.
func passkeyName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey"
	}
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	return name
}

// renamePasskey renames one of the signed-in user's passkeys.
func (h *Handler) renamePasskey(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	id := formInt(c.Params("id"))
	name := passkeyName(c.FormValue("name"))
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RenamePasskey(ctx, u.ID, id, name); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasskeyRenamed, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": id, "name": name}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=passkey_renamed")
}

// deletePasskey deletes one of the signed-in user's passkeys.
func (h *Handler) deletePasskey(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	id := formInt(c.Params("id"))
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.DeletePasskey(ctx, u.ID, id)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasskeyRevoked, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": p.ID, "name": p.Name}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=passkey_deleted")
}
