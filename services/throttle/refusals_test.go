package throttle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// testClock is a clock the test moves; Refused may read it from many goroutines.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func eventsOf(t *testing.T, st *store.Store, typ store.EventType) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: typ, Limit: store.MaxEventPage})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func refusedEvent(ip string) store.Event {
	return store.Origin{IP: ip}.Event(time.Now(), store.EventLoginFailed, nil, nil, map[string]any{"reason": "throttled"})
}

// n refusals from one IP, concurrently, in one window: exactly one login_failed at once, then
// after the window one login_throttled whose count is the other n-1. Nothing is left behind.
func TestRefusedLogsFirstAndOneExactSummary(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 3, 1, 12, 1, 0, 0, time.UTC)}
	l, st := newLimiter(t, clk.Now)
	ctx := context.Background()
	check := throttle.PasswordPerIP.For(throttle.IPKey("192.0.2.1"))
	const n = 120
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := l.Refused(ctx, check, refusedEvent("192.0.2.1")); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if got := len(eventsOf(t, st, store.EventLoginFailed)); got != 1 {
		t.Fatalf("%d login_failed events for %d refusals, want 1", got, n)
	}
	// Another key has its own window and first event.
	other := throttle.PasswordPerAccount.For(throttle.EmailKey("ann@example.com"))
	if err := l.Refused(ctx, other, refusedEvent("192.0.2.2")); err != nil {
		t.Fatal(err)
	}

	// Before the window (12:00-12:15) closes, no summary; at its end, one.
	if w, err := throttle.Summarize(ctx, st, time.Date(2026, 3, 1, 12, 14, 59, 0, time.UTC)); err != nil || w != 0 {
		t.Fatalf("Summarize inside the window wrote %d events (err %v), want 0", w, err)
	}
	if w, err := throttle.Summarize(ctx, st, time.Date(2026, 3, 1, 12, 15, 0, 0, time.UTC)); err != nil || w != 1 {
		t.Fatalf("Summarize at the window's end wrote %d events (err %v), want 1", w, err)
	}
	sums := eventsOf(t, st, store.EventLoginThrottled)
	if len(sums) != 1 {
		t.Fatalf("%d login_throttled events, want 1", len(sums))
	}
	ev := sums[0]
	if ev.Details["count"] != float64(n-1) || ev.Details["window"] != "15m0s" || ev.Details["key"] != "ip" ||
		ev.Details["rule"] != "password_per_ip" || ev.IP != "192.0.2.1" || ev.Details["from"] != "2026-03-01T12:00:00Z" || ev.Details["until"] != "2026-03-01T12:15:00Z" {
		t.Errorf("summary = IP %q, details %v; want count %d of password_per_ip for 192.0.2.1 in 12:00-12:15", ev.IP, ev.Details, n-1)
	}
	// The single refusal of the account needed no summary; both windows are forgotten.
	if w, err := throttle.Summarize(ctx, st, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)); err != nil || w != 0 {
		t.Errorf("a second Summarize wrote %d events (err %v), want 0", w, err)
	}

	// The next window starts afresh: its first refusal is logged again.
	clk.Advance(15 * time.Minute)
	if err := l.Refused(ctx, check, refusedEvent("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	if got := len(eventsOf(t, st, store.EventLoginFailed)); got != 3 {
		t.Errorf("%d login_failed events, want 3 (one per key and window)", got)
	}
}

// An account's and a user's key are named in the summary as such, never with a password.
func TestSummaryNamesTheKey(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	l, st := newLimiter(t, clk.Now)
	ctx := context.Background()
	for range 3 {
		for _, c := range []throttle.Check{
			throttle.PasswordPerAccount.For(throttle.EmailKey("ann@example.com")),
			throttle.CodePerUser.For(throttle.UserKey(7)),
		} {
			if err := l.Refused(ctx, c, refusedEvent("192.0.2.1")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if w, err := throttle.Summarize(ctx, st, clk.Now().Add(time.Hour)); err != nil || w != 2 {
		t.Fatalf("Summarize wrote %d (err %v), want 2", w, err)
	}
	for _, ev := range eventsOf(t, st, store.EventLoginThrottled) {
		switch ev.Details["rule"] {
		case "password_per_account":
			if ev.Details["key"] != "account" || ev.Details["email"] != "ann@example.com" || ev.Details["count"] != float64(2) {
				t.Errorf("account summary %v", ev.Details)
			}
		case "code_per_user":
			if ev.Details["key"] != "user" || ev.UserID == nil || *ev.UserID != 7 || ev.Details["count"] != float64(2) {
				t.Errorf("user summary %v, user %v", ev.Details, ev.UserID)
			}
		default:
			t.Errorf("unexpected summary %v", ev.Details)
		}
	}
}
