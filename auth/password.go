// Package auth holds weftid's rules with no HTTP and no SQL: sign-in steps, password hashing and
// rules, one-time codes, keyed hashes and throttle limits.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters. Memory is in KiB.
type Argon2Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultArgon2 is OWASP's first recommended argon2id setting: 19 MiB, 2 passes, 1 lane.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

var b64 = base64.RawStdEncoding

// HashPassword hashes a password with argon2id and returns it in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string, p Argon2Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrBadHash is returned for a stored hash that is not an argon2id PHC string we can read.
var ErrBadHash = errors.New("auth: unreadable password hash")

// maxMemory (KiB) is the most a stored hash may ask argon2id for: 256 MiB, over ten times OWASP's
// strongest setting, so that a tampered row cannot make each worker allocate gigabytes.
const maxMemory = 256 * 1024

// decodeHash parses a PHC argon2id string.
func decodeHash(encoded string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, ErrBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) {
		return p, nil, nil, ErrBadHash
	}
	// Refuse absurd parameters from a tampered row rather than allocate gigabytes.
	if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > 100 || p.Threads < 1 || p.Threads > 16 {
		return p, nil, nil, ErrBadHash
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, ErrBadHash
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, ErrBadHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the PHC string, in constant time.
func VerifyPassword(encoded, password string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether a stored hash was made with weaker parameters than p (or is
// unreadable), so it should be replaced at the next successful sign-in.
func NeedsRehash(encoded string, p Argon2Params) bool {
	old, _, _, err := decodeHash(encoded)
	if err != nil {
		return true
	}
	return old.Memory < p.Memory || old.Time < p.Time || old.Threads < p.Threads || old.KeyLen < p.KeyLen || old.SaltLen < p.SaltLen
}

// defaultDummyHash is an argon2id hash, with DefaultArgon2, of a random password nobody knows.
// Unknown accounts are verified against it so that they cost the same as known ones; keeping it
// as a constant spares every start a 19 MiB hash.
const defaultDummyHash = "$argon2id$v=19$m=19456,t=2,p=1$KyrG0gxglVo9lIqQTs6EOg$KTYl9HkQYwqO8B/h5phHc+PjKw99L7GuPUaw82WF8WE"

// ErrBusy is returned when too many password hashes are already waiting: the caller should
// answer 503 with Retry-After rather than queue without bound.
var ErrBusy = errors.New("auth: password hashing is busy")

// Hasher runs argon2id in a bounded pool: at most Workers hashes at once (so at most
// Workers x Memory of RAM), at most Queue more waiting, and the rest refused with ErrBusy.
//
// Trusted callers (VerifyTrusted: a browser that signed in to the account before) have a share
// of the queue to themselves, Reserve more places that other callers cannot take, and a worker
// that frees goes to the longest-waiting trusted caller before any other: a flood of untrusted
// guesses can fill the queue, but it cannot keep a trusted browser out of it or behind it.
type Hasher struct {
	params  Argon2Params
	wait    time.Duration
	dummy   string
	workers int // hashes that may run at once
	queue   int // callers of any kind that may wait
	reserve int // more trusted callers that may wait

	mu      sync.Mutex
	running int       // workers taken; callers wait only when all are
	trusted []*waiter // trusted callers waiting, oldest first
	others  []*waiter // other callers waiting, oldest first
	busy    uint64    // callers refused with ErrBusy, ever (Stats)
}

// waiter is one caller waiting for a worker: ready closes when it is given one.
type waiter struct {
	ready   chan struct{}
	granted bool
}

// NewHasher makes a pool of workers hashers with room for queue waiting callers, each of which
// waits at most maxWait for a worker. Trusted callers have queue/4 (at least 1) more places.
func NewHasher(p Argon2Params, workers, queue int, maxWait time.Duration) (*Hasher, error) {
	if workers < 1 {
		workers = 1
	}
	if queue < 0 {
		queue = 0
	}
	dummy := defaultDummyHash
	if p != DefaultArgon2 {
		var err error
		if dummy, err = HashPassword(NewToken(), p); err != nil {
			return nil, err
		}
	}
	return &Hasher{
		params:  p,
		wait:    maxWait,
		dummy:   dummy,
		workers: workers,
		queue:   queue,
		reserve: max(1, queue/4),
	}, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Argon2Params { return h.params }

// roomFor reports whether one more caller may wait. Trusted callers fill their reserved places
// first, so the untrusted queue shrinks only when more than Reserve of them wait. Call it
// with mu held.
func (h *Hasher) roomFor(trusted bool) bool {
	if trusted {
		return len(h.trusted)+len(h.others) < h.queue+h.reserve
	}
	return len(h.others)+max(0, len(h.trusted)-h.reserve) < h.queue
}

// acquire takes a worker, waiting for one at most maxWait when there is room to wait, and
// returns what gives it back.
func (h *Hasher) acquire(ctx context.Context, trusted bool) (release func(), err error) {
	h.mu.Lock()
	if h.running < h.workers {
		h.running++
		h.mu.Unlock()
		return h.release, nil
	}
	if !h.roomFor(trusted) {
		h.busy++
		h.mu.Unlock()
		return nil, ErrBusy
	}
	w := &waiter{ready: make(chan struct{})}
	line := &h.others
	if trusted {
		line = &h.trusted
	}
	*line = append(*line, w)
	h.mu.Unlock()

	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case <-w.ready:
		return h.release, nil
	case <-timer.C:
		err = ErrBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if errors.Is(err, ErrBusy) {
		h.busy++
	}
	if w.granted {
		h.releaseLocked() // given a worker just as it gave up: pass it on
		return nil, err
	}
	*line = slices.DeleteFunc(*line, func(o *waiter) bool { return o == w })
	return nil, err
}

// release gives a worker back: to the oldest trusted waiter, else the oldest other one.
func (h *Hasher) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.releaseLocked()
}

func (h *Hasher) releaseLocked() {
	for _, line := range []*[]*waiter{&h.trusted, &h.others} {
		if len(*line) > 0 {
			w := (*line)[0]
			*line = (*line)[1:]
			w.granted = true
			close(w.ready)
			return
		}
	}
	h.running--
}

// callers is how many callers hold a worker or wait for one.
func (h *Hasher) callers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.running + len(h.trusted) + len(h.others)
}

// Hash hashes a new password in the pool.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx, false)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, h.params)
}

// Verify checks password against encoded in the pool. An empty or unreadable encoded hash (an
// unknown account, or one with no password) is checked against a dummy hash so that it costs the
// same time as a wrong password, and never matches. rehash says the stored hash should be
// replaced with one made with the current parameters.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	return h.verify(ctx, false, encoded, password)
}

// VerifyTrusted is Verify for a caller the server trusts more than a stranger (a browser with
// the account's device cookie): it may wait in the places reserved for trusted callers, and it
// is given a worker before any untrusted caller waiting.
func (h *Hasher) VerifyTrusted(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	return h.verify(ctx, true, encoded, password)
}

func (h *Hasher) verify(ctx context.Context, trusted bool, encoded, password string) (ok, rehash bool, err error) {
	release, err := h.acquire(ctx, trusted)
	if err != nil {
		return false, false, err
	}
	defer release()
	if _, _, _, derr := decodeHash(encoded); derr != nil {
		VerifyPassword(h.dummy, password)
		return false, false, nil
	}
	ok, err = VerifyPassword(encoded, password)
	if err != nil || !ok {
		return false, false, err
	}
	return true, NeedsRehash(encoded, h.params), nil
}
