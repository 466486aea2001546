package store

import (
	"context"
	"fmt"
	"time"
)

// AttemptResetRequest is the throttle kind of a "forgot password" request, counted per address
// and per IP whether or not the address has an account; AttemptResetLink of a reset link posted
// that did not work, per IP.
const (
	AttemptResetRequest = "reset_request"
	AttemptResetLink    = "reset_link"
)

// CreatePasswordReset stores a self-service reset link for a user: only the keyed hash of its
// token, and when it stops working.
func (q q) CreatePasswordReset(ctx context.Context, tokenHash []byte, userID int64, now, expires time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, unix(expires), unix(now))
	if err != nil {
		return fmt.Errorf("store: create password reset: %w", err)
	}
	return nil
}

// PasswordResetUser returns the user of a stored, unexpired reset link without using it up, or
// ErrNotFound. It does not look at the user's status: the caller decides.
func (q q) PasswordResetUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error) {
	return q.linkUser(ctx, "password_resets", tokenHash, now)
}

// ConsumePasswordReset uses up a reset link: if it is stored and unexpired, every link of its
// user is deleted (one reset makes the others void) and the user's id returned; ErrNotFound
// otherwise. Two requests with the same link cannot both get the id.
func (q q) ConsumePasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (int64, error) {
	userID, err := q.consumeLink(ctx, "password_resets", tokenHash, now)
	if err != nil {
		return 0, err
	}
	if err := q.DeletePasswordResets(ctx, userID); err != nil {
		return 0, err
	}
	return userID, nil
}

// DeletePasswordResets voids every reset link of a user.
func (q q) DeletePasswordResets(ctx context.Context, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("store: delete password resets: %w", err)
	}
	return nil
}

// Rule is a password rule as stored beside each password: the minimum length ordinary users and
// super admins must meet, and the minimum strength score.
type Rule struct {
	Length, SuperAdminLength, Score int
}

// weakerPasswordWhere selects the users whose password was set under a weaker rule than r: a
// shorter minimum length than they must meet now (by role) or a lower minimum score. Users
// without a password, and users already flagged for a reset, are left out.
const weakerPasswordWhere = `
	password_hash <> '' AND password_reset_required = 0
	AND (password_min_score < ?3
	     OR password_min_length < CASE WHEN role = 'super_admin' THEN CAST(?2 AS BIGINT) ELSE CAST(?1 AS BIGINT) END)`

// CountWeakerPasswords counts the users whose password was set under a weaker rule (see
// weakerPasswordWhere) and who are not yet required to reset it.
func (q q) CountWeakerPasswords(ctx context.Context, r Rule) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE `+weakerPasswordWhere, r.Length, r.SuperAdminLength, r.Score).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count weaker passwords: %w", err)
	}
	return n, nil
}

// WeakerPasswordUsers lists the ids of those users.
func (q q) WeakerPasswordUsers(ctx context.Context, r Rule) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id FROM users WHERE `+weakerPasswordWhere+` ORDER BY id`, r.Length, r.SuperAdminLength, r.Score)
	if err != nil {
		return nil, fmt.Errorf("store: weaker passwords: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: weaker passwords: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
