package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showAccountSecurity is Account > Security: the user's TOTP, backup codes, passkeys and devices.
func (h *Handler) showAccountSecurity(c *fiber.Ctx) error {
	return h.renderSecurity(c, fiber.StatusOK, "")
}

func (h *Handler) renderSecurity(c *fiber.Ctx, status int, errMsg string) error {
	f, err := h.Account.Factors(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return err
	}
	p := views.SecurityPage{Notice: views.SecurityNotices.Notice(c.Query("notice")), Error: errMsg, TOTPOn: f.TOTPOn, BackupLeft: f.BackupLeft, Passkeys: f.Passkeys}
	if p.Devices, p.CurrentDevice, err = h.Account.Devices(c.UserContext(), currentUser(c).ID, h.deviceToken(c)); err != nil {
		return err
	}
	return render(c, status, views.AccountSecurityPage(h.pageBase(c, "Security", "account"), p))
}

// beginTOTPSetup makes a new secret, sealed, waiting for its first code.
func (h *Handler) beginTOTPSetup(c *fiber.Ctx) error {
	if err := h.Account.BeginTOTP(c.UserContext(), *currentUser(c)); err != nil {
		if errors.Is(err, account.ErrTOTPOn) {
			return redirect(c, "/account/security") // already on
		}
		return err
	}
	return redirect(c, "/account/security/totp")
}

// renderTOTPSetup shows the QR code and key of the pending setup.
func (h *Handler) renderTOTPSetup(c *fiber.Ctx, status int, t account.TOTPSetup, errMsg string) error {
	return render(c, status, views.TOTPSetupPage(h.pageBase(c, "Set up TOTP", "account"), "/account/security/totp", t.QR, t.Secret, errMsg))
}

// pendingTOTP is the signed-in user's setup waiting for its first code; without one (ok false)
// the browser goes back to Account > Security.
func (h *Handler) pendingTOTP(c *fiber.Ctx) (t account.TOTPSetup, ok bool, err error) {
	t, ok, err = h.Account.PendingTOTP(c.UserContext(), *currentUser(c))
	if err == nil && !ok {
		err = redirect(c, "/account/security")
	}
	return t, ok, err
}

// showTOTPSetup is the pending setup's page.
func (h *Handler) showTOTPSetup(c *fiber.Ctx) error {
	t, ok, err := h.pendingTOTP(c)
	if !ok || err != nil {
		return err
	}
	return h.renderTOTPSetup(c, fiber.StatusOK, t, "")
}

// confirmTOTP turns the pending setup on with a first code from the app, and shows the backup
// codes once.
func (h *Handler) confirmTOTP(c *fiber.Ctx) error {
	t, ok, err := h.pendingTOTP(c)
	if !ok || err != nil {
		return err
	}
	codes, responded, err := h.enableTOTP(c, *currentUser(c), t.Secret, false, func(status int, msg string) error {
		return h.renderTOTPSetup(c, status, t, msg)
	})
	if responded || err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", "account"), codes, "/account/security"))
}

// enableTOTP turns secret on as u's authenticator with the posted first code
// (account.EnableTOTP, which throttles, counts and logs) and returns the backup codes. again
// renders the setup again with a message (a wrong code, or throttled); then responded is true.
func (h *Handler) enableTOTP(c *fiber.Ctx, u store.User, secret string, enrolling bool, again func(status int, msg string) error) (codes []string, responded bool, err error) {
	codes, err = h.Account.EnableTOTP(c.UserContext(), u, secret, c.FormValue("code"), enrolling, h.requestOrigin(c))
	if status, msgs, ok := formProblems(err); ok {
		return nil, true, again(status, msgs[0]) // throttled, a wrong code, or TOTP on meanwhile
	}
	return codes, false, err
}

// regenerateBackupCodes replaces the user's backup codes and shows the new set once.
func (h *Handler) regenerateBackupCodes(c *fiber.Ctx) error {
	codes, err := h.Account.RegenerateBackupCodes(c.UserContext(), *currentUser(c), h.requestOrigin(c))
	if status, msgs, ok := formProblems(err); ok {
		return h.renderSecurity(c, status, msgs[0]) // TOTP is off
	}
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", "account"), codes, "/account/security"))
}

// removeTOTP turns TOTP off after the user proves themselves again with their password or a
// current code (each guess throttled and counted: account.RemoveTOTP).
func (h *Handler) removeTOTP(c *fiber.Ctx) error {
	err := h.Account.RemoveTOTP(c.UserContext(), *currentUser(c), c.FormValue("password"), c.FormValue("code"), h.requestOrigin(c))
	status, msgs, refused := formProblems(err)
	switch {
	case errors.Is(err, account.ErrNoTOTP):
		return redirect(c, "/account/security")
	case refused: // throttled, or neither the password nor a code
		return h.renderSecurity(c, status, msgs[0])
	case err != nil:
		return err
	}
	return redirect(c, "/account/security?notice=totp_removed")
}

// beginPasskeyRegistration starts registering a passkey for the signed-in user.
func (h *Handler) beginPasskeyRegistration(c *fiber.Ctx) error {
	return h.beginRegistration(c, *currentUser(c))
}

func (h *Handler) beginRegistration(c *fiber.Ctx, u store.User) error {
	creation, ch, err := h.Account.BeginRegistration(c.UserContext(), u, c.Cookies(h.cookieName(webauthnCookie)))
	if err != nil {
		return h.respondJSON(c, signin.Result{}, err) // passkeys off: 503 saying why
	}
	h.setCookie(c, webauthnCookie, ch.Token, ch.Expires)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(creation)
}

// finishPasskeyRegistration checks the new credential and stores it with its name.
func (h *Handler) finishPasskeyRegistration(c *fiber.Ctx) error {
	if ok, err := h.registerPasskey(c, *currentUser(c)); !ok || err != nil {
		return err // refused: registerPasskey answered with the reason
	}
	return c.JSON(fiber.Map{"redirect": "/account/security?notice=passkey_added"})
}

// registerPasskey finishes a registration for u (account.FinishRegistration checks the
// browser's answer and stores the passkey), answering with a JSON error itself when the answer
// is refused (ok false).
func (h *Handler) registerPasskey(c *fiber.Ctx, u store.User) (ok bool, err error) {
	err = h.Account.FinishRegistration(c.UserContext(), u, h.challengeToken(c), c.Body(), c.Query("name"), h.requestOrigin(c))
	if a, found := answerFor(err); found && a.msg != "" {
		return false, jsonError(c, a.status, a.msg)
	}
	return err == nil, err
}

// renamePasskey renames one of the signed-in user's passkeys.
func (h *Handler) renamePasskey(c *fiber.Ctx) error {
	if err := h.Account.RenamePasskey(c.UserContext(), *currentUser(c), formInt(c.Params("id")), c.FormValue("name"), h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=passkey_renamed")
}

// deletePasskey deletes one of the signed-in user's passkeys.
func (h *Handler) deletePasskey(c *fiber.Ctx) error {
	if err := h.Account.DeletePasskey(c.UserContext(), *currentUser(c), formInt(c.Params("id")), h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=passkey_deleted")
}
