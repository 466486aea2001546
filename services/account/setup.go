package account

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// CreateSetupLink stores a new one-time setup token when the database has no users and returns
// the /setup link to print ("" when users exist). Only the newest link works.
func CreateSetupLink(ctx context.Context, s *store.Store, keys auth.Keys, base string, now time.Time) (string, error) {
	n, err := s.CountUsers(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token := auth.NewToken()
	if err := s.ReplaceSetupToken(ctx, keys.HashToken("setup", token), now.Add(auth.SetupLinkTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(base, "/") + "/setup?token=" + token, nil
}

// SetupTokenValid reports whether token is the stored, unexpired setup token.
func (s *Service) SetupTokenValid(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	return s.store.SetupTokenValid(ctx, s.keys.HashToken("setup", token), s.now())
}

// FirstSuperAdmin is the setup page's form.
type FirstSuperAdmin struct {
	Token, Email, Name, Password, Confirm string
}

// SetupSubject is the first super admin as the password rule sees them.
func SetupSubject(email, name string) auth.PasswordSubject {
	return auth.PasswordSubject{Email: store.NormalizeEmail(email), Name: strings.TrimSpace(name), SuperAdmin: true}
}

// CreateFirstSuperAdmin is the setup page: with a valid setup link (ErrInvalidSetupLink
// otherwise; each counted against origin's IP, ErrThrottled after too many) it creates the
// first super admin with their password (Problems when a field or the password is refused) and
// uses the link up, in one transaction; user_created says via setup.
func (s *Service) CreateFirstSuperAdmin(ctx context.Context, in FirstSuperAdmin, origin store.Origin) (store.User, error) {
	perIP := throttle.SetupPerIP.For(throttle.IPKey(origin.IP))
	limited, err := s.limiter.Limited(ctx, perIP)
	if err != nil {
		return store.User{}, err
	}
	if limited {
		return store.User{}, ErrThrottled
	}
	ok, err := s.SetupTokenValid(ctx, in.Token)
	if err != nil {
		return store.User{}, err
	}
	if !ok {
		if err := s.limiter.FailNow(ctx, perIP); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrInvalidSetupLink
	}
	subject := SetupSubject(in.Email, in.Name)
	policy, err := s.Policy(ctx)
	if err != nil {
		return store.User{}, err
	}
	pw, err := s.prepare(ctx, policy, choice{next: in.Password, confirm: in.Confirm, subject: subject, words: first,
		problems: userProblems(subject.Name, subject.Email, store.RoleSuperAdmin)})
	if err != nil {
		return store.User{}, err
	}
	var u store.User
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, store.SetupLock); err != nil { // one first super admin, across instances
			return err
		}
		if err := tx.ConsumeSetupToken(ctx, s.keys.HashToken("setup", in.Token), s.now()); err != nil {
			return err
		}
		if n, err := tx.CountUsers(ctx); err != nil || n > 0 {
			return errors.Join(err, store.ErrNotFound)
		}
		u, err = s.createWithPasswordTx(ctx, tx, store.User{Email: subject.Email, Name: subject.Name, Role: store.RoleSuperAdmin}, pw, "setup", origin)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return u, ErrInvalidSetupLink
	}
	if err != nil {
		return u, err
	}
	s.log.Info("first super admin created", "email", u.Email)
	return u, nil
}
