package store

import (
	"context"
	"fmt"
	"time"
)

// FirstRun is the state the first-run checklist of a super admin's dashboard is ticked from.
type FirstRun struct {
	Dismissed    bool // the user dismissed the checklist
	SecondFactor bool // the user has a confirmed TOTP authenticator or a passkey
	OtherUsers   bool // someone else has an account
	Apps         bool // an OpenID Connect client or a SAML service provider is registered
}

// FirstRun reads the checklist's state for userID, in one query.
func (q q) FirstRun(ctx context.Context, userID int64) (FirstRun, error) {
	var f FirstRun
	err := q.db.QueryRowContext(ctx, `
		SELECT checklist_dismissed_at > 0,
		       EXISTS (SELECT 1 FROM totp WHERE user_id = ?1 AND confirmed_at > 0)
		         OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1),
		       EXISTS (SELECT 1 FROM users WHERE id <> ?1),
		       EXISTS (SELECT 1 FROM oauth_clients) OR EXISTS (SELECT 1 FROM saml_service_providers)
		FROM users WHERE id = ?1`, userID).Scan(&f.Dismissed, &f.SecondFactor, &f.OtherUsers, &f.Apps)
	if err != nil {
		return FirstRun{}, fmt.Errorf("store: first-run checklist: %w", err)
	}
	return f, nil
}

// DismissChecklist hides the first-run checklist from userID's dashboard for good.
func (q q) DismissChecklist(ctx context.Context, userID int64, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET checklist_dismissed_at = ? WHERE id = ?`, now.Unix(), userID)
	if err != nil {
		return fmt.Errorf("store: dismiss checklist: %w", err)
	}
	return mustAffect(res)
}
