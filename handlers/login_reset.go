package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

func (h *Handler) renderResetRequired(c *fiber.Ctx, status int, u store.User, policy auth.PasswordPolicy, errs []string) error {
	subject := account.Subject(u)
	f := views.NewPasswordForm{Email: u.Email, Errors: errs, MinLen: policy.MinLengthFor(subject), Check: auth.CheckPassword("", subject, policy)}
	return render(c, status, views.ResetRequiredPage(h.pageBase(c, "Password Reset Required", ""), f))
}

// showResetPassword is the "Password Reset Required" step of a flagged user's sign-in.
func (h *Handler) showResetPassword(c *fiber.Ctx) error {
	_, u, _, ok, err := h.atStep(c, auth.StepResetPassword)
	if !ok || err != nil {
		return err
	}
	policy, err := h.account.Policy(c.UserContext())
	if err != nil {
		return err
	}
	return h.renderResetRequired(c, fiber.StatusOK, u, policy, nil)
}

// submitResetPassword takes the flagged user's new password under the current rule (not their
// current one) and goes on to the second factor. The password is kept on the sign-in, sealed
// (account.ChooseForcedResetPassword), and stored when the sign-in finishes
// (storePendingPassword).
func (h *Handler) submitResetPassword(c *fiber.Ctx) error {
	ctx := c.UserContext()
	si, u, _, ok, err := h.atStep(c, auth.StepResetPassword)
	if !ok || err != nil {
		return err
	}
	sealed, err := h.account.ChooseForcedResetPassword(ctx, si, u, c.FormValue("new_password"), c.FormValue("confirm_password"))
	var problems account.Problems
	if errors.As(err, &problems) {
		policy, err := h.account.Policy(ctx)
		if err != nil {
			return err
		}
		return h.renderResetRequired(c, fiber.StatusUnprocessableEntity, u, policy, problems)
	}
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetSignInPassword(ctx, si.IDHash, sealed); err != nil {
			return err
		}
		return tx.MarkSignInStep(ctx, si.IDHash, string(auth.StepResetPassword))
	})
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	si.PendingPassword = sealed
	si.StepsDone = append(si.StepsDone, string(auth.StepResetPassword))
	return h.beginSecondFactor(c, si, u)
}

// errPasswordChangedMeanwhile ends a sign-in whose forced reset would overwrite a password set
// since (by a reset link): it must start again with the password that is current.
var errPasswordChangedMeanwhile = account.ErrPasswordChangedMeanwhile

// storePendingPassword, inside finishSignIn's transaction, stores the new password a forced
// reset chose, now that every step is done (account.CompleteForcedResetTx).
func (h *Handler) storePendingPassword(c *fiber.Ctx, tx *store.Tx, si store.SignIn, u store.User) error {
	return h.account.CompleteForcedResetTx(c.UserContext(), tx, si, u, h.requestOrigin(c))
}
