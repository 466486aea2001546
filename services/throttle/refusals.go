package throttle

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/weftid/weftid/store"
)

// Refused records one request the check refused, so a flood of refused requests leaves O(1)
// events, not one each, and the log still says exactly how many there were. Refusals are counted
// per rule and key in fixed windows as long as the rule's (aligned to the Unix epoch: a 15-minute
// rule counts from :00, :15, :30, :45): the window's first refusal is logged at once as first (the
// event the caller would have written for it, such as login_failed with reason "throttled"),
// the later ones only add to the count, and Summarize logs one login_throttled event with that
// count once the window has closed. The count and the event are one write transaction, so
// concurrent refusals are each counted once. Call it with the check LimitedBy or
// Reservation.Hit named.
func (l *Limiter) Refused(ctx context.Context, c Check, first store.Event) error {
	l.metrics.Refused(table[c.Rule].name)
	now := l.now()
	window := table[c.Rule].window
	start := now.Truncate(window)
	return l.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.CountRefusal(ctx, table[c.Rule].name, c.Key, start, start.Add(window), now)
		if err != nil || n > 1 {
			return err
		}
		return tx.AddEvent(ctx, first)
	})
}

// Refuse reports whether any of the checks has reached its limit and, when one has, records the
// refusal with Refused (first is the event its window's first refusal writes). It is the guard
// before a guess or a request that a limit may refuse.
func (l *Limiter) Refuse(ctx context.Context, first store.Event, checks ...Check) (bool, error) {
	hit, limited, err := l.LimitedBy(ctx, checks...)
	if err != nil || !limited {
		return false, err
	}
	return true, l.Refused(ctx, hit, first)
}

// Summarize logs one login_throttled event for each rule, key and window that closed at or before
// now with more refusals than its first (which Refused logged on its own), and forgets the
// counts of every closed window, in one transaction. Its details: count (the refusals after the
// first, so every refusal is in the log exactly once: as its own event or in a count), the
// window (its length, from and until), the rule and the key's kind ("ip", "account" or "user"):
// the address in the event's IP, the e-mail address in details, or the user as its subject. It
// reports how many events it wrote. The jobs runner calls it every minute.
func Summarize(ctx context.Context, st *store.Store, now time.Time) (int, error) {
	written := 0
	err := st.InTx(ctx, func(tx *store.Tx) error {
		written = 0
		closed, err := tx.TakeClosedRefusals(ctx, now)
		if err != nil {
			return err
		}
		for _, r := range closed {
			if r.Count < 2 {
				continue
			}
			if err := tx.AddEvent(ctx, summary(r, now)); err != nil {
				return err
			}
			written++
		}
		return nil
	})
	return written, err
}

// summary is the login_throttled event of one closed window.
func summary(r store.Refusals, now time.Time) store.Event {
	ev := store.Event{At: now, Type: store.EventLoginThrottled, Details: map[string]any{
		"count":  r.Count - 1,
		"window": r.WindowEnd.Sub(r.WindowStart).String(),
		"from":   r.WindowStart.Format(time.RFC3339),
		"until":  r.WindowEnd.Format(time.RFC3339),
		"first":  r.FirstAt.Format(time.RFC3339),
		"last":   r.LastAt.Format(time.RFC3339),
		"rule":   r.Rule,
	}}
	kind, value, _ := strings.Cut(r.Key, ":")
	switch kind {
	case "ip":
		ev.IP = value
		ev.Details["key"] = "ip"
	case "email":
		ev.Details["key"] = "account"
		ev.Details["email"] = value
	case "user":
		ev.Details["key"] = "user"
		if id, err := strconv.ParseInt(value, 10, 64); err == nil {
			ev.UserID = &id
		}
	default:
		ev.Details["key"] = kind
	}
	return ev
}
