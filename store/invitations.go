package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AttemptInvite is the throttle kind of a posted invitation link that did not work.
const AttemptInvite = "invite"

// Invitation is the link a new user gets to set their first password. TokenHash is the keyed
// hash of the token in the link; CreatedBy is the admin who sent it (0 when unknown or deleted).
type Invitation struct {
	TokenHash []byte
	UserID    int64
	CreatedBy int64
	ExpiresAt time.Time
	CreatedAt time.Time
}

// CreateInvitation stores an invitation.
func (q q) CreateInvitation(ctx context.Context, inv Invitation) error {
	var createdBy *int64
	if inv.CreatedBy != 0 {
		createdBy = &inv.CreatedBy
	}
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO invitations (token_hash, user_id, created_by, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		inv.TokenHash, inv.UserID, createdBy, unix(inv.ExpiresAt), unix(inv.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: create invitation: %w", err)
	}
	return nil
}

// InvitationUser returns the user of the stored, unexpired invitation with that hash, without
// using it up, or ErrNotFound. It does not look at the user's status: the caller decides.
func (q q) InvitationUser(ctx context.Context, tokenHash []byte, now time.Time) (User, error) {
	return q.linkUser(ctx, "invitations", tokenHash, now)
}

// ConsumeInvitation deletes the invitation if it is stored and unexpired, atomically, and returns
// its user's ID; ErrNotFound otherwise: the link works once.
func (q q) ConsumeInvitation(ctx context.Context, tokenHash []byte, now time.Time) (int64, error) {
	return q.consumeLink(ctx, "invitations", tokenHash, now)
}

// UserInvitation is the newest invitation of a user that still works at now, or ErrNotFound.
func (q q) UserInvitation(ctx context.Context, userID int64, now time.Time) (Invitation, error) {
	var inv Invitation
	var createdBy sql.NullInt64
	var expires, created int64
	err := q.db.QueryRowContext(ctx, `
		SELECT token_hash, user_id, created_by, expires_at, created_at FROM invitations
		WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, expires_at DESC LIMIT 1`, userID, unix(now)).
		Scan(&inv.TokenHash, &inv.UserID, &createdBy, &expires, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return inv, ErrNotFound
	}
	if err != nil {
		return inv, fmt.Errorf("store: user invitation: %w", err)
	}
	inv.CreatedBy, inv.ExpiresAt, inv.CreatedAt = createdBy.Int64, fromUnix(expires), fromUnix(created)
	return inv, nil
}

// DeleteUserInvitations removes every invitation of a user (once one is accepted, the others
// must not set the password again).
func (q q) DeleteUserInvitations(ctx context.Context, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM invitations WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("store: delete user invitations: %w", err)
	}
	return nil
}

// DeleteExpiredInvitations removes the invitations that expired at or before now, and returns
// how many. The periodic clean-up calls it beside DeleteExpired.
func (q q) DeleteExpiredInvitations(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM invitations WHERE expires_at <= ?`, unix(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired invitations: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired invitations: %w", err)
	}
	return n, nil
}

// linkUser returns the user of a stored, unexpired single-use link (a row of table, which is
// invitations or password_resets) without using it up, or ErrNotFound.
func (q q) linkUser(ctx context.Context, table string, tokenHash []byte, now time.Time) (User, error) {
	return scanUser(q.db.QueryRowContext(ctx, `
		SELECT `+userColumns+` FROM users
		WHERE id = (SELECT user_id FROM `+table+` WHERE token_hash = ? AND expires_at > ?)`,
		tokenHash, unix(now)))
}

// consumeLink deletes a stored, unexpired single-use link of table atomically and returns its
// user's id, or ErrNotFound: two requests with the same link cannot both get the id.
func (q q) consumeLink(ctx context.Context, table string, tokenHash []byte, now time.Time) (int64, error) {
	var userID int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM `+table+` WHERE token_hash = ? AND expires_at > ? RETURNING user_id`,
		tokenHash, unix(now)).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: consume %s: %w", table, err)
	}
	return userID, nil
}
