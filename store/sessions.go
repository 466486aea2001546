package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a signed-in browser. IDHash is the keyed hash of the cookie value.
type Session struct {
	IDHash     []byte
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
	// Factors are the factors of the sign-in that made the session (an auth.Factors bit set; 0
	// for a session made before they were recorded).
	Factors int64
}

// CreateSession stores a new session.
func (q q) CreateSession(ctx context.Context, s Session) error {
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, factors)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, unix(s.CreatedAt), unix(s.LastSeenAt), unix(s.ExpiresAt), s.IP, s.UserAgent, s.Factors)
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionUser returns the live session with that hash and its user, or ErrNotFound when there
// is none or it expired at now.
func (q q) SessionUser(ctx context.Context, idHash []byte, now time.Time) (Session, User, error) {
	row := q.db.QueryRowContext(ctx, `
		SELECT s.created_at, s.last_seen_at, s.expires_at, s.ip, s.user_agent, s.factors, `+prefixed("u.", userColumns)+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = ? AND s.expires_at > ?`, idHash, unix(now))
	var s Session
	var created, seen, expires int64
	u, err := scanUser(scanPrefix{row: row, dst: []any{&created, &seen, &expires, &s.IP, &s.UserAgent, &s.Factors}})
	if err != nil {
		return Session{}, User{}, err
	}
	s.IDHash, s.UserID = idHash, u.ID
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromUnix(created), fromUnix(seen), fromUnix(expires)
	return s, u, nil
}

// scanPrefix scans some leading columns into dst before handing the rest to another scanner.
type scanPrefix struct {
	row interface{ Scan(...any) error }
	dst []any
}

func (p scanPrefix) Scan(rest ...any) error { return p.row.Scan(append(p.dst, rest...)...) }

// TouchSession records that the session was used at now.
func (q q) TouchSession(ctx context.Context, idHash []byte, now time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, unix(now), idHash)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session. Ending one that does not exist is not an error.
func (q q) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	q.accessChanged()
	return nil
}

// DeleteUserSessions ends every session of a user except the one whose hash is keep (nil keeps none),
// and returns how many ended.
func (q q) DeleteUserSessions(ctx context.Context, userID int64, keep []byte) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash IS DISTINCT FROM ?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("store: delete user sessions: %w", err)
	}
	q.accessChanged()
	return res.RowsAffected()
}

// DeleteExpired removes sessions, sign-ins, codes, setup tokens, devices, SAML logout records and
// throttle records that can no longer matter at now. Attempts are kept for a day.
func (q q) DeleteExpired(ctx context.Context, now time.Time) error {
	for _, table := range []string{"sessions", "signins", "email_codes", "setup_tokens", "webauthn_challenges",
		"invitations", "password_resets", "devices", "saml_session_participants", "saml_logout_steps",
		"proxy_codes", "proxy_sessions"} {
		if _, err := q.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE expires_at <= ?`, unix(now)); err != nil {
			return fmt.Errorf("store: delete expired: %w", err)
		}
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM signin_attempts WHERE at <= ?`, unix(now.Add(-24*time.Hour))); err != nil {
		return fmt.Errorf("store: delete expired: %w", err)
	}
	return nil
}
