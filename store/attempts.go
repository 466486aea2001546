package store

import (
	"context"
	"fmt"
	"time"
)

// Attempt kinds, for throttling.
const (
	AttemptPassword = "password"
	AttemptCode     = "code"
	AttemptCodeMail = "code_mail"
	AttemptPasskey  = "passkey"
	AttemptSetup    = "setup"
)

// RecordAttempt stores one guess (or resend) for each key, e.g. "email:a@b.c" and "ip:192.0.2.1".
func (q q) RecordAttempt(ctx context.Context, kind string, keys []string, success bool, now time.Time) error {
	for _, key := range keys {
		_, err := q.db.ExecContext(ctx, `INSERT INTO signin_attempts (kind, key, success, at) VALUES (?, ?, ?, ?)`,
			kind, key, boolInt(success), unix(now))
		if err != nil {
			return fmt.Errorf("store: record attempt: %w", err)
		}
	}
	return nil
}

// CountAttempts counts every attempt (failed or not) of a kind for a key at or after since.
func (q q) CountAttempts(ctx context.Context, kind, key string, since time.Time) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM signin_attempts WHERE kind = ? AND key = ? AND at >= ?`,
		kind, key, unix(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count attempts: %w", err)
	}
	return n, nil
}

// CountFailures counts the failed attempts of a kind for a key at or after since. With
// afterSuccess, only failures after the key's latest success count: right for an account, whose
// owner proves themselves by succeeding, and wrong for an IP, where an attacker's own account
// would wipe the slate.
func (q q) CountFailures(ctx context.Context, kind, key string, since time.Time, afterSuccess bool) (int, error) {
	query := `SELECT count(*) FROM signin_attempts WHERE kind = ?1 AND key = ?2 AND at >= ?3 AND success = 0`
	if afterSuccess {
		query += ` AND id > coalesce((SELECT max(id) FROM signin_attempts WHERE kind = ?1 AND key = ?2 AND success = 1), 0)`
	}
	var n int
	if err := q.db.QueryRowContext(ctx, query, kind, key, unix(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count failures: %w", err)
	}
	return n, nil
}
