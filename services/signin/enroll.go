package signin

import (
	"context"
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// Enrollment is the TOTP secret (with its QR code) a sign-in at the enrollment step is setting
// up, and its user.
type Enrollment struct {
	User store.User
	account.TOTPSetup
}

// TOTPSecret is the TOTP secret the sign-in of c is enrolling: made and sealed on its first ask
// (create) and kept on the sign-in (never on the user, where another sign-in could read or plant
// it), so a reload shows the same QR code. Without create a sign-in that has none gets
// ErrNoSecret. Errors: ErrNoSignIn, ErrNotAtStep, ErrNoSecret.
func (s *Service) TOTPSecret(ctx context.Context, c Client, create bool) (Enrollment, error) {
	e, err := s.totpSecret(ctx, c, create)
	if err == nil {
		e.TOTPSetup, err = account.NewTOTPSetup(e.User, e.Secret)
	}
	return e, err
}

func (s *Service) totpSecret(ctx context.Context, c Client, create bool) (Enrollment, error) {
	r, err := s.at(ctx, c, auth.StepEnroll)
	if err != nil {
		return Enrollment{User: r.User}, err
	}
	e := Enrollment{User: r.User}
	sealContext := TOTPContext(r.User.ID) + ":signin"
	if len(r.SignIn.TOTPPending) > 0 {
		secret, err := s.keys.Open(r.SignIn.TOTPPending, sealContext)
		e.Secret = string(secret)
		return e, err
	}
	if !create {
		return e, ErrNoSecret
	}
	if e.Secret, err = auth.NewTOTPSecret(); err != nil {
		return e, err
	}
	sealed, err := s.keys.Seal([]byte(e.Secret), sealContext)
	if err != nil {
		return e, err
	}
	err = s.store.SetSignInTOTP(ctx, r.SignIn.IDHash, sealed)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNoSignIn
	}
	return e, err
}

// Enrolled records that the sign-in of c enrolled a strong factor (method "totp" or "passkey",
// which the account's own use case stored) and takes it on, finishing it when nothing is left,
// in one transaction. For a passkey it logs user_enhanced_auth_enrolled here (enabling TOTP at
// enrollment logs it with the secret). Errors: ErrNoSignIn.
func (s *Service) Enrolled(ctx context.Context, c Client, method string) (Result, error) {
	si, u, err := s.Current(ctx, c.SignIn)
	if err != nil {
		return Result{}, err
	}
	factor := auth.FactorOTP
	if method == "passkey" {
		if factor, err = s.newestPasskey(ctx, u); err != nil {
			return Result{}, err
		}
	}
	return s.advance(ctx, c, si, u, "password+email_code+enrolled_"+method, func(tx *store.Tx) (store.SignIn, error) {
		if method == "passkey" {
			ev := c.Event(s.now(), store.EventUserEnhancedAuthEnrolled, &u.ID, &u.ID, map[string]any{"method": method})
			if err := tx.AddEvent(ctx, ev); err != nil {
				return si, err
			}
		}
		return progress(ctx, tx, si, store.Progress{Enrolled: true, Factors: int64(factor)})
	})
}

// newestPasskey is the factor of the passkey u registered last (the one enrollment just
// stored): device-bound or synced.
func (s *Service) newestPasskey(ctx context.Context, u store.User) (auth.Factors, error) {
	pu, err := s.accounts.PasskeyUser(ctx, u)
	if err != nil {
		return 0, err
	}
	newest := -1
	for i, p := range pu.Passkeys {
		if newest < 0 || p.ID > pu.Passkeys[newest].ID {
			newest = i
		}
	}
	if newest < 0 {
		return 0, ErrNoPasskey
	}
	return auth.PasskeyFactor(pu.Credentials[newest].Flags.BackupEligible), nil
}
