package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// newPasswordForm is the form that sets u's new password (with the reset link's token, or
// without one at a forced reset) under the rule in force, new or with what was refused.
func (h *Handler) newPasswordForm(c *fiber.Ctx, u store.User, token string, errs []string) (views.NewPasswordForm, error) {
	minLen, check, err := h.Account.EmptyForm(c.UserContext(), account.Subject(u))
	return views.NewPasswordForm{Email: u.Email, Token: token, Errors: errs, MinLen: minLen, Check: check}, err
}

// renderResetRequired shows the "Password Reset Required" form with the rule in force.
func (h *Handler) renderResetRequired(c *fiber.Ctx, status int, u store.User, errs []string) error {
	f, err := h.newPasswordForm(c, u, "", errs)
	if err != nil {
		return err
	}
	return render(c, status, views.ResetRequiredPage(h.pageBase(c, "Password Reset Required", ""), f))
}

// showResetPassword is the "Password Reset Required" step of a flagged user's sign-in.
func (h *Handler) showResetPassword(c *fiber.Ctx) error {
	r, ok, err := h.atStep(c, auth.StepResetPassword)
	if !ok || err != nil {
		return err
	}
	return h.renderResetRequired(c, fiber.StatusOK, r.User, nil)
}

// submitResetPassword takes the flagged user's new password (signin.ChooseNewPassword) and goes
// on to the second factor; the password is stored when the sign-in finishes.
func (h *Handler) submitResetPassword(c *fiber.Ctx) error {
	r, err := h.SignIn.ChooseNewPassword(c.UserContext(), h.client(c), c.FormValue("new_password"), c.FormValue("confirm_password"))
	if errors.Is(err, signin.ErrInvalidPassword) {
		return h.renderResetRequired(c, fiber.StatusUnprocessableEntity, r.User, r.Problems)
	}
	return h.respond(c, r, err)
}
