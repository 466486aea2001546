package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SetUserProfile changes a user's name and e-mail address (normalized). ErrConflict when another
// user has the address; ErrNotFound when there is no such user.
func (q q) SetUserProfile(ctx context.Context, userID int64, name, email string, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET name = ?, email = ?, updated_at = ? WHERE id = ?`,
		name, NormalizeEmail(email), unix(now), userID)
	if err != nil {
		return uniqueConflict(err, "set user profile")
	}
	q.accessChanged() // the Remote-Name and Remote-Email of forward auth
	return mustAffect(res)
}

// RecordSignIn notes that a user finished a sign-in at now.
func (q q) RecordSignIn(ctx context.Context, userID int64, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET last_sign_in_at = ? WHERE id = ?`, unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: record sign-in: %w", err)
	}
	return mustAffect(res)
}

// DeletedUser is what is kept of a deleted user: who they were, for the events that name them.
type DeletedUser struct {
	ID        int64
	Email     string
	Name      string
	Role      Role
	DeletedAt time.Time
	DeletedBy int64 // 0 when unknown
}

// Footprint counts what a user has that deleting them removes.
type Footprint struct {
	Sessions, SignIns, Passkeys, BackupCodes, Devices, AccessTokens, RefreshTokens int
	TOTP                                                                           bool
}

// UserFootprint counts a user's sessions, sign-ins in progress, factors, devices and OAuth2
// tokens, in one query.
func (q q) UserFootprint(ctx context.Context, userID int64) (Footprint, error) {
	var f Footprint
	err := q.db.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM sessions WHERE user_id = ?1),
		       (SELECT count(*) FROM signins WHERE user_id = ?1),
		       (SELECT count(*) FROM passkeys WHERE user_id = ?1),
		       (SELECT count(*) FROM backup_codes WHERE user_id = ?1),
		       (SELECT count(*) FROM devices WHERE user_id = ?1),
		       (SELECT count(*) FROM oauth_access_tokens WHERE user_id = ?1),
		       (SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = ?1),
		       EXISTS (SELECT 1 FROM totp WHERE user_id = ?1 AND confirmed_at > 0)`, userID).
		Scan(&f.Sessions, &f.SignIns, &f.Passkeys, &f.BackupCodes, &f.Devices, &f.AccessTokens, &f.RefreshTokens, &f.TOTP)
	if err != nil {
		return f, fmt.Errorf("store: user footprint: %w", err)
	}
	return f, nil
}

// DeleteUser keeps who u was (DeletedUser, for the event log) and deletes the user: every row
// that belongs to them goes with them (their foreign keys cascade: sessions, sign-ins, factors,
// devices, links, OAuth2 tokens and codes, memberships), and invitations they sent forget the
// sender. Their events stay. ErrNotFound when there is no such user.
func (q q) DeleteUser(ctx context.Context, u User, by int64, now time.Time) error {
	var deletedBy *int64
	if by != 0 {
		deletedBy = &by
	}
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO deleted_users (id, email, name, role, deleted_at, deleted_by) VALUES (?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, u.Role, unix(now), deletedBy)
	if err != nil {
		return uniqueConflict(err, "keep deleted user")
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID)
	if err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	q.accessChanged() // their sessions went with them
	return mustAffect(res)
}

const deletedUserColumns = `id, email, name, role, deleted_at, COALESCE(deleted_by, 0)`

func scanDeletedUser(row interface{ Scan(...any) error }) (DeletedUser, error) {
	var d DeletedUser
	var at int64
	err := row.Scan(&d.ID, &d.Email, &d.Name, &d.Role, &at, &d.DeletedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("store: scan deleted user: %w", err)
	}
	d.DeletedAt = fromUnix(at)
	return d, nil
}

// DeletedUserByID is the deleted user who had that id, or ErrNotFound.
func (q q) DeletedUserByID(ctx context.Context, id int64) (DeletedUser, error) {
	return scanDeletedUser(q.db.QueryRowContext(ctx, `SELECT `+deletedUserColumns+` FROM deleted_users WHERE id = ?`, id))
}

// SearchDeletedUsers lists the deleted users whose address is exactly text (exact) or whose
// name or address contains it, ignoring case, at most limit of them, newest deletion first.
func (q q) SearchDeletedUsers(ctx context.Context, text string, exact bool, limit int) ([]DeletedUser, error) {
	text = strings.ToLower(strings.TrimSpace(text))
	query := `SELECT ` + deletedUserColumns + ` FROM deleted_users WHERE lower(email) = ? ORDER BY deleted_at DESC, id DESC LIMIT ?`
	args := []any{text, limit}
	if !exact {
		pattern := "%" + likeEscaper.Replace(text) + "%"
		query = `SELECT ` + deletedUserColumns + ` FROM deleted_users
			WHERE lower(email) LIKE ? ESCAPE '\' OR lower(name) LIKE ? ESCAPE '\' ORDER BY deleted_at DESC, id DESC LIMIT ?`
		args = []any{pattern, pattern, limit}
	}
	return queryAll(ctx, q.db, "search deleted users", scanDeletedUser, query, args...)
}

// IdleUsers lists the active users with no sign-in, creation or change of status after cutoff
// and no invitation still valid at now (its link is their way in), the longest idle first.
func (q q) IdleUsers(ctx context.Context, cutoff, now time.Time) ([]User, error) {
	return q.queryUsers(ctx, "idle users", `SELECT `+userColumns+` FROM users
		WHERE status = 'active' AND last_sign_in_at < ? AND created_at < ? AND status_changed_at < ?
		  AND NOT EXISTS (SELECT 1 FROM invitations i WHERE i.user_id = users.id AND i.expires_at > ?)
		ORDER BY last_sign_in_at, created_at, id`, unix(cutoff), unix(cutoff), unix(cutoff), unix(now))
}
