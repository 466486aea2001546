package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// LeaseTTL is how long a lease lasts unless renewed: its holder renews it every third of that
// while the job runs, and stops the job when it could not for two thirds of it, so another
// instance takes over about LeaseTTL after the holder died, and never while it still works.
const LeaseTTL = 15 * time.Second

// Leaser is the database side of leases (the store).
type Leaser interface {
	TakeLease(ctx context.Context, name, holder string, now, until time.Time) (held bool, busyUntil time.Time, err error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// NewHolder names this process among the instances sharing a database: host, process id and a
// random part (a restarted process is a new holder).
func NewHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Lease is one job's turn, held through a row of the database, so that a job runs on one
// instance at a time when several share the database (on one SQLite file there is one
// instance, and the lease is always its own).
type Lease struct {
	Store  Leaser
	Name   string           // the job
	Holder string           // this instance (NewHolder)
	TTL    time.Duration    // default LeaseTTL
	Now    func() time.Time // default time.Now
}

// Hold runs fn while holding the lease. When another instance holds it, fn does not run: held
// is false and busyUntil is when that lease ends unless renewed. Otherwise the lease is renewed
// every TTL/3 while fn runs, and fn's context is cancelled when the lease could not be renewed
// for 2/3 of TTL or was found taken. Afterwards the lease is released, or, when keepUntil is
// not zero, kept until then (so a periodic job runs once per period across instances, on the
// instance that ran it last for as long as it lives). fn's error is returned.
func (l Lease) Hold(ctx context.Context, keepUntil time.Time, fn func(ctx context.Context) error) (held bool, busyUntil time.Time, err error) {
	ttl, now := l.TTL, l.Now
	if ttl <= 0 {
		ttl = LeaseTTL
	}
	if now == nil {
		now = time.Now
	}
	held, busyUntil, err = l.Store.TakeLease(ctx, l.Name, l.Holder, now(), now().Add(ttl))
	if err != nil || !held {
		return false, busyUntil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	renewed := make(chan struct{})
	go func() { // the renewals, for as long as fn runs
		defer close(renewed)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ok, _, err := l.Store.TakeLease(runCtx, l.Name, l.Holder, now(), now().Add(ttl))
			if err == nil && ok {
				last = time.Now()
				continue
			}
			if (err == nil && !ok) || time.Since(last) >= 2*ttl/3 {
				cancel() // another instance may take it over now: stop before it does
				return
			}
		}
	}()
	err = fn(runCtx)
	close(done)
	<-renewed
	cancel()
	after := context.WithoutCancel(ctx)
	if keepUntil.IsZero() {
		if rerr := l.Store.ReleaseLease(after, l.Name, l.Holder); rerr != nil && err == nil {
			err = rerr
		}
	} else if _, _, kerr := l.Store.TakeLease(after, l.Name, l.Holder, now(), keepUntil); kerr != nil && err == nil {
		err = kerr
	}
	return true, time.Time{}, err
}

// EveryOnce is Every for a job that must run once per interval across the instances sharing a
// database: at each of this instance's ticks it runs fn only if it can hold lease (Hold), and
// keeps the lease until the next period after a run, so the instance that ran it last runs it
// next, and another takes over when that one stops.
func (r *Runner) EveryOnce(lease Lease, interval time.Duration, fn func(ctx context.Context)) bool {
	return r.Every(lease.Name, interval, func(ctx context.Context) {
		start := time.Now()
		if lease.Now != nil {
			start = lease.Now()
		}
		_, _, err := lease.Hold(ctx, start.Add(interval), func(ctx context.Context) error {
			fn(ctx)
			return nil
		})
		if err != nil && ctx.Err() == nil {
			r.log.Warn("scheduled job: lease", "job", lease.Name, "err", err)
		}
	})
}
