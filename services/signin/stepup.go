package signin

import (
	"context"
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// StepUp starts the step-up of the session of c for an application that requires Enhanced (its
// SSO request continues at returnTo): a sign-in of the session's user that counts the session's
// factors as done and asks for what Enhanced adds, TOTP or a passkey (enrollment when the user
// has neither). It replaces the sign-in the browser had in progress. Its last step, like every
// sign-in's, makes a new session (with the factors of both) and sends the browser to returnTo;
// until then the session stays as it was. A session that is Enhanced already finishes at once.
// Errors: ErrNoSession.
func (s *Service) StepUp(ctx context.Context, c Client, returnTo string) (Result, error) {
	sess, u, err := s.store.SessionUser(ctx, s.keys.HashToken("session", c.Session), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()) {
		return Result{}, ErrNoSession
	}
	if err != nil {
		return Result{}, err
	}
	if c.SignIn != "" {
		if err := s.store.DeleteSignIn(ctx, s.keys.HashToken("signin", c.SignIn)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return Result{}, err
		}
	}
	factors := auth.Factors(sess.Factors)
	// A session whose factors were not recorded counts as an email code's.
	done := store.Progress{Password: true, SecondFactor: true, StepUp: true, Factors: sess.Factors,
		StrongFactor: factors.Strong(), EmailCode: !factors.Strong()}
	c.ReturnTo = func() string { return returnTo }
	var started *Token
	r, err := s.advance(ctx, c, store.SignIn{}, u, "step_up", func(tx *store.Tx) (store.SignIn, error) {
		si, token, err := s.start(ctx, tx, c, u, done)
		started = token
		return si, err
	})
	r.Started = started
	return r, err
}
