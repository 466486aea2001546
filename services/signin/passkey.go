package signin

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// BeginPasskey starts a passkey sign-in and returns the options navigator.credentials.get takes,
// and the challenge the browser keeps (in place of the one previous, its earlier challenge
// token, named: one browser keeps one challenge). secondFactor: the passkey is the second factor
// of the sign-in of c, whose password is done, limited to that user's passkeys; otherwise it is a
// whole sign-in with a discoverable credential, which names the user by itself, whatever sign-in
// this browser left in progress. Errors: account.ErrPasskeysOff, ErrThrottled,
// ErrTooManyCeremonies, ErrNoSignIn, ErrNoPasskey.
func (s *Service) BeginPasskey(ctx context.Context, c Client, secondFactor bool, previous string) (*protocol.CredentialAssertion, account.Challenge, error) {
	wa := s.accounts.WebAuthn()
	if wa == nil {
		return nil, account.Challenge{}, account.ErrPasskeysOff
	}
	u, err := s.passkeyBegin(ctx, c, secondFactor)
	if err != nil {
		return nil, account.Challenge{}, err
	}
	verify := webauthn.WithUserVerification(protocol.VerificationRequired)
	var assertion *protocol.CredentialAssertion
	var session *webauthn.SessionData
	if u.ID != 0 {
		pu, err := s.accounts.PasskeyUser(ctx, u)
		if err != nil {
			return nil, account.Challenge{}, err
		}
		if len(pu.Credentials) == 0 {
			return nil, account.Challenge{}, ErrNoPasskey
		}
		assertion, session, err = wa.BeginLogin(pu, verify)
		if err != nil {
			return nil, account.Challenge{}, err
		}
	} else if assertion, session, err = wa.BeginDiscoverableLogin(verify); err != nil {
		return nil, account.Challenge{}, err
	}
	ch, err := s.accounts.SaveChallenge(ctx, "login", u.ID, session, previous)
	return assertion, ch, err
}

// FinishPasskey checks the browser's assertion (body, its JSON) against the sign-in challenge
// token names (used once) and signs in with it: a cloned authenticator is refused, and so is a
// second factor for another sign-in than c's. Every refusal is counted against the IP and logged
// (ErrPasskeyFailed); an IP that failed too many is refused first (ErrThrottled). Errors also:
// account.ErrPasskeysOff.
func (s *Service) FinishPasskey(ctx context.Context, c Client, token string, body []byte) (_ Result, err error) {
	defer func() { s.count("passkey", err) }()
	wa := s.accounts.WebAuthn()
	if wa == nil {
		return Result{}, account.ErrPasskeysOff
	}
	if err := s.PasskeyLimited(ctx, c.Origin); err != nil {
		return Result{}, err
	}
	ch, session, err := s.accounts.TakeChallenge(ctx, token, "login")
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, s.passkeyFailed(ctx, c.Origin, 0, "no_challenge")
	}
	if err != nil {
		return Result{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	var pu *account.PasskeyUser
	var cred *webauthn.Credential
	if ch.UserID != 0 {
		// The second factor of the sign-in in progress: it must be the same sign-in's user.
		_, u, cerr := s.Current(ctx, c.SignIn)
		if cerr != nil || u.ID != ch.UserID {
			return Result{}, s.passkeyFailed(ctx, c.Origin, ch.UserID, "no_sign_in")
		}
		if pu, cerr = s.accounts.PasskeyUser(ctx, u); cerr != nil {
			return Result{}, cerr
		}
		if err == nil {
			cred, err = wa.ValidateLogin(pu, session, parsed)
		}
	} else if err == nil {
		handler := func(rawID, userHandle []byte) (webauthn.User, error) {
			u, err := s.store.UserByWebAuthnHandle(ctx, userHandle)
			if err != nil {
				return nil, err
			}
			pu, err = s.accounts.PasskeyUser(ctx, u)
			return pu, err
		}
		cred, err = wa.ValidateDiscoverableLogin(handler, session, parsed)
	}
	if err != nil || pu == nil {
		userID := int64(0)
		if pu != nil {
			userID = pu.User.ID
		}
		s.log.Info("passkey sign-in refused", "err", err)
		return Result{}, s.passkeyFailed(ctx, c.Origin, userID, "invalid_assertion")
	}
	data, err := account.CredentialJSON(cred)
	if err != nil {
		return Result{}, err
	}
	pk, found := pu.PasskeyFor(cred.ID)
	return s.passkeyFinish(ctx, c, assertion{
		SecondFactor: ch.UserID != 0, User: pu.User, Passkey: pk, Found: found,
		Credential: data, SignCount: cred.Authenticator.SignCount, CloneWarning: cred.Authenticator.CloneWarning,
		BackupEligible: cred.Flags.BackupEligible,
	})
}

// passkeyBegin is asked before a passkey ceremony starts. secondFactor: the passkey is the
// second factor of the sign-in of c, whose password is done, and u is its user (whose passkeys
// the ceremony offers); otherwise it is a whole sign-in and u is zero. Errors: ErrThrottled,
// ErrNoSignIn.
//
// Each ceremony stores a challenge, so an anonymous browser may begin only
// throttle.PasskeyBeginPerIP of them from one IP (ErrTooManyCeremonies past that); the count is taken
// before anything is stored.
func (s *Service) passkeyBegin(ctx context.Context, c Client, secondFactor bool) (store.User, error) {
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
	limited, err := s.limiter.Refuse(ctx, s.failed(o, 0, map[string]any{"step": "passkey", "reason": "throttled"}), throttle.PasskeyPerIP.For(throttle.IPKey(o.IP)))
	if err != nil || !limited {
		return err
	}
	return ErrThrottled
}

// passkeyFailed counts a passkey sign-in that failed against the IP and logs login_failed with
// its reason (userID 0: no user known), in one transaction. It returns ErrPasskeyFailed.
func (s *Service) passkeyFailed(ctx context.Context, o store.Origin, userID int64, reason string) error {
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

// assertion is a passkey assertion the WebAuthn ceremony verified.
type assertion struct {
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
	// BackupEligible: the authenticator says the credential can be synced (auth.PasskeyFactor).
	BackupEligible bool
}

// passkeyFinish signs in with a verified assertion. A cloned or unknown credential, or an
// inactive user, is refused and logged (ErrPasskeyFailed). The passkey's use, and the progress
// (a whole passkey sign-in does the password and second-factor steps at once; Started) are
// recorded and the sign-in taken on in one transaction; then auth.NextStep decides as for any
// sign-in.
func (s *Service) passkeyFinish(ctx context.Context, c Client, a assertion) (Result, error) {
	u := a.User
	switch {
	case !a.Found:
		return Result{}, s.passkeyFailed(ctx, c.Origin, u.ID, "unknown_credential")
	case a.CloneWarning:
		return Result{}, s.passkeyFailed(ctx, c.Origin, u.ID, "sign_count_regressed")
	case !u.Active():
		return Result{}, s.passkeyFailed(ctx, c.Origin, u.ID, "inactive")
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
		factor := int64(auth.PasskeyFactor(a.BackupEligible))
		if a.SecondFactor {
			return progress(ctx, tx, si, store.Progress{SecondFactor: true, StrongFactor: true, Factors: factor})
		}
		var err error
		si, started, err = s.start(ctx, tx, c, u, store.Progress{Password: true, SecondFactor: true, Factors: factor})
		return si, err
	})
	if err == nil {
		r.Started = started
	}
	if errors.Is(err, errConsumed) {
		// Another sign-in presented this counter first.
		return r, s.passkeyFailed(ctx, c.Origin, u.ID, "sign_count_regressed")
	}
	return r, err
}
