package signin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/store"
)

// MsgSameAsCurrent refuses a new password that is the current one.
const MsgSameAsCurrent = "The new password must be different from your current password."

// NewPasswordProblems checks a password being set by its user against the one password rule
// and its confirmation, and returns what is wrong, in the meter's words.
func NewPasswordProblems(next, confirm string, check auth.PasswordCheck) []string {
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

// UnlessSameAsCurrent adds MsgSameAsCurrent to a form's problems when next is the user's current
// password (a forced reset must replace it). It hashes only for a form with no other problem; a
// user without a password has none to repeat.
func UnlessSameAsCurrent(ctx context.Context, hasher *auth.Hasher, u store.User, next string, problems []string) ([]string, error) {
	if len(problems) > 0 || u.PasswordHash == "" || next == "" {
		return problems, nil
	}
	same, _, err := hasher.Verify(ctx, u.PasswordHash, next)
	if same {
		problems = append(problems, MsgSameAsCurrent)
	}
	return problems, err
}

// Subject is the password subject for an account.
func Subject(u store.User) auth.PasswordSubject {
	return auth.PasswordSubject{Email: u.Email, Name: u.Name, SuperAdmin: u.Role == store.RoleSuperAdmin}
}

// Policy is the password rule in force.
func (s *Service) Policy(ctx context.Context) (auth.PasswordPolicy, error) {
	st, err := s.store.Settings(ctx)
	return auth.PasswordPolicy{MinLength: st.MinimumPasswordLength, MinScore: st.MinimumStrengthScore}, err
}

// PendingPassword is a forced reset's new password while its sign-in is not finished: what to
// store, the hash it replaces (if the password changed meanwhile, it is not stored), and why
// the breach check was skipped, if it was.
type PendingPassword struct {
	Password      store.NewPassword
	Replaces      string
	BreachSkipped string
}

// pendingPasswordContext binds a sealed pending password to its sign-in.
func pendingPasswordContext(signInHash []byte) string {
	return "pending_password:" + hex.EncodeToString(signInHash)
}

// OpenPendingPassword reads the new password ChooseNewPassword sealed on si.
func OpenPendingPassword(keys auth.Keys, si store.SignIn) (PendingPassword, error) {
	var pp PendingPassword
	plain, err := keys.Open(si.PendingPassword, pendingPasswordContext(si.IDHash))
	if err != nil {
		return pp, err
	}
	return pp, json.Unmarshal(plain, &pp)
}

// ChooseNewPassword takes a flagged user's new password under the current rule (not their
// current one) and goes on to the second factor. The password is kept on the sign-in, sealed,
// and stored only when the sign-in finishes (PendingPasswords): whoever knows only the old one,
// the reason for the reset, cannot set a new one. Errors: ErrNoSignIn, ErrNotAtStep,
// ErrInvalidPassword (Result.Problems).
func (s *Service) ChooseNewPassword(ctx context.Context, c Client, next, confirm string) (Result, error) {
	r, err := s.at(ctx, c, auth.StepResetPassword)
	if err != nil {
		return r, err
	}
	u := r.User
	policy, err := s.Policy(ctx)
	if err != nil {
		return r, err
	}
	problems, err := UnlessSameAsCurrent(ctx, s.hasher, u, next, NewPasswordProblems(next, confirm, auth.CheckPassword(next, Subject(u), policy)))
	if err != nil {
		return r, err
	}
	problems, verdict := s.breach.Screen(ctx, next, problems)
	if len(problems) > 0 {
		r.Problems = problems
		return r, ErrInvalidPassword
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return r, err
	}
	plain, err := json.Marshal(PendingPassword{
		Password:      breach.Record(s.keys, hash, next, Subject(u), policy),
		Replaces:      u.PasswordHash,
		BreachSkipped: verdict.Skipped,
	})
	if err != nil {
		return r, err
	}
	sealed, err := s.keys.Seal(plain, pendingPasswordContext(r.SignIn.IDHash))
	if err != nil {
		return r, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetSignInPassword(ctx, r.SignIn.IDHash, sealed); err != nil {
			return err
		}
		r.SignIn.PendingPassword = sealed
		r.SignIn, err = progress(ctx, tx, r.SignIn, store.Progress{ResetPassword: true})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrNoSignIn
	}
	if err != nil {
		return r, err
	}
	return s.beginSecondFactor(ctx, c, r)
}
