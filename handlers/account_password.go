package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/views"
)

// showAccountPassword is Account > Password.
func (h *Handler) showAccountPassword(c *fiber.Ctx) error {
	return h.renderAccountPassword(c, fiber.StatusOK, views.AccountPasswordNotices.Notice(c.Query("notice")))
}

// renderAccountPassword renders the form with empty fields, so its meter shows the empty
// verdict; the alert lists errs, what was wrong with a refused password in the meter's words.
func (h *Handler) renderAccountPassword(c *fiber.Ctx, status int, notice string, errs ...string) error {
	_, check, err := h.account.EmptyForm(c.UserContext(), account.Subject(*currentUser(c)))
	if err != nil {
		return err
	}
	f := views.AccountPasswordForm{Notice: notice, Errors: errs, Check: check}
	return render(c, status, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
}

// changeAccountPassword checks the current password (throttled like a sign-in), then the new one
// against the one password rule; on success the other sessions of the user end and this one stays.
func (h *Handler) changeAccountPassword(c *fiber.Ctx) error {
	keep, _ := c.Locals(localSession).([]byte)
	err := h.account.ChangePassword(c.UserContext(), *currentUser(c), c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password"), keep, h.requestOrigin(c))
	if errors.Is(err, account.ErrWrongPassword) {
		return h.renderWrongCurrentPassword(c, err)
	}
	if status, msgs, ok := formProblems(err); ok {
		return h.renderAccountPassword(c, status, "", msgs...) // throttled, or the new password refused
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/password?notice=changed")
}

// renderWrongCurrentPassword answers a change refused only because the current password was
// wrong: the new password and its confirmation, not judged yet, are filled in again with the
// meter's verdict on them, so that only the current password (never sent back) is typed again.
func (h *Handler) renderWrongCurrentPassword(c *fiber.Ctx, err error) error {
	status, msgs, _ := formProblems(err)
	u := currentUser(c)
	next := c.FormValue("new_password")
	check, cerr := h.account.PasswordStrength(c.UserContext(), account.StrengthAsk{Password: next, SignedIn: u})
	if cerr != nil {
		return cerr
	}
	f := views.AccountPasswordForm{Errors: msgs, Check: check, NewPassword: next, ConfirmPassword: c.FormValue("confirm_password")}
	return render(c, status, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
}
