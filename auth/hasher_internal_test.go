package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// These tests hold the pool's workers by taking them exactly as a running verify does, so that
// "the worker is busy" lasts as long as the test wants and no test depends on how long argon2id
// takes.

var testParams = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t *testing.T, p Argon2Params, workers, queue int, maxWait time.Duration) *Hasher {
	t.Helper()
	h, err := NewHasher(p, workers, queue, maxWait)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

// hold occupies one worker as a running hash does and returns what frees it.
func hold(h *Hasher) (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.running == h.workers {
		panic("hold: every worker is taken already")
	}
	h.running++
	return h.release
}

// waitQueued spins until n callers are in the pool (running or queued).
func waitQueued(t *testing.T, h *Hasher, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a hang guard only, not a timing assertion
	for h.callers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("pool holds %d callers, want %d", h.callers(), n)
		}
		runtime.Gosched()
	}
}

type verifyResult struct {
	ok, rehash bool
	err        error
}

func TestHasherBusyWhenQueueFull(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 0, time.Hour)
	enc, _ := HashPassword("pw", testParams)
	release := hold(h)

	ok, rehash, err := h.Verify(context.Background(), enc, "pw")
	if ok || rehash || !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with the only worker busy and no queue = %v, %v, %v; want false, false, ErrBusy", ok, rehash, err)
	}
	if got, err := h.Hash(context.Background(), "pw"); got != "" || !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with the only worker busy and no queue = %q, %v; want \"\", ErrBusy", got, err)
	}
	if got := h.callers(); got != 1 {
		t.Errorf("after refusals the pool holds %d callers, want 1 (refused callers leave no trace)", got)
	}

	release()
	if ok, _, err := h.Verify(context.Background(), enc, "pw"); !ok || err != nil {
		t.Errorf("Verify once the worker is free = %v, %v; want true, nil", ok, err)
	}
}

func TestHasherQueuedCallerRunsWhenWorkerFrees(t *testing.T) {
	h := newTestHasher(t, testParams, 1, 1, time.Hour)
	enc, _ := HashPassword("pw", testParams)
	release := hold(h)

	done := make(chan verifyResult, 1)
	go func() {
		ok, rehash, err := h.Verify(context.Background(), enc, "pw")
		done <- verifyResult{ok, rehash, err}
	}()
	waitQueued(t, h, 2)

	// The queue (1) is full now: a third caller is refused at once.
	if _, _, err := h.Verify(context.Background(), enc, "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Verify with worker busy and queue full: err = %v, want ErrBusy", err)
	}
	select {
	case r := <-done:
		t.Fatalf("queued Verify returned %+v while the worker was held", r)
	default:
	}

	release()
	if r := <-done; !r.ok || r.err != nil {
		t.Errorf("queued Verify = %+v, want ok and no error", r)
	}
	if got := h.callers(); got != 0 {
		t.Errorf("pool holds %d callers after all returned, want 0", got)
	}
}

func TestHasherMaxWait(t *testing.T) {
	// The worker is never freed, so the waiter's timer must fire: no race with a real hash.
	h := newTestHasher(t, testParams, 1, 1, time.Millisecond)
	enc, _ := HashPassword("pw", testParams)
	defer hold(h)()

	ok, rehash, err := h.Verify(context.Background(), enc, "pw")
	if ok || rehash || !errors.Is(err, ErrBusy) {
		t.Errorf("Verify that waited past maxWait = %v, %v, %v; want false, false, ErrBusy", ok, rehash, err)
	}
	if got := h.callers(); got != 1 {
		t.Errorf("after the waiter gave up the pool holds %d callers, want 1 (its queue place is given back)", got)
	}
}

func TestHasherContextDone(t *testing.T) {
	past, cancelPast := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelPast()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"canceled", canceled, context.Canceled},
		{"deadline exceeded", past, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHasher(t, testParams, 1, 1, time.Hour)
			enc, _ := HashPassword("pw", testParams)
			defer hold(h)()
			ok, rehash, err := h.Verify(tt.ctx, enc, "pw")
			if ok || rehash || !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, %v, %v; want false, false, %v", ok, rehash, err, tt.want)
			}
			if got, err := h.Hash(tt.ctx, "pw"); got != "" || !errors.Is(err, tt.want) {
				t.Errorf("Hash = %q, %v; want \"\", %v", got, err, tt.want)
			}
			if got := h.callers(); got != 1 {
				t.Errorf("after the callers gave up the pool holds %d callers, want 1", got)
			}
		})
	}
}

// TestHasherUnknownAccountGoesThroughPool: a verify against an empty stored hash (no such
// account) waits for a worker like any other verify.
func TestHasherUnknownAccountGoesThroughPool(t *testing.T) {
	for _, encoded := range []string{"", "not a hash"} {
		t.Run(encoded, func(t *testing.T) {
			h := newTestHasher(t, testParams, 1, 1, time.Hour)
			release := hold(h)
			done := make(chan verifyResult, 1)
			go func() {
				ok, rehash, err := h.Verify(context.Background(), encoded, "pw")
				done <- verifyResult{ok, rehash, err}
			}()
			waitQueued(t, h, 2)
			select {
			case r := <-done:
				t.Fatalf("Verify(%q) returned %+v without a worker", encoded, r)
			default:
			}
			release()
			if r := <-done; r.ok || r.rehash || r.err != nil {
				t.Errorf("Verify(%q) = %+v, want false, false, nil", encoded, r)
			}
		})
	}
}

// TestHasherUnknownAccountDoesRealWork counts the memory argon2id allocates (Memory KiB per
// hash): a verify against no account must run a full hash with the pool's parameters, as a
// verify against a real account does.
func TestHasherUnknownAccountDoesRealWork(t *testing.T) {
	for _, p := range []Argon2Params{
		{Memory: 8 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		DefaultArgon2, // uses the built-in dummy hash
	} {
		t.Run(fmt.Sprintf("m=%d", p.Memory), func(t *testing.T) {
			h := newTestHasher(t, p, 1, 0, time.Hour)
			enc, _ := HashPassword("pw", p)
			allocated := func(encoded string) uint64 {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				if _, _, err := h.Verify(context.Background(), encoded, "pw"); err != nil {
					t.Fatalf("Verify(%q): %v", encoded, err)
				}
				runtime.ReadMemStats(&after)
				return after.TotalAlloc - before.TotalAlloc
			}
			known := allocated(enc)
			for _, encoded := range []string{"", "garbage"} {
				unknown := allocated(encoded)
				min := uint64(p.Memory) * 1024
				if unknown < min || unknown < known/2 || unknown > known*2 {
					t.Errorf("Verify(%q) allocated %d bytes; want at least %d and within 2x of a real verify (%d)", encoded, unknown, min, known)
				}
			}
		})
	}
}

// TestHasherDummyMatchesParams: the dummy hash that unknown accounts are checked against is made
// with the pool's own parameters, so that they cost exactly what a known account costs.
func TestHasherDummyMatchesParams(t *testing.T) {
	for _, p := range []Argon2Params{DefaultArgon2, testParams, {Memory: 128, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}} {
		h := newTestHasher(t, p, 1, 0, time.Hour)
		got, _, _, err := decodeHash(h.dummy)
		if err != nil || got != p {
			t.Errorf("NewHasher(%+v): dummy hash %q has params %+v (err %v), want %+v", p, h.dummy, got, err, p)
		}
	}
	// The built-in dummy for DefaultArgon2 is a real hash that no usual guess matches.
	for _, pw := range []string{"", "password", "weftid dummy password for unknown accounts"} {
		if ok, err := VerifyPassword(defaultDummyHash, pw); ok || err != nil {
			t.Errorf("VerifyPassword(defaultDummyHash, %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

func TestHasherWorkersAtLeastOne(t *testing.T) {
	h := newTestHasher(t, testParams, 0, 0, time.Hour)
	if h.workers != 1 {
		t.Errorf("NewHasher(workers=0) has %d workers, want 1", h.workers)
	}
	if _, _, err := h.Verify(context.Background(), "", "pw"); err != nil {
		t.Errorf("Verify on a 0-worker pool: %v, want it to run on 1 worker", err)
	}
}

// TestDecodeHashMemoryBound: the decoder exists to refuse a tampered row "rather than allocate
// gigabytes", and the Hasher promises at most Workers x Memory of RAM. A stored hash asking for
// 1 GiB or more must be refused before argon2 allocates it (checked on the decoder, so a
// failure does not allocate anything).
func TestDecodeHashMemoryBound(t *testing.T) {
	const salt, key = "c29tZXNhbHQ", "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []struct {
		memory uint32
		ok     bool
	}{
		{19 * 1024, true},
		{64 * 1024, true},
		{256 * 1024, true},
		{1024 * 1024, false},
		{4 * 1024 * 1024, false},
	}
	for _, tt := range tests {
		enc := "$argon2id$v=19$m=" + strconv.FormatUint(uint64(tt.memory), 10) + ",t=2,p=1$" + salt + "$" + key
		_, _, _, err := decodeHash(enc)
		if (err == nil) != tt.ok {
			want := "nil"
			if !tt.ok {
				want = "ErrBadHash"
			}
			t.Errorf("decodeHash(m=%d KiB) err = %v, want %s", tt.memory, err, want)
		}
	}
}
