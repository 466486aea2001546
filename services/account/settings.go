package account

import (
	"context"
	"slices"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// ErrInvalidPolicy refuses a password policy outside the offered options.
var ErrInvalidPolicy = Problems{"Choose a minimum length of 8, 10, 12, 14, 16, 18 or 20 and a score of Strong or Very strong."}

// ErrInvalidAuthStrength refuses an authentication strength that is not one of the two.
var ErrInvalidAuthStrength = Problems{"Choose Baseline or Enhanced."}

// Settings are the tenant's security settings, as Settings > Security shows them.
func (s *Service) Settings(ctx context.Context) (store.Settings, error) { return s.store.Settings(ctx) }

// SavePasswordPolicy stores the minimum length and score (Problems outside the options) and
// logs password_policy_updated with the old and new values, in one transaction; nothing when
// they did not change.
func (s *Service) SavePasswordPolicy(ctx context.Context, actor store.User, length, score int, origin store.Origin) error {
	if !slices.Contains(auth.PasswordLengthOptions, length) || !slices.Contains(auth.StrengthScoreOptions, score) {
		return ErrInvalidPolicy
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, "settings"); err != nil { // the old values logged are the ones replaced
			return err
		}
		old, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		if old.MinimumPasswordLength == length && old.MinimumStrengthScore == score {
			return nil // nothing changed, nothing to log
		}
		now := s.now()
		if err := tx.SetPasswordPolicy(ctx, length, score, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventPasswordPolicyUpdated, ptr(actor.ID), nil, map[string]any{
			"old": map[string]int{"minimum_password_length": old.MinimumPasswordLength, "minimum_strength_score": old.MinimumStrengthScore},
			"new": map[string]int{"minimum_password_length": length, "minimum_strength_score": score},
		}))
	})
}

// SaveAuthPolicy saves the required authentication strength, baseline or enhanced (Problems
// otherwise), and logs tenant_auth_policy_updated with the old and new values, in one
// transaction; nothing when it did not change.
func (s *Service) SaveAuthPolicy(ctx context.Context, actor store.User, strength string, origin store.Origin) error {
	if strength != "baseline" && strength != "enhanced" {
		return ErrInvalidAuthStrength
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, "settings"); err != nil { // the old values logged are the ones replaced
			return err
		}
		old, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		if old.RequiredAuthStrength == strength {
			return nil // nothing changed, nothing to log
		}
		now := s.now()
		if err := tx.SetAuthStrength(ctx, strength, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventTenantAuthPolicyUpdated, ptr(actor.ID), nil, map[string]any{
			"old": map[string]string{"required_auth_strength": old.RequiredAuthStrength},
			"new": map[string]string{"required_auth_strength": strength},
		}))
	})
}

// maxPreviewUsers bounds the names a policy preview lists. The count covers the first 1000
// active users (store.SearchUsers' ceiling).
const maxPreviewUsers = 100

// EnrollmentPreview is what saving strength would do before it is saved: the active users
// with neither TOTP nor a passkey, who meet enrollment at their next sign-in (at most
// maxPreviewUsers of them listed), and how many there are. Nobody when strength is not
// Enhanced or Enhanced is already in force.
func (s *Service) EnrollmentPreview(ctx context.Context, strength string) (users []store.User, total int, err error) {
	if strength != "enhanced" {
		return nil, 0, nil
	}
	st, err := s.store.Settings(ctx)
	if err != nil || st.RequiredAuthStrength == "enhanced" {
		return nil, 0, err
	}
	all, err := s.store.SearchUsers(ctx, store.UserFilter{Status: store.StatusActive, Limit: 1000})
	if err != nil {
		return nil, 0, err
	}
	for _, u := range all {
		if !u.EmailOnly() {
			continue
		}
		if total++; len(users) < maxPreviewUsers {
			users = append(users, u.User)
		}
	}
	return users, total, nil
}

// PasswordPolicyPreview counts, before it is saved, the passwords that would be weaker than
// the rule length/score where that rule is stricter than the one in force (0 otherwise, and for
// values outside the options, which SavePasswordPolicy refuses).
func (s *Service) PasswordPolicyPreview(ctx context.Context, length, score int) (int, error) {
	if !slices.Contains(auth.PasswordLengthOptions, length) || !slices.Contains(auth.StrengthScoreOptions, score) {
		return 0, nil
	}
	st, err := s.store.Settings(ctx)
	if err != nil {
		return 0, err
	}
	if length <= st.MinimumPasswordLength && score <= st.MinimumStrengthScore {
		return 0, nil // not stricter: no password becomes weaker
	}
	st.MinimumPasswordLength, st.MinimumStrengthScore = length, score
	return s.WeakerPasswords(ctx, st)
}
