package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

// lines is how many trusted and other callers wait, read under the pool's lock.
func lines(h *Hasher) (trusted, others int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.trusted), len(h.others)
}

// verifyAsync starts a verify of "pw" against enc and returns where its result arrives.
func verifyAsync(h *Hasher, trusted bool, enc string) <-chan verifyResult {
	done := make(chan verifyResult, 1)
	go func() {
		ok, rehash, err := h.verify(context.Background(), trusted, enc, "pw")
		done <- verifyResult{ok, rehash, err}
	}()
	return done
}

func TestHasherReserveSize(t *testing.T) {
	for _, tt := range []struct{ queue, want int }{{0, 1}, {1, 1}, {4, 1}, {8, 2}, {64, 16}, {-3, 1}} {
		h := newTestHasher(t, testParams, 1, tt.queue, time.Hour)
		if h.reserve != tt.want {
			t.Errorf("NewHasher(queue=%d) reserves %d places for trusted callers, want %d (a quarter, at least 1)", tt.queue, h.reserve, tt.want)
		}
	}
}

// TestHasherTrustedThroughFlood: with every worker busy and the queue full of strangers, a
// stranger is refused, a trusted caller still waits in its reserved place, and the worker that
// frees goes to it before any of the strangers who waited longer.
func TestHasherTrustedThroughFlood(t *testing.T) {
	const queue = 4
	h := newTestHasher(t, testParams, 1, queue, time.Hour)
	enc, _ := HashPassword("pw", testParams)
	release := hold(h)

	var flood []<-chan verifyResult
	for range queue {
		flood = append(flood, verifyAsync(h, false, enc))
	}
	waitQueued(t, h, 1+queue)
	if _, _, err := h.Verify(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("untrusted Verify with the queue full: err = %v, want ErrBusy", err)
	}

	trusted := verifyAsync(h, true, enc)
	waitQueued(t, h, 2+queue)
	if got, others := lines(h); got != 1 || others != queue {
		t.Fatalf("waiting: %d trusted and %d others, want 1 and %d", got, others, queue)
	}
	// Its one reserved place is taken: a second trusted caller is refused too.
	if _, _, err := h.VerifyTrusted(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("a second trusted Verify with queue and reserve full: err = %v, want ErrBusy", err)
	}

	release()
	// The worker went to the trusted caller: every stranger still waits.
	if got, others := lines(h); got != 0 || others != queue {
		t.Errorf("after a worker freed: %d trusted and %d others wait, want 0 and %d (the trusted caller served first)", got, others, queue)
	}
	if r := <-trusted; !r.ok || r.err != nil {
		t.Errorf("trusted Verify = %+v, want ok and no error", r)
	}
	for i, done := range flood {
		if r := <-done; !r.ok || r.err != nil {
			t.Errorf("queued stranger %d = %+v, want ok once the workers freed", i, r)
		}
	}
	if n := h.callers(); n != 0 {
		t.Errorf("pool holds %d callers after all returned, want 0", n)
	}
}

// TestHasherTrustedTakesReserveFirst: a trusted caller waits in a reserved place before it takes
// one from the shared queue, so a few trusted waiters do not shrink the strangers' queue.
func TestHasherTrustedTakesReserveFirst(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1, time.Hour)
	enc, _ := HashPassword("pw", testParams)
	release := hold(h)

	trusted := verifyAsync(h, true, enc)
	waitQueued(t, h, 2)
	stranger := verifyAsync(h, false, enc)
	waitQueued(t, h, 3)
	if _, _, err := h.Verify(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("untrusted Verify with the shared queue full: err = %v, want ErrBusy", err)
	}
	if _, _, err := h.VerifyTrusted(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("trusted Verify with every place taken: err = %v, want ErrBusy", err)
	}
	release()
	for _, done := range []<-chan verifyResult{trusted, stranger} {
		if r := <-done; !r.ok || r.err != nil {
			t.Errorf("queued Verify = %+v, want ok", r)
		}
	}
}

// TestHasherTrustedGivesUp: a trusted waiter whose context ends or whose wait runs out leaves its
// reserved place free again.
func TestHasherTrustedGivesUp(t *testing.T) {
	enc, _ := HashPassword("pw", testParams)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	h := newTestHasher(t, testParams, 1, 0, time.Hour)
	defer hold(h)()
	if _, _, err := h.VerifyTrusted(canceled, enc, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("trusted Verify with a canceled context: err = %v, want context.Canceled", err)
	}
	if got, _ := lines(h); got != 0 {
		t.Errorf("%d trusted callers wait after the only one gave up, want 0", got)
	}

	h = newTestHasher(t, testParams, 1, 0, time.Millisecond)
	defer hold(h)()
	if _, _, err := h.VerifyTrusted(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("trusted Verify past maxWait: err = %v, want ErrBusy", err)
	}
	if n := h.callers(); n != 1 {
		t.Errorf("pool holds %d callers after the trusted waiter gave up, want 1 (the holder)", n)
	}
}
