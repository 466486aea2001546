package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// ReserveAttempt stores one failed guess for each key before the guess is checked, and returns
// the rows' ids: counted at once, a guess cannot slip past a limit that concurrent guesses
// (from one IP, at different accounts) are about to reach. SettleAttempt turns them into a
// success, or DropAttempt removes them when the guess could not be checked at all.
func (q q) ReserveAttempt(ctx context.Context, kind string, keys []string, now time.Time) ([]int64, error) {
	ids := make([]int64, 0, len(keys))
	for _, key := range keys {
		var id int64
		err := q.db.QueryRowContext(ctx, `INSERT INTO signin_attempts (kind, key, success, at) VALUES (?, ?, 0, ?) RETURNING id`,
			kind, key, unix(now)).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("store: reserve attempt: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// SettleAttempt marks reserved attempts as successes.
func (q q) SettleAttempt(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// One statement, one write: ids are ours (integers), so they can be spelled out.
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatInt(id, 10)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE signin_attempts SET success = 1 WHERE id IN (`+strings.Join(list, ",")+`)`); err != nil {
		return fmt.Errorf("store: settle attempt: %w", err)
	}
	return nil
}

// DropAttempt removes reserved attempts.
func (q q) DropAttempt(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if _, err := q.db.ExecContext(ctx, `DELETE FROM signin_attempts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("store: drop attempt: %w", err)
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
