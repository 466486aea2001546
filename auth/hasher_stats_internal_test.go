package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Stats reports the workers, the hashes running, the callers queued and every caller refused
// with ErrBusy: a full queue, and a wait that ran out.
func TestHasherStats(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1, time.Hour)
	enc, _ := HashPassword("pw", testParams)
	if got, want := h.Stats(), (HasherStats{Workers: 1}); got != want {
		t.Fatalf("idle pool: %+v, want %+v", got, want)
	}
	release := hold(h)
	queued := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(context.Background(), enc, "pw")
		queued <- err
	}()
	waitQueued(t, h, 2)
	if _, _, err := h.Verify(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with the queue full: %v, want ErrBusy", err)
	}
	if got, want := h.Stats(), (HasherStats{Workers: 1, Running: 1, Queued: 1, Busy: 1}); got != want {
		t.Errorf("one running, one queued, one refused: %+v, want %+v", got, want)
	}
	release()
	if err := <-queued; err != nil {
		t.Fatalf("the queued Verify: %v", err)
	}

	// A caller whose wait runs out is refused too.
	h = newTestHasher(t, testParams, 1, 1, time.Millisecond)
	defer hold(h)()
	if _, _, err := h.Verify(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify past maxWait: %v, want ErrBusy", err)
	}
	if got, want := h.Stats(), (HasherStats{Workers: 1, Running: 1, Busy: 1}); got != want {
		t.Errorf("after a wait ran out: %+v, want %+v", got, want)
	}
}
