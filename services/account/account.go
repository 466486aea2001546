// Package account owns weftid's accounts: users and their lifecycle (creation, invitations and
// sending them again, editing, roles, deactivation, of idle users too (idle.go), signing out
// everywhere, deletion), the notices mailed to users about their account (notices.go),
// passwords (setting a password exists once, in setPasswordTx, and every way to set one goes
// through it: a change, a reset link, an invitation, the setup page, the command line and a
// forced reset at sign-in), the password policy, and second factors (TOTP, backup codes,
// passkeys). Each exported method is one use case; it writes in one transaction, writes its
// events itself, and sends mail only after the commit. Handlers map its sentinel errors to a
// status and a message.
package account

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Mailer sends one message or says why it could not.
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) error
}

// Config is what the service needs. Store, Hasher and Keys are required; Limiter must be the
// one the sign-in uses (its lock stripes serialise guesses at one account across both).
type Config struct {
	Store   *store.Store
	Hasher  *auth.Hasher
	Keys    auth.Keys
	Limiter *throttle.Limiter
	// Breach is the set-time breach check of new passwords (nil: off).
	Breach *breach.Service
	// Mailer sends invitations, reset links and notices (nil: none are sent).
	Mailer Mailer
	// Jobs runs the mail of a reset request after the answer (nil: a runner of its own).
	Jobs *jobs.Runner
	// BaseURL is the public address that links in mail point to.
	BaseURL *url.URL
	// WebAuthn is the relying party passkeys are registered with (nil: passkeys are off).
	WebAuthn *webauthn.WebAuthn
	Log      *slog.Logger
	Now      func() time.Time
}

// Service is the account use cases over one store.
type Service struct {
	store   *store.Store
	hasher  *auth.Hasher
	keys    auth.Keys
	limiter *throttle.Limiter
	breach  *breach.Service
	mailer  Mailer
	jobs    *jobs.Runner
	base    *url.URL
	wa      *webauthn.WebAuthn
	log     *slog.Logger
	now     func() time.Time
}

// New returns the service for cfg.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = throttle.New(cfg.Store, cfg.Now)
	}
	if cfg.Jobs == nil {
		cfg.Jobs = jobs.New(context.Background(), cfg.Log)
	}
	if cfg.Breach == nil {
		cfg.Breach = breach.New(breach.Config{Store: cfg.Store, Log: cfg.Log})
	}
	if cfg.BaseURL == nil {
		cfg.BaseURL = &url.URL{Scheme: "http", Host: "localhost"}
	}
	return &Service{
		store: cfg.Store, hasher: cfg.Hasher, keys: cfg.Keys, limiter: cfg.Limiter, breach: cfg.Breach,
		mailer: cfg.Mailer, jobs: cfg.Jobs, base: cfg.BaseURL, wa: cfg.WebAuthn, log: cfg.Log, now: cfg.Now,
	}
}

// The errors the use cases return; handlers map each to a status and a message.
var (
	// ErrThrottled: too many guesses or requests; nothing was checked.
	ErrThrottled = errors.New("account: too many attempts")
	// ErrNotFound: no such user, passkey or factor (or not the caller's).
	ErrNotFound = errors.New("account: not found")
	// ErrForbidden: the actor may not do this to that user.
	ErrForbidden = errors.New("account: not allowed")
	// ErrInvalidLink: an invitation or reset link that is wrong, used, expired, or whose user
	// was deactivated.
	ErrInvalidLink = errors.New("account: link not valid")
	// ErrInvalidSetupLink: the setup link is wrong, used or expired, or users exist already.
	ErrInvalidSetupLink = errors.New("account: setup link not valid")
	// ErrWrongPassword: the current password given to change it is not right.
	ErrWrongPassword = errors.New("account: current password wrong")
	// ErrEmailTaken: a user with the address exists already.
	ErrEmailTaken = errors.New("account: email taken")
	// ErrNoPassword: a forced reset of a user who has no password.
	ErrNoPassword = errors.New("account: the user has no password")
	// ErrPasswordChangedMeanwhile: a forced reset's sign-in would overwrite a password set
	// since it began (by a reset link); the sign-in must start again.
	ErrPasswordChangedMeanwhile = errors.New("account: the password changed during the sign-in")
	// ErrUserChanged: the user's name, address or role changed while they chose a password,
	// so the rule it was checked against is not theirs any more; they choose again.
	ErrUserChanged = errors.New("account: the user changed meanwhile")
)

// Problems is a form's refusal: what is wrong, in words, each shown as is.
type Problems []string

func (p Problems) Error() string { return "account: " + strings.Join(p, " ") }

// Refusal is a change to a user that the rules forbid whoever asks; Message says why.
type Refusal struct{ Title, Message string }

func (r Refusal) Error() string { return r.Message }

// ptr returns a pointer to id, for the optional actor and subject of events.
func ptr(id int64) *int64 { return &id }

// displayName is how mail addresses a user: their name, else their address.
func displayName(u store.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// link is an absolute address under the base URL.
func (s *Service) link(path string) string {
	return strings.TrimRight(s.base.String(), "/") + path
}

// send mails msg when a mailer is configured.
func (s *Service) send(ctx context.Context, msg mail.Message) error {
	if s.mailer == nil {
		return errors.New("account: no mailer")
	}
	return s.mailer.Send(ctx, msg)
}
