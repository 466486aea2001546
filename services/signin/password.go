package signin

import (
	"context"
	"errors"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// MaxPasswordInput bounds what a sign-in hashes, whatever was posted.
const MaxPasswordInput = 1024

// MaxEmailLength is the longest e-mail address (RFC 5321's path limit).
const MaxEmailLength = 254

// Password is the first step: it checks the throttle, then the password (an unknown address
// costs the same time as a wrong password), records the attempt, starts a sign-in (Started)
// and its second factor, mailing an e-mail code when that is the user's method. Errors:
// ErrIncomplete, ErrFailed, ErrThrottled, auth.ErrBusy.
func (s *Service) Password(ctx context.Context, c Client, email, password string) (_ Result, err error) {
	defer func() { s.count("password", err) }()
	email = store.NormalizeEmail(email)
	if email == "" || password == "" {
		return Result{}, ErrIncomplete
	}
	if len(email) > MaxEmailLength {
		// No address is this long: nothing is hashed, counted or logged for it, so nobody can
		// fill the audit log with megabytes.
		return Result{}, ErrFailed
	}
	g, err := s.guardPassword(ctx, c, email)
	if err != nil {
		return Result{}, err
	}
	u, err := s.checkPassword(ctx, c.Origin, g, email, password)
	if err != nil {
		return Result{}, err
	}
	var r Result
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		si, token, err := s.start(ctx, tx, c, u, store.Progress{Password: true, Factors: int64(auth.FactorPassword)})
		r = Result{SignIn: si, User: u, Started: token}
		return err
	})
	if err != nil {
		return r, err
	}
	return s.beginSecondFactor(ctx, c, r)
}

// checkPassword verifies a password guess under g's lock (the account's, or its device's), so
// concurrent guesses are each counted before the next is checked. The guess is counted as a
// failure before it is verified, so guesses at other accounts from the same IP, which this lock
// does not hold back, count against the IP's limit at once too; a right guess turns it into a
// success. That count (Reserve) holds the keys' locks in every instance, so the lock here is
// this process's alone (LockHere): an anonymous flood of guesses does not hold the database's
// lock connections while it waits for the hashing pool.
func (s *Service) checkPassword(ctx context.Context, o store.Origin, g passwordGuard, email, password string) (store.User, error) {
	unlock := s.limiter.LockHere(g.lock)
	locked := true
	release := func() {
		if locked {
			locked = false
			unlock()
		}
	}
	defer release()

	reserved, limited, err := s.limiter.Reserve(ctx, g.checks...)
	if err != nil {
		return store.User{}, err
	}
	if limited {
		// Logged once per key and window, then summed up (login_throttled): a flood of refused
		// guesses does not fill the log.
		if err := s.limiter.Refused(ctx, reserved.Hit(), s.failed(o, 0, map[string]any{"email": email, "reason": "throttled"})); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrThrottled
	}

	u, err := s.store.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	if len(password) > MaxPasswordInput {
		password = password[:MaxPasswordInput] // still hashed, so it costs the same; it cannot match
		u.PasswordHash = ""
	}
	ok, rehash, err := g.verify(ctx, s.hasher, u.PasswordHash, password)
	if err != nil {
		// Not checked (ErrBusy becomes 503 with Retry-After): not a guess either.
		if derr := s.limiter.Drop(ctx, reserved); derr != nil {
			s.log.Warn("drop reserved attempt", "err", derr)
		}
		return store.User{}, err
	}

	reason := ""
	switch {
	case !known:
		reason = "unknown_email"
	case !ok:
		reason = "wrong_password"
	case !u.Active():
		reason = "inactive"
	}
	if reason != "" {
		// The attempt was counted when it was reserved; what is left is its event.
		if err := s.store.AddEvent(ctx, s.failed(o, u.ID, map[string]any{"email": email, "reason": reason, "step": "password"})); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrFailed
	}
	if err := s.limiter.SettleNow(ctx, reserved); err != nil {
		return store.User{}, err
	}
	release()
	if rehash {
		u.PasswordHash = s.rehashPassword(ctx, u, password)
	}
	if s.backfill && !u.HasBreachFingerprint {
		// Only for a password set before fingerprints were kept: no write on every sign-in.
		prefix, mac := s.keys.BreachFingerprint(password)
		if err := s.store.BackfillBreachFingerprint(ctx, u.ID, u.PasswordHash, prefix, mac); err != nil {
			s.log.Warn("breach fingerprint not stored", "user_id", u.ID, "err", err)
		}
	}
	return u, nil
}

// rehashPassword replaces a hash made with weaker parameters. It is best effort: a busy pool or a
// failed write leaves the old hash, which still works, for the next sign-in. It returns the hash
// now stored.
func (s *Service) rehashPassword(ctx context.Context, u store.User, password string) string {
	hash, err := s.hasher.Hash(ctx, password)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, hash, s.now())
	}
	if err != nil {
		s.log.Warn("password rehash skipped", "user_id", u.ID, "err", err)
		return u.PasswordHash
	}
	return hash
}
