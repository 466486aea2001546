package store

import (
	"context"
	"fmt"
	"time"
)

// Settings is the tenant's one row of security settings.
type Settings struct {
	RequiredAuthStrength  string // "baseline" or "enhanced"
	MinimumPasswordLength int
	MinimumStrengthScore  int
	// IdleDeactivationDays is how many days without a sign-in deactivate a user (0: never).
	IdleDeactivationDays int
}

// Settings returns the tenant settings.
func (q q) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	err := q.db.QueryRowContext(ctx, `
		SELECT required_auth_strength, minimum_password_length, minimum_strength_score, idle_deactivation_days FROM settings WHERE id = 1`).
		Scan(&s.RequiredAuthStrength, &s.MinimumPasswordLength, &s.MinimumStrengthScore, &s.IdleDeactivationDays)
	if err != nil {
		return Settings{}, fmt.Errorf("store: settings: %w", err)
	}
	return s, nil
}

// SetPasswordPolicy saves the minimum password length and strength score.
func (q q) SetPasswordPolicy(ctx context.Context, minLength, minScore int, now time.Time) error {
	_, err := q.db.ExecContext(ctx, `
		UPDATE settings SET minimum_password_length = ?, minimum_strength_score = ?, updated_at = ? WHERE id = 1`,
		minLength, minScore, unix(now))
	if err != nil {
		return fmt.Errorf("store: set password policy: %w", err)
	}
	return nil
}

// SetAuthStrength saves the required authentication strength, "baseline" or "enhanced".
func (q q) SetAuthStrength(ctx context.Context, strength string, now time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE settings SET required_auth_strength = ?, updated_at = ? WHERE id = 1`, strength, unix(now))
	if err != nil {
		return fmt.Errorf("store: set auth strength: %w", err)
	}
	return nil
}
