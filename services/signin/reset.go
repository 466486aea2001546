package signin

import (
	"context"
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// ChooseNewPassword takes a flagged user's new password under the current rule (not their
// current one) and goes on to the second factor. The password is kept on the sign-in, sealed,
// and stored only when the sign-in finishes (account.CompleteForcedResetTx): whoever knows only the old one,
// the reason for the reset, cannot set a new one. Errors: ErrNoSignIn, ErrNotAtStep,
// ErrInvalidPassword (Result.Problems).
func (s *Service) ChooseNewPassword(ctx context.Context, c Client, next, confirm string) (Result, error) {
	r, err := s.at(ctx, c, auth.StepResetPassword)
	if err != nil {
		return r, err
	}
	sealed, err := s.accounts.ChooseForcedResetPassword(ctx, r.SignIn, r.User, next, confirm)
	var problems account.Problems
	if errors.As(err, &problems) {
		r.Problems = problems
		return r, ErrInvalidPassword
	}
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
