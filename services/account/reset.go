package account

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// maxEmailLength is the longest address accepted (RFC 5321's path limit).
const maxEmailLength = 254

// MsgInvalidEmail refuses an address that is not one.
const MsgInvalidEmail = "Enter a valid email address."

// validEmail reports whether email (normalized) is one address and nothing else.
func validEmail(email string) bool {
	addr, err := netmail.ParseAddress(email)
	return err == nil && addr.Address == email && len(email) <= maxEmailLength
}

// RequestReset is "Forgot password?": it answers every address the same, at once (nil), and
// then, in the background, for an active account, stores a single-use link valid 30 minutes
// (its token only as a keyed hash), logs password_reset_requested and mails the link.
// Requests are counted per address (known or not) and per IP (ErrThrottled when either is
// over). Nothing about the account is looked at before the answer, so neither its content nor
// its time says whether the address has one. A malformed address is Problems.
func (s *Service) RequestReset(ctx context.Context, email string, origin store.Origin) error {
	email = store.NormalizeEmail(email)
	if !validEmail(email) {
		return Problems{MsgInvalidEmail}
	}
	defer s.limiter.LockHere(throttle.EmailKey(email))() // Take holds the keys' locks in every instance
	allowed, err := s.limiter.Take(ctx, throttle.ResetRequestsPerAccount.For(throttle.EmailKey(email)), throttle.ResetRequestsPerIP.For(throttle.IPKey(origin.IP)))
	if err != nil {
		return err
	}
	if !allowed {
		return ErrThrottled
	}
	// Whether the address has an account is decided after the answer, so the time to answer
	// does not tell.
	at := s.now()
	s.jobs.Go("password reset mail", func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		s.sendReset(ctx, email, origin, at)
	})
	return nil
}

// sendReset, after the answer, stores a link for the active account of email, if there is
// one, logs password_reset_requested and mails the link. Deactivated users get no link.
func (s *Service) sendReset(ctx context.Context, email string, origin store.Origin, at time.Time) {
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()) {
		return
	}
	if err != nil {
		s.log.Error("password reset request", "err", err)
		return
	}
	token := auth.NewToken()
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePasswordReset(ctx, s.keys.HashToken("password_reset", token), u.ID, now, now.Add(auth.PasswordResetTTL)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(at, store.EventPasswordResetRequested, nil, ptr(u.ID), nil))
	})
	if err != nil {
		s.log.Error("password reset request", "user_id", u.ID, "err", err)
		return
	}
	if err := s.send(ctx, passwordResetMail(u, s.link("/password/reset/"+token))); err != nil {
		s.log.Warn("password reset email not sent", "user_id", u.ID, "err", err)
	}
}

// passwordResetMail carries a self-service reset link.
func passwordResetMail(u store.User, link string) mail.Message {
	intro := fmt.Sprintf("Hello %s,\n\n"+
		"Someone, probably you, asked to reset the password of your weftid account (%s). "+
		"Choose a new password with the link below. It works once, for 30 minutes.\n\n"+
		"If you did not ask for this, ignore this email: your password has not changed.",
		displayName(u), u.Email)
	return mail.Generic(u.Email, "Reset your weftid password", intro, "Choose a new password", link)
}

// linkUser is the active user of a stored, unexpired link (an invitation or a reset link) whose
// token, hashed for purpose, lookup finds; ErrInvalidLink for anything else, a mistyped token
// included (nothing is looked up for one that cannot be ours).
func (s *Service) linkUser(ctx context.Context, purpose, token string, lookup func(context.Context, []byte, time.Time) (store.User, error)) (store.User, error) {
	if token == "" || len(token) > 128 {
		return store.User{}, ErrInvalidLink
	}
	u, err := lookup(ctx, s.keys.HashToken(purpose, token), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()) {
		return store.User{}, ErrInvalidLink
	}
	return u, err
}

// ResetLinkUser is the active user of a stored, unexpired reset link, for its page: the
// strength meter asks too. ErrInvalidLink for any other token.
func (s *Service) ResetLinkUser(ctx context.Context, token string) (store.User, error) {
	return s.linkUser(ctx, "password_reset", token, s.store.PasswordResetUser)
}

// OpenResetLink is ResetLinkUser for a request from ip: one that posted too many links that
// did not work is refused (ErrThrottled), and a link that does not work counts against it.
func (s *Service) OpenResetLink(ctx context.Context, token, ip string) (store.User, error) {
	perIP := throttle.ResetLinkPerIP.For(throttle.IPKey(ip))
	limited, err := s.limiter.Limited(ctx, perIP)
	if err != nil {
		return store.User{}, err
	}
	if limited {
		return store.User{}, ErrThrottled
	}
	u, err := s.ResetLinkUser(ctx, token)
	if errors.Is(err, ErrInvalidLink) {
		return u, s.invalidResetLink(ctx, ip)
	}
	return u, err
}

// invalidResetLink counts a reset link that did not work against ip, and is ErrInvalidLink.
func (s *Service) invalidResetLink(ctx context.Context, ip string) error {
	if err := s.limiter.FailNow(ctx, throttle.ResetLinkPerIP.For(throttle.IPKey(ip))); err != nil {
		return err
	}
	return ErrInvalidLink
}

// Reset is what ResetWithLink did: whose link it was, and whether the session of the browser
// that used it stayed (it was the same user's).
type Reset struct {
	User store.User
	Kept bool
}

// ResetWithLink sets a new password with a reset link: the link must work (ErrInvalidLink,
// counted against origin's IP, ErrThrottled after too many) and the password meet the one rule
// (Problems; one that clears a forced reset's flag must not be the password it is about).
// Using up the link, setting the password (which ends every other link, session and sign-in of
// the user) and password_self_reset_completed happen together; then the user signs in
// normally, second factor included. The browser's own session (session, of user signedIn)
// stays when it is the same user's.
func (s *Service) ResetWithLink(ctx context.Context, token, next, confirm string, signedIn int64, session []byte, origin store.Origin) (Reset, error) {
	u, err := s.OpenResetLink(ctx, token, origin.IP)
	if err != nil {
		return Reset{}, err
	}
	r := Reset{User: u}
	policy, err := s.Policy(ctx)
	if err != nil {
		return r, err
	}
	ch := choice{next: next, confirm: confirm, subject: Subject(u), words: changing}
	if u.PasswordResetRequired {
		ch.notHash = u.PasswordHash
	}
	pw, err := s.prepare(ctx, policy, ch)
	if err != nil {
		return r, err
	}
	var keep []byte
	if signedIn == u.ID {
		keep = session
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		id, err := tx.ConsumePasswordReset(ctx, s.keys.HashToken("password_reset", token), s.now())
		if err != nil {
			return err
		}
		if id != u.ID {
			return ErrNotFound
		}
		return s.setPasswordTx(ctx, tx, id, pw, change{event: store.EventPasswordSelfResetCompleted, actor: ptr(id), origin: origin, keep: keep})
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound) {
		// Used up by a request that got there first, or the user was deactivated since.
		return r, s.invalidResetLink(ctx, origin.IP)
	}
	r.Kept = err == nil && keep != nil
	if err == nil {
		s.Notify(Notice{Kind: NoticePasswordChanged, User: u, At: s.now(), Origin: origin})
	}
	return r, err
}
