package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopWaitsForJobs(t *testing.T) {
	r := New(context.Background(), nil)
	started := make(chan struct{})
	var finished atomic.Bool
	r.Go("wait", func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		finished.Store(true)
	})
	<-started
	if err := r.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !finished.Load() {
		t.Fatal("Stop returned before the job did")
	}
	if r.Go("late", func(context.Context) { t.Error("a job ran after Stop") }) {
		t.Fatal("Go after Stop reported true")
	}
}

func TestStopGivesUpAtItsDeadline(t *testing.T) {
	r := New(context.Background(), nil)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	r.Go("stuck", func(context.Context) { close(started); <-release })
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop = %v, want context.Canceled", err)
	}
}

func TestPanicIsContained(t *testing.T) {
	r := New(context.Background(), nil)
	r.Go("panics", func(context.Context) { panic("boom") })
	r.Wait()
	ran := make(chan struct{})
	r.Go("after", func(context.Context) { close(ran) })
	<-ran
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEveryRunsAtOnceAndStops(t *testing.T) {
	r := New(context.Background(), nil)
	ran := make(chan struct{}, 1)
	r.Every("tick", time.Hour, func(context.Context) {
		select {
		case ran <- struct{}{}:
		default:
		}
	})
	<-ran // the first run does not wait for the interval
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
