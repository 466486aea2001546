package signin

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Device trust, as OWASP recommends against lockout denial of service: a browser that finished
// a sign-in gets a long-lived device cookie bound to that user (a random token, stored only as
// a keyed hash, replaced at every sign-in). When it comes back, its guesses at that user's
// password and codes are counted under the device's own key, apart from everyone else's, and
// its password checks may use the hashing pool's reserved places: a flood of guesses from
// elsewhere, which locks the e-mail address and fills the pool, does not keep it out.

// DeviceTTL is how long a device cookie lasts after the sign-in that set it.
const DeviceTTL = 180 * 24 * time.Hour

// deviceKey is the throttle key of one device's guesses.
func deviceKey(id int64) string { return "device:" + strconv.FormatInt(id, 10) }

// deviceHash is the stored form of a device cookie's token.
func (s *Service) deviceHash(token string) []byte { return s.keys.HashToken("device", token) }

// trustDeviceTx records, in the transaction that finishes a sign-in of u, that c's browser
// signed in: the device of its cookie gets a new token when it is u's, and any other browser
// (no cookie, an unknown or expired one, or another user's) becomes a new device. It returns
// the cookie's new token, and whether the browser became a new device.
func (s *Service) trustDeviceTx(ctx context.Context, tx *store.Tx, c Client, u store.User, now time.Time) (*Token, bool, error) {
	token := auth.NewToken()
	d := store.Device{
		UserID: u.ID, TokenHash: s.deviceHash(token), CreatedAt: now, LastSignInAt: now, ExpiresAt: now.Add(DeviceTTL),
		IP: c.IP, UserAgent: c.UserAgent,
	}
	if c.Device != "" {
		old, err := tx.DeviceByHash(ctx, s.deviceHash(c.Device), now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
		if err == nil && old.UserID == u.ID {
			d.ID, d.CreatedAt = old.ID, old.CreatedAt
			if err := tx.RotateDevice(ctx, d); err != nil {
				return nil, false, err
			}
			return &Token{Value: token, Expires: d.ExpiresAt}, false, nil
		}
	}
	if _, err := tx.CreateDevice(ctx, d); err != nil {
		return nil, false, err
	}
	return &Token{Value: token, Expires: d.ExpiresAt}, true, nil
}

// passwordGuard is how one password guess is throttled: the lock it is checked under, the
// limits it counts against, and whether it may use the hashing pool's reserved places.
type passwordGuard struct {
	lock    string
	checks  []throttle.Check
	trusted bool
}

// guardPassword throttles a guess at email from c. A browser whose device cookie belongs to the
// account of email counts its guesses under the device's key alone, with the account's limit
// (throttle.PasswordPerAccount, 5 since the last success): failures from elsewhere, at that
// address or from that IP, do not refuse it, and its own failures lock no one else out. Any
// other browser counts under the address and its IP, as always.
func (s *Service) guardPassword(ctx context.Context, c Client, email string) (passwordGuard, error) {
	if c.Device != "" {
		d, err := s.store.DeviceForEmail(ctx, s.deviceHash(c.Device), email, s.now())
		if err == nil {
			key := deviceKey(d.ID)
			return passwordGuard{lock: key, checks: []throttle.Check{throttle.PasswordPerAccount.For(key)}, trusted: true}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return passwordGuard{}, err
		}
	}
	return passwordGuard{
		lock:   throttle.EmailKey(email),
		checks: []throttle.Check{throttle.PasswordPerAccount.For(throttle.EmailKey(email)), throttle.PasswordPerIP.For(throttle.IPKey(c.IP))},
	}, nil
}

// verify checks the guess in the hashing pool: a trusted browser's through its reserved places.
func (g passwordGuard) verify(ctx context.Context, h *auth.Hasher, encoded, password string) (ok, rehash bool, err error) {
	if g.trusted {
		return h.VerifyTrusted(ctx, encoded, password)
	}
	return h.Verify(ctx, encoded, password)
}

// codeKey is the key c's second-factor guesses for u count under (throttle.CodePerUser): its
// device's when its cookie is one of u's, else u's own, so that someone who knows the password
// and guesses codes elsewhere does not lock u out of a browser u signed in with before.
func (s *Service) codeKey(ctx context.Context, c Client, u store.User) (string, error) {
	if c.Device != "" {
		d, err := s.store.DeviceByHash(ctx, s.deviceHash(c.Device), s.now())
		if err == nil && d.UserID == u.ID {
			return deviceKey(d.ID), nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	return throttle.UserKey(u.ID), nil
}
