package signin

import (
	"context"
	"errors"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// PasskeyBegin is asked before a passkey ceremony starts. secondFactor: the passkey is the
// second factor of the sign-in of c, whose password is done, and u is its user (whose passkeys
// the ceremony offers); otherwise it is a whole sign-in and u is zero. Errors: ErrThrottled,
// ErrNoSignIn.
//
// Each ceremony stores a challenge, so an anonymous browser may begin only
// throttle.PasskeyBeginPerIP of them from one IP (ErrTooManyCeremonies past that); the count is taken
// before anything is stored.
func (s *Service) PasskeyBegin(ctx context.Context, c Client, secondFactor bool) (store.User, error) {
	if err := s.PasskeyLimited(ctx, c.Origin); err != nil {
		return store.User{}, err
	}
	allowed, err := s.limiter.Take(ctx, throttle.PasskeyBeginPerIP.For(throttle.IPKey(c.IP)))
	if err != nil {
		return store.User{}, err
	}
	if !allowed {
		return store.User{}, ErrTooManyCeremonies
	}
	if !secondFactor {
		return store.User{}, nil
	}
	si, u, err := s.Current(ctx, c.SignIn)
	if err == nil && !si.Progress.Password {
		err = ErrNoSignIn
	}
	return u, err
}

// PasskeyLimited is asked before a passkey ceremony begins and before a browser's assertion is
// checked: ErrThrottled when its IP has failed too many passkey sign-ins. The refusal is
// logged once per window and summed up (throttle.Limiter.Refused).
func (s *Service) PasskeyLimited(ctx context.Context, o store.Origin) error {
	check := throttle.PasskeyPerIP.For(throttle.IPKey(o.IP))
	limited, err := s.limiter.Limited(ctx, check)
	if err != nil || !limited {
		return err
	}
	if err := s.limiter.Refused(ctx, check, s.failed(o, 0, map[string]any{"step": "passkey", "reason": "throttled"})); err != nil {
		return err
	}
	return ErrThrottled
}

// PasskeyFailed counts a passkey sign-in that failed against the IP and logs login_failed with
// its reason (userID 0: no user known), in one transaction. It returns ErrPasskeyFailed.
func (s *Service) PasskeyFailed(ctx context.Context, o store.Origin, userID int64, reason string) error {
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := s.limiter.Fail(ctx, tx, throttle.PasskeyPerIP.For(throttle.IPKey(o.IP))); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.failed(o, userID, map[string]any{"step": "passkey", "reason": reason}))
	})
	if err != nil {
		return err
	}
	return ErrPasskeyFailed
}

// Assertion is a passkey assertion the WebAuthn ceremony verified.
type Assertion struct {
	// SecondFactor: it answered the challenge for the sign-in of the Client, as its second factor.
	SecondFactor bool
	User         store.User
	// Passkey is the stored passkey of the credential (Found false: none of the user's).
	Passkey store.Passkey
	Found   bool
	// Credential is the credential as it is stored now, with its SignCount.
	Credential string
	SignCount  uint32
	// CloneWarning: the signature counter went backwards (a cloned authenticator).
	CloneWarning bool
}

// PasskeyFinish signs in with a verified assertion. A cloned or unknown credential, or an
// inactive user, is refused and logged (ErrPasskeyFailed). The passkey's use, and the progress
// (a whole passkey sign-in does the password and second-factor steps at once; Started) are
// recorded and the sign-in taken on in one transaction; then auth.NextStep decides as for any
// sign-in.
func (s *Service) PasskeyFinish(ctx context.Context, c Client, a Assertion) (Result, error) {
	u := a.User
	switch {
	case !a.Found:
		return Result{}, s.PasskeyFailed(ctx, c.Origin, u.ID, "unknown_credential")
	case a.CloneWarning:
		return Result{}, s.PasskeyFailed(ctx, c.Origin, u.ID, "sign_count_regressed")
	case !u.Active():
		return Result{}, s.PasskeyFailed(ctx, c.Origin, u.ID, "inactive")
	}
	var si store.SignIn
	method := "passkey"
	if a.SecondFactor {
		method = "password+passkey"
		var err error
		if si, _, err = s.Current(ctx, c.SignIn); err != nil {
			return Result{}, err
		}
	}
	var started *Token
	r, err := s.advance(ctx, c, si, u, method, func(tx *store.Tx) (store.SignIn, error) {
		if err := tx.UsePasskey(ctx, a.Passkey.ID, a.Credential, a.SignCount, s.now()); errors.Is(err, store.ErrNotFound) {
			return si, errConsumed
		} else if err != nil {
			return si, err
		}
		// Recorded under the user, as every successful sign-in step is.
		if err := s.limiter.Succeed(ctx, tx, throttle.PasskeyPerIP.For(throttle.UserKey(u.ID))); err != nil {
			return si, err
		}
		if a.SecondFactor {
			return progress(ctx, tx, si, store.Progress{SecondFactor: true, StrongFactor: true})
		}
		var err error
		si, started, err = s.start(ctx, tx, c, u, store.Progress{Password: true, SecondFactor: true})
		return si, err
	})
	if err == nil {
		r.Started = started
	}
	if errors.Is(err, errConsumed) {
		// Another sign-in presented this counter first.
		return r, s.PasskeyFailed(ctx, c.Origin, u.ID, "sign_count_regressed")
	}
	return r, err
}
