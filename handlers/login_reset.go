package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// newPasswordProblems checks a password being set by its user against the one password rule and
// its confirmation (signin.NewPasswordProblems).
func newPasswordProblems(next, confirm string, check auth.PasswordCheck) []string {
	return signin.NewPasswordProblems(next, confirm, check)
}

// msgSameAsCurrent refuses a new password that is the current one.
const msgSameAsCurrent = signin.MsgSameAsCurrent

// unlessSameAsCurrent adds msgSameAsCurrent to a form's problems when next is the user's
// current password (signin.UnlessSameAsCurrent).
func (h *Handler) unlessSameAsCurrent(c *fiber.Ctx, u store.User, next string, problems []string) ([]string, error) {
	return signin.UnlessSameAsCurrent(c.UserContext(), h.hasher, u, next, problems)
}

func (h *Handler) renderResetRequired(c *fiber.Ctx, status int, u store.User, errs []string) error {
	policy, err := h.passwordPolicy(c.UserContext())
	if err != nil {
		return err
	}
	f := views.NewPasswordForm{Email: u.Email, Errors: errs, MinLen: policy.MinLengthFor(subjectOf(u)), Check: auth.CheckPassword("", subjectOf(u), policy)}
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
	r, err := h.signin.ChooseNewPassword(c.UserContext(), h.client(c), c.FormValue("new_password"), c.FormValue("confirm_password"))
	if errors.Is(err, signin.ErrInvalidPassword) {
		return h.renderResetRequired(c, fiber.StatusUnprocessableEntity, r.User, r.Problems)
	}
	return h.respond(c, r, err)
}

// forcedResets completes a forced reset when its sign-in finishes, until services/account's
// CompleteForcedResetTx replaces it: inside the finishing transaction it stores the new
// password, clears the flag, ends the user's other sessions, sign-ins and reset links, and logs
// password_reset_completed.
type forcedResets struct{ h *Handler }

func (f forcedResets) CompleteForcedResetTx(ctx context.Context, tx *store.Tx, si store.SignIn, u store.User, o store.Origin) error {
	pp, err := signin.OpenPendingPassword(f.h.keys, si)
	if err != nil {
		return err
	}
	cur, err := tx.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if cur.PasswordHash != pp.Replaces {
		return signin.ErrPasswordChanged
	}
	now := f.h.now()
	if err := tx.SetPassword(ctx, u.ID, pp.Password, now); err != nil {
		return err
	}
	if err := (breach.Verdict{Skipped: pp.BreachSkipped}).LogSkipped(ctx, tx, o.Event(now, "", &u.ID, &u.ID, nil)); err != nil {
		return err
	}
	if _, err := endUserSessions(ctx, tx, u.ID, nil); err != nil {
		return err
	}
	if err := tx.DeletePasswordResets(ctx, u.ID); err != nil {
		return err
	}
	return tx.AddEvent(ctx, o.Event(now, store.EventPasswordResetCompleted, &u.ID, &u.ID, nil))
}
