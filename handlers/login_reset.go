package handlers

import (
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
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

// msgSameAsCurrent refuses a new password that is the current one.
const msgSameAsCurrent = "The new password must be different from your current password."

// unlessSameAsCurrent adds msgSameAsCurrent to a form's problems when next is the user's
// current password (a forced reset must replace it). It hashes only for a form with no other
// problem; a user without a password has none to repeat.
func (h *Handler) unlessSameAsCurrent(c *fiber.Ctx, u store.User, next string, problems []string) ([]string, error) {
	if len(problems) > 0 || u.PasswordHash == "" || next == "" {
		return problems, nil
	}
	same, _, err := h.hasher.Verify(c.UserContext(), u.PasswordHash, next)
	if same {
		problems = append(problems, msgSameAsCurrent)
	}
	return problems, err
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

// submitResetPassword takes the flagged user's new password under the current rule (not their
// current one) and goes on to the second factor. The password is stored when the sign-in
// finishes (storePendingPassword).
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
	errs, err := h.unlessSameAsCurrent(c, u, next, newPasswordProblems(next, confirm, auth.CheckPassword(next, subjectOf(u), policy)))
	if err != nil {
		return err
	}
	errs, verdict := h.breach.Screen(ctx, next, errs)
	if len(errs) > 0 {
		return h.renderResetRequired(c, fiber.StatusUnprocessableEntity, u, policy, errs)
	}
	hash, err := h.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	// Kept on the sign-in, not stored yet: the second factor comes next, and only a sign-in
	// that passes it (finishSignIn) replaces the password. Whoever knows only the old one,
	// the reason for the reset, cannot set a new one.
	plain, err := json.Marshal(pendingPassword{
		Password:      breach.Record(h.keys, hash, next, subjectOf(u), policy),
		Replaces:      u.PasswordHash,
		BreachSkipped: verdict.Skipped,
	})
	if err != nil {
		return err
	}
	sealed, err := h.keys.Seal(plain, pendingPasswordContext(si.IDHash))
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

// pendingPassword is a forced reset's new password while its sign-in is not finished: what to
// store, the hash it replaces (if the password changed meanwhile, it is not stored), and why
// the breach check was skipped, if it was.
type pendingPassword struct {
	Password      store.NewPassword
	Replaces      string
	BreachSkipped string
}

// pendingPasswordContext binds a sealed pending password to its sign-in.
func pendingPasswordContext(signInHash []byte) string {
	return "pending_password:" + hex.EncodeToString(signInHash)
}

// errPasswordChangedMeanwhile ends a sign-in whose forced reset would overwrite a password set
// since (by a reset link): it must start again with the password that is current.
var errPasswordChangedMeanwhile = errors.New("the password changed during the sign-in")

// storePendingPassword, inside finishSignIn's transaction, stores the new password a forced
// reset chose, now that every step is done: the flag clears, the user's other sessions,
// sign-ins and reset links end, and password_reset_completed is logged.
func (h *Handler) storePendingPassword(c *fiber.Ctx, tx *store.Tx, si store.SignIn, u store.User) error {
	ctx := c.UserContext()
	plain, err := h.keys.Open(si.PendingPassword, pendingPasswordContext(si.IDHash))
	if err != nil {
		return err
	}
	var pp pendingPassword
	if err := json.Unmarshal(plain, &pp); err != nil {
		return err
	}
	cur, err := tx.UserByID(ctx, u.ID)
	if err != nil {
		return err
	}
	if cur.PasswordHash != pp.Replaces {
		return errPasswordChangedMeanwhile
	}
	if err := tx.SetPassword(ctx, u.ID, pp.Password, h.now()); err != nil {
		return err
	}
	if err := (breach.Verdict{Skipped: pp.BreachSkipped}).LogSkipped(ctx, tx, h.event(c, "", ptr(u.ID), ptr(u.ID), nil)); err != nil {
		return err
	}
	if _, err := endUserSessions(ctx, tx, u.ID, nil); err != nil {
		return err
	}
	if err := tx.DeletePasswordResets(ctx, u.ID); err != nil {
		return err
	}
	return tx.AddEvent(ctx, h.event(c, store.EventPasswordResetCompleted, ptr(u.ID), ptr(u.ID), nil))
}
