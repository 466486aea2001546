// Package jobs owns weftid's background work: goroutines that must not outlive the store. A
// Runner holds a base context that main cancels at shutdown and then waits on, so no mail is
// still sending and no job still writing when the database closes.
package jobs

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Runner starts background work under one base context and waits for all of it at Stop.
type Runner struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// New returns a Runner whose work runs under a context derived from parent.
func New(parent context.Context, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(parent)
	return &Runner{ctx: ctx, cancel: cancel, log: log}
}

// Context is the base context: done once Stop is called (or the parent is done).
func (r *Runner) Context() context.Context { return r.ctx }

// Go runs fn in a goroutine with the base context. After Stop it runs nothing and reports
// false. A panic in fn is logged, not fatal: one failed mail must not take the server down.
func (r *Runner) Go(name string, fn func(ctx context.Context)) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("background job panicked", "job", name, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		fn(r.ctx)
	}()
	return true
}

// Every runs fn at once and then every interval until the base context is done.
func (r *Runner) Every(name string, interval time.Duration, fn func(ctx context.Context)) bool {
	return r.Go(name, func(ctx context.Context) {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// Stop cancels the base context and waits for every job to return, or for ctx to end first
// (then it reports ctx's error and the jobs still running are abandoned).
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait blocks until every job started so far has returned, without cancelling them. Tests use
// it to know that background work (a reset mail) is finished before they look at its result.
func (r *Runner) Wait() { r.wg.Wait() }
