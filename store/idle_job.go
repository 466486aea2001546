package store

import (
	"context"
	"fmt"
	"time"
)

// IdleJob is the idle-user deactivation's schedule: when it runs next (zero: as soon as it is
// on), and when it ran last and how many users that run deactivated.
type IdleJob struct {
	NextRunAt       time.Time
	LastRunAt       time.Time
	LastDeactivated int
}

// IdleJob reads the idle-user deactivation's schedule.
func (q q) IdleJob(ctx context.Context) (IdleJob, error) {
	var next, last int64
	var j IdleJob
	err := q.db.QueryRowContext(ctx, `SELECT next_run_at, last_run_at, last_deactivated FROM idle_job WHERE id = 1`).
		Scan(&next, &last, &j.LastDeactivated)
	if err != nil {
		return j, fmt.Errorf("store: idle job: %w", err)
	}
	j.NextRunAt, j.LastRunAt = fromUnixOrZero(next), fromUnixOrZero(last)
	return j, nil
}

// ClaimIdleRun takes the run that was due at due (the schedule's NextRunAt as read) by moving the
// schedule to next; false when another took it first (the schedule moved meanwhile).
func (q q) ClaimIdleRun(ctx context.Context, due, next time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE idle_job SET next_run_at = ? WHERE id = 1 AND next_run_at = ?`,
		unix(next), unixOrZero(due))
	if err != nil {
		return false, fmt.Errorf("store: claim idle run: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FinishIdleRun records a run that ended at at and deactivated n users.
func (q q) FinishIdleRun(ctx context.Context, at time.Time, n int) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE idle_job SET last_run_at = ?, last_deactivated = ? WHERE id = 1`, unix(at), n); err != nil {
		return fmt.Errorf("store: finish idle run: %w", err)
	}
	return nil
}

// SetIdleDeactivation saves the days without a sign-in that deactivate a user (0: never) and
// makes the next run due at once (zero), so a new setting is applied at the job's next look.
func (q q) SetIdleDeactivation(ctx context.Context, days int, now time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE settings SET idle_deactivation_days = ?, updated_at = ? WHERE id = 1`, days, unix(now)); err != nil {
		return fmt.Errorf("store: set idle deactivation: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE idle_job SET next_run_at = 0 WHERE id = 1`); err != nil {
		return fmt.Errorf("store: set idle deactivation: %w", err)
	}
	return nil
}
