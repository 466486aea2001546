package jobs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store/storetest"
)

// clock is a settable time for leases.
type clock struct{ unix atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(c.unix.Load(), 0) }
func (c *clock) advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

func newClock() *clock {
	c := &clock{}
	c.unix.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix())
	return c
}

// Of two instances, the one holding the lease runs the job; the other does not while it holds
// it, learns until when, and runs it once it is released.
func TestLeaseOneHolderAtATime(t *testing.T) {
	st := storetest.Open(t)
	c := newClock()
	a := jobs.Lease{Store: st, Name: "job", Holder: "a", Now: c.now}
	b := jobs.Lease{Store: st, Name: "job", Holder: "b", Now: c.now}
	ctx := context.Background()
	ran := ""
	held, _, err := a.Hold(ctx, time.Time{}, func(ctx context.Context) error {
		ran += "a"
		heldB, until, err := b.Hold(ctx, time.Time{}, func(context.Context) error { ran += "b"; return nil })
		if err != nil || heldB || !until.Equal(c.now().Add(jobs.LeaseTTL)) {
			t.Errorf("b while a holds it: held %v, until %v, %v; want not held until %v", heldB, until, err, c.now().Add(jobs.LeaseTTL))
		}
		return nil
	})
	if err != nil || !held || ran != "a" {
		t.Fatalf("a: held %v, %v, ran %q; want held and only a ran", held, err, ran)
	}
	if held, _, err := b.Hold(ctx, time.Time{}, func(context.Context) error { ran += "b"; return nil }); err != nil || !held || ran != "ab" {
		t.Errorf("b after a released it: held %v, %v, ran %q; want held, ab", held, err, ran)
	}
}

// A holder that dies keeps the lease until it expires; then another instance takes it over.
// fn's error comes back from Hold.
func TestLeaseTakenOverWhenItExpires(t *testing.T) {
	st := storetest.Open(t)
	c := newClock()
	ctx := context.Background()
	// a took the lease and died without releasing it.
	if held, _, err := st.TakeLease(ctx, "job", "a", c.now(), c.now().Add(jobs.LeaseTTL)); err != nil || !held {
		t.Fatalf("a: %v %v", held, err)
	}
	b := jobs.Lease{Store: st, Name: "job", Holder: "b", Now: c.now}
	boom := errors.New("boom")
	run := func(context.Context) error { return boom }
	c.advance(jobs.LeaseTTL - time.Second)
	if held, _, err := b.Hold(ctx, time.Time{}, run); held || err != nil {
		t.Fatalf("b a second before a's lease ends: held %v, %v; want not held", held, err)
	}
	c.advance(time.Second)
	if held, _, err := b.Hold(ctx, time.Time{}, run); !held || !errors.Is(err, boom) {
		t.Fatalf("b when a's lease ended: held %v, %v; want held and fn's error", held, err)
	}
}

// While the job runs its lease is renewed, so no other instance takes it even long after the
// first TTL; when it cannot be renewed (another instance has it), the job's context ends.
func TestLeaseRenewedWhileRunningAndLostStopsTheJob(t *testing.T) {
	db := storetest.DB(t)
	st := storetest.OpenAt(t, db)
	raw := storetest.RawDB(t, db)
	ctx := context.Background()
	ttl := 3 * time.Second // leases are kept in whole seconds
	a := jobs.Lease{Store: st, Name: "job", Holder: "a", TTL: ttl}
	stolen := make(chan struct{})
	held, _, err := a.Hold(ctx, time.Time{}, func(ctx context.Context) error {
		defer close(stolen)
		// For two TTLs, another instance tries ten times a TTL and never gets it.
		tries := time.NewTicker(ttl / 10)
		defer tries.Stop()
		for deadline := time.Now().Add(2 * ttl); time.Now().Before(deadline); <-tries.C {
			if got, _, err := st.TakeLease(ctx, "job", "b", time.Now(), time.Now().Add(ttl)); err != nil || got {
				t.Errorf("b took a renewed lease: %v %v", got, err)
				return nil
			}
		}
		// Now b has it (as if a had been paused past its expiry): a's next renewal finds out.
		if _, err := raw.Exec(`UPDATE job_leases SET holder = 'b', expires_at = ? WHERE name = 'job'`, time.Now().Add(time.Hour).Unix()); err != nil {
			t.Error(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * ttl):
			t.Error("the job's context did not end when its lease was lost")
			return nil
		}
	})
	if err != nil || !held {
		t.Fatalf("a: held %v, %v", held, err)
	}
	<-stolen
	// a's release did not free b's lease.
	if got, _, err := st.TakeLease(ctx, "job", "c", time.Now(), time.Now().Add(ttl)); err != nil || got {
		t.Errorf("c took the lease b holds after a finished: %v %v", got, err)
	}
}

// A periodic job's lease is kept after a run until its next period: another instance does not
// run it in between, the one that ran it does.
func TestLeaseKeptUntilTheNextPeriod(t *testing.T) {
	st := storetest.Open(t)
	c := newClock()
	ctx := context.Background()
	a := jobs.Lease{Store: st, Name: "minutely", Holder: "a", Now: c.now}
	b := jobs.Lease{Store: st, Name: "minutely", Holder: "b", Now: c.now}
	runs := ""
	run := func(name string) func(context.Context) error {
		return func(context.Context) error { runs += name; return nil }
	}
	a.Hold(ctx, c.now().Add(time.Minute), run("a"))
	c.advance(59 * time.Second)
	b.Hold(ctx, c.now().Add(time.Minute), run("b"))
	a.Hold(ctx, c.now().Add(time.Minute), run("a"))
	c.advance(61 * time.Second)
	b.Hold(ctx, c.now().Add(time.Minute), run("b"))
	if runs != "aab" {
		t.Errorf("runs %q, want aab: a, not b within a's period, a again, b once a's period passed", runs)
	}
}
