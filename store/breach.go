package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// BreachJob is the weekly breach re-check's schedule and progress (one row).
type BreachJob struct {
	NextRunAt time.Time // zero: not scheduled yet
	Running   bool
	// The run under way: every prefix up to Cursor is done, and so is each in DoneAhead.
	RunStartedAt time.Time
	Cursor       string
	DoneAhead    []string
	UsersChecked int
	Hits         int
	Requests     int
	LastError    string // why the run under way stopped; it resumes at NextRunAt
	// The last finished run (LastFinishedAt zero: none yet).
	LastStartedAt    time.Time
	LastFinishedAt   time.Time
	LastUsersChecked int
	LastHits         int
	LastRequests     int
}

// BreachProgress is how far the run under way got.
type BreachProgress struct {
	Cursor       string
	DoneAhead    []string
	UsersChecked int
	Hits         int
	Requests     int
}

func optTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return fromUnix(s)
}

// BreachJob reads the schedule and progress.
func (q q) BreachJob(ctx context.Context) (BreachJob, error) {
	var j BreachJob
	var next, started, lastStarted, lastFinished int64
	var state, ahead string
	err := q.db.QueryRowContext(ctx, `
		SELECT next_run_at, state, run_started_at, cursor, done_ahead, run_users_checked, run_hits,
			run_requests, last_error, last_started_at, last_finished_at, last_users_checked, last_hits, last_requests
		FROM breach_job WHERE id = 1`).Scan(&next, &state, &started, &j.Cursor, &ahead, &j.UsersChecked, &j.Hits,
		&j.Requests, &j.LastError, &lastStarted, &lastFinished, &j.LastUsersChecked, &j.LastHits, &j.LastRequests)
	if err != nil {
		return BreachJob{}, fmt.Errorf("store: breach job: %w", err)
	}
	j.NextRunAt, j.RunStartedAt = optTime(next), optTime(started)
	j.LastStartedAt, j.LastFinishedAt = optTime(lastStarted), optTime(lastFinished)
	j.Running = state == "running"
	if ahead != "" {
		j.DoneAhead = strings.Split(ahead, ",")
	}
	return j, nil
}

// ScheduleFirstBreachRun sets the first run's time, unless one is scheduled already.
func (q q) ScheduleFirstBreachRun(ctx context.Context, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE breach_job SET next_run_at = ? WHERE id = 1 AND next_run_at = 0`, unix(at)); err != nil {
		return fmt.Errorf("store: schedule breach run: %w", err)
	}
	return nil
}

// RequestBreachRun makes the next run (or the resumption of a stopped one) due at now.
func (q q) RequestBreachRun(ctx context.Context, now time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE breach_job SET next_run_at = ? WHERE id = 1`, unix(now)); err != nil {
		return fmt.Errorf("store: request breach run: %w", err)
	}
	return nil
}

// StartBreachRun begins a run if none is under way and one is due at now; it reports whether
// it did. The check and the change are one statement, so two callers cannot both start one.
func (q q) StartBreachRun(ctx context.Context, now time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `
		UPDATE breach_job SET state = 'running', run_started_at = ?, cursor = '', done_ahead = '',
			run_users_checked = 0, run_hits = 0, run_requests = 0, last_error = ''
		WHERE id = 1 AND state = 'idle' AND next_run_at > 0 AND next_run_at <= ?`, unix(now), unix(now))
	if err != nil {
		return false, fmt.Errorf("store: start breach run: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SaveBreachProgress records how far the run under way got.
func (q q) SaveBreachProgress(ctx context.Context, p BreachProgress) error {
	_, err := q.db.ExecContext(ctx, `
		UPDATE breach_job SET cursor = ?, done_ahead = ?, run_users_checked = ?, run_hits = ?, run_requests = ?
		WHERE id = 1 AND state = 'running'`, p.Cursor, strings.Join(p.DoneAhead, ","), p.UsersChecked, p.Hits, p.Requests)
	if err != nil {
		return fmt.Errorf("store: save breach progress: %w", err)
	}
	return nil
}

// StopBreachRun records why the run under way stopped; it resumes at retryAt.
func (q q) StopBreachRun(ctx context.Context, reason string, retryAt time.Time) error {
	_, err := q.db.ExecContext(ctx, `UPDATE breach_job SET last_error = ?, next_run_at = ? WHERE id = 1 AND state = 'running'`, reason, unix(retryAt))
	if err != nil {
		return fmt.Errorf("store: stop breach run: %w", err)
	}
	return nil
}

// FinishBreachRun ends the run under way: its figures become the last run's, and the next
// run is due at next.
func (q q) FinishBreachRun(ctx context.Context, now, next time.Time) error {
	_, err := q.db.ExecContext(ctx, `
		UPDATE breach_job SET state = 'idle', next_run_at = ?, last_started_at = run_started_at,
			last_finished_at = ?, last_users_checked = run_users_checked, last_hits = run_hits,
			last_requests = run_requests, last_error = '', cursor = '', done_ahead = ''
		WHERE id = 1 AND state = 'running'`, unix(next), unix(now))
	if err != nil {
		return fmt.Errorf("store: finish breach run: %w", err)
	}
	return nil
}

// BreachCandidate is a user whose password the weekly job re-checks.
type BreachCandidate struct {
	Prefix string
	UserID int64
	HMAC   []byte
}

// BreachCandidates returns the users of the first `prefixes` distinct breach prefixes after
// after, ordered by prefix: a prefix's users are never split between two calls.
func (q q) BreachCandidates(ctx context.Context, after string, prefixes int) ([]BreachCandidate, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT breach_prefix, id, breach_hmac FROM users
		WHERE breach_prefix <> '' AND breach_prefix IN (
			SELECT DISTINCT breach_prefix FROM users
			WHERE breach_prefix <> '' AND breach_prefix > ? ORDER BY breach_prefix LIMIT ?)
		ORDER BY breach_prefix, id`, after, prefixes)
	if err != nil {
		return nil, fmt.Errorf("store: breach candidates: %w", err)
	}
	defer rows.Close()
	var out []BreachCandidate
	for rows.Next() {
		var c BreachCandidate
		if err := rows.Scan(&c.Prefix, &c.UserID, &c.HMAC); err != nil {
			return nil, fmt.Errorf("store: breach candidates: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: breach candidates: %w", err)
	}
	return out, nil
}

// FlagBreachedPassword marks a user whose password was found in a breach: their next sign-in
// must choose a new password, and the fingerprint is cleared (nothing more to check). It
// changes nothing and returns ErrNotFound when the password changed since mac was read.
func (q q) FlagBreachedPassword(ctx context.Context, userID int64, mac []byte, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `
		UPDATE users SET password_reset_required = 1, breach_prefix = '', breach_hmac = NULL, updated_at = ?
		WHERE id = ? AND breach_hmac = ?`, unix(now), userID, mac)
	if err != nil {
		return fmt.Errorf("store: flag breached password: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}
