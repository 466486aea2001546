package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/views"
)

// showAccountPassword is Account > Password.
func (h *Handler) showAccountPassword(c *fiber.Ctx) error {
	return h.renderAccountPassword(c, fiber.StatusOK, views.AccountPasswordNotices.Notice(c.Query("notice")), nil, "", "")
}

// renderAccountPassword renders the form; the alert lists errs, what was wrong in the meter's
// words. next and confirm fill the new-password fields again (only after a wrong current
// password: they were not judged yet, and the current one is never sent back), and the meter
// shows its verdict on next ("" for the empty verdict).
func (h *Handler) renderAccountPassword(c *fiber.Ctx, status int, notice string, errs []string, next, confirm string) error {
	check, err := h.Account.PasswordStrength(c.UserContext(), account.StrengthAsk{Password: next, SignedIn: currentUser(c)})
	if err != nil {
		return err
	}
	f := views.AccountPasswordForm{Notice: notice, Errors: errs, Check: check, NewPassword: next, ConfirmPassword: confirm}
	return render(c, status, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
}

// changeAccountPassword checks the current password (throttled like a sign-in), then the new one
// against the one password rule; on success the other sessions of the user end and this one stays.
func (h *Handler) changeAccountPassword(c *fiber.Ctx) error {
	keep := sessionHash(c)
	next, confirm := c.FormValue("new_password"), c.FormValue("confirm_password")
	err := h.Account.ChangePassword(c.UserContext(), *currentUser(c), c.FormValue("current_password"), next, confirm, keep, h.requestOrigin(c))
	if status, msgs, ok := formProblems(err); ok {
		if !errors.Is(err, account.ErrWrongPassword) {
			next, confirm = "", "" // throttled, or the new password refused: typed afresh
		}
		return h.renderAccountPassword(c, status, "", msgs, next, confirm)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/password?notice=changed")
}
