package signin

import (
	"context"
	"errors"
	"time"

	"github.com/weftid/weftid/store"
)

// touchEvery is how stale last_seen_at may get before a request refreshes it (a write per
// request would serialize every page view on SQLite's single writer).
const touchEvery = 5 * time.Minute

// Session errors.
var (
	// ErrNoSession: no live session has that token.
	ErrNoSession = errors.New("signin: no session")
	// ErrSessionEnded: the session's user was deactivated, or flagged for a forced password
	// reset (ErrResetRequired): the session was ended now.
	ErrSessionEnded  = errors.New("signin: session ended")
	ErrResetRequired = errors.New("signin: session ended: a new password is required")
)

// Session finds the signed-in user of a session token and the session's id hash. An expired
// session is ErrNoSession; one whose user was deactivated or flagged for a forced password
// reset is ended (ErrSessionEnded, ErrResetRequired): a forced reset ends the user's browser
// sessions on their next page request. A session not seen for a while is touched.
func (s *Service) Session(ctx context.Context, token string) (store.User, []byte, error) {
	idHash := s.keys.HashToken("session", token)
	now := s.now()
	sess, u, err := s.store.SessionUser(ctx, idHash, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, nil, ErrNoSession
	case err != nil:
		return store.User{}, nil, err
	}
	if !u.Active() || u.PasswordResetRequired {
		if err := s.store.DeleteSession(ctx, idHash); err != nil {
			return store.User{}, nil, err
		}
		if u.Active() {
			return store.User{}, nil, ErrResetRequired
		}
		return store.User{}, nil, ErrSessionEnded
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		if err := s.store.TouchSession(ctx, idHash, now); err != nil {
			s.log.Warn("touch session", "err", err)
		}
	}
	return u, idHash, nil
}

// Logout ends the sign-in in progress of c, if any ("Cancel and sign out" during enrollment),
// and the session u is signed in under (sessionHash, from Session; nil: none), logging
// user_signed_out.
func (s *Service) Logout(ctx context.Context, c Client, u *store.User, sessionHash []byte) error {
	if c.SignIn != "" {
		err := s.store.DeleteSignIn(ctx, s.keys.HashToken("signin", c.SignIn))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if u == nil || sessionHash == nil {
		return nil
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, sessionHash); err != nil {
			return err
		}
		return tx.AddEvent(ctx, c.Event(s.now(), store.EventUserSignedOut, &u.ID, &u.ID, nil))
	})
}
