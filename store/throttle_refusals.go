package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Refusals is the count of requests one throttle rule refused for one key in one fixed window.
type Refusals struct {
	Rule        string
	Key         string
	WindowStart time.Time
	WindowEnd   time.Time
	Count       int
	FirstAt     time.Time
	LastAt      time.Time
}

// CountRefusal adds one refusal to the row of (rule, key, windowStart), making it when it is the
// window's first, and returns the count with this one: 1 means this refusal is the window's
// first. One statement, so concurrent refusals each get their own count.
func (q q) CountRefusal(ctx context.Context, rule, key string, windowStart, windowEnd, now time.Time) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO throttle_refusals (rule, key, window_start, window_end, count, first_at, last_at)
		VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)
		ON CONFLICT (rule, key, window_start) DO UPDATE SET count = throttle_refusals.count + 1, last_at = ?5
		RETURNING throttle_refusals.count`,
		rule, key, unix(windowStart), unix(windowEnd), unix(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count refusal: %w", err)
	}
	return n, nil
}

// TakeClosedRefusals deletes and returns the counts of every window that ended at or before now,
// oldest first. Call it in the transaction that logs them.
func (q q) TakeClosedRefusals(ctx context.Context, now time.Time) ([]Refusals, error) {
	rows, err := q.db.QueryContext(ctx, `
		DELETE FROM throttle_refusals WHERE window_end <= ?
		RETURNING rule, key, window_start, window_end, count, first_at, last_at`, unix(now))
	if err != nil {
		return nil, fmt.Errorf("store: closed refusals: %w", err)
	}
	defer rows.Close()
	var out []Refusals
	for rows.Next() {
		var r Refusals
		var start, end, first, last int64
		if err := rows.Scan(&r.Rule, &r.Key, &start, &end, &r.Count, &first, &last); err != nil {
			return nil, fmt.Errorf("store: closed refusals: %w", err)
		}
		r.WindowStart, r.WindowEnd, r.FirstAt, r.LastAt = fromUnix(start), fromUnix(end), fromUnix(first), fromUnix(last)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: closed refusals: %w", err)
	}
	// RETURNING gives no order: sort here, so the summaries are logged in time order.
	slices.SortFunc(out, func(a, b Refusals) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Key, b.Key))
	})
	return out, nil
}
