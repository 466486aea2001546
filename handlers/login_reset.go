package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// newPasswordProblems checks a password being set by its user against the one password rule and
// its confirmation, and returns what is wrong, in the meter's words.
func newPasswordProblems(next, confirm string, check auth.PasswordCheck) []string {
	var errs []string
	for _, unmet := range check.Unmet() {
		errs = append(errs, "New password: "+unmet+".")
	}
	if check.Warning != "" && !check.OK() {
		errs = append(errs, check.Warning)
	}
	if next != confirm {
		errs = append(errs, "The new password and its confirmation do not match.")
	}
	return errs
}

// sameAsCurrent reports whether next is the user's current password (a forced reset must
// replace it). A user without a password has none to repeat.
func (h *Handler) sameAsCurrent(c *fiber.Ctx, u store.User, next string) (bool, error) {
	if u.PasswordHash == "" || next == "" {
		return false, nil
	}
	same, _, err := h.hasher.Verify(c.UserContext(), u.PasswordHash, next)
	return same, err
}

func (h *Handler) renderResetRequired(c *fiber.Ctx, status int, u store.User, policy auth.PasswordPolicy, errs []string) error {
	f := views.NewPasswordForm{Email: u.Email, Errors: errs, MinLen: policy.MinLengthFor(subjectOf(u)), Check: auth.CheckPassword("", subjectOf(u), policy)}
	return render(c, status, views.ResetRequiredPage(h.pageBase(c, "Password Reset Required", ""), f))
}

// showResetPassword is the "Password Reset Required" step of a flagged user's sign-in.
func (h *Handler) showResetPassword(c *fiber.Ctx) error {
	_, u, _, ok, err := h.atStep(c, auth.StepResetPassword)
	if !ok || err != nil {
		return err
	}
	policy, err := h.passwordPolicy(c.UserContext())
	if err != nil {
		return err
	}
	return h.renderResetRequired(c, fiber.StatusOK, u, policy, nil)
}

// submitResetPassword sets the flagged user's new password under the current rule (not their
// current one), logs password_reset_completed, ends the user's sessions and other sign-ins
// (begun with the old password), and goes on to the second factor.
func (h *Handler) submitResetPassword(c *fiber.Ctx) error {
	ctx := c.UserContext()
	si, u, _, ok, err := h.atStep(c, auth.StepResetPassword)
	if !ok || err != nil {
		return err
	}
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return err
	}
	next, confirm := c.FormValue("new_password"), c.FormValue("confirm_password")
	errs := newPasswordProblems(next, confirm, auth.CheckPassword(next, subjectOf(u), policy))
	if len(errs) == 0 {
		same, err := h.sameAsCurrent(c, u, next)
		if err != nil {
			return err
		}
		if same {
			errs = append(errs, "The new password must be different from your current password.")
		}
	}
	errs, breach := h.withBreachCheck(ctx, next, errs)
	if len(errs) > 0 {
		return h.renderResetRequired(c, fiber.StatusUnprocessableEntity, u, policy, errs)
	}
	hash, err := h.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	now := h.now()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		if !cur.PasswordResetRequired || !cur.Active() {
			return store.ErrNotFound // done by another request, or deactivated meanwhile
		}
		if err := tx.SetPassword(ctx, u.ID, PasswordRecord(h.keys, hash, next, subjectOf(cur), policy), now); err != nil {
			return err
		}
		if err := breach.LogSkipped(ctx, tx, h.event(c, "", ptr(u.ID), ptr(u.ID), nil)); err != nil {
			return err
		}
		if _, err := tx.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return err
		}
		if err := tx.DeleteOtherSignIns(ctx, u.ID, si.IDHash); err != nil {
			return err
		}
		if err := tx.DeletePasswordResets(ctx, u.ID); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, "password_reset_completed", ptr(u.ID), ptr(u.ID), nil))
	})
	if errors.Is(err, store.ErrNotFound) {
		return h.advance(c, si, u, "") // the step is no longer this sign-in's: start it again
	}
	if err != nil {
		return err
	}
	u.PasswordHash, u.PasswordResetRequired = hash, false
	return h.beginSecondFactor(c, si, u)
}
