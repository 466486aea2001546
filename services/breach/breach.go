// Package breach owns breach detection: the Have I Been Pwned range client (Client), the
// verdict on a password when it is set (Service.Check and Screen, and Record, what is stored
// of a new password so it can be re-checked) and the weekly re-check of every stored
// password's fingerprint (Service.Run, Step and RunNow).
package breach

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store"
)

// Mailer sends one message (retrying as it sees fit) or says why it could not.
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) error
}

// Config is what the service needs.
type Config struct {
	Store   *store.Store
	Mailer  Mailer // nil: the weekly job mails nobody
	Keys    auth.Keys
	Client  *Client // nil: breach checking is off, the service checks nothing
	Log     *slog.Logger
	Now     func() time.Time
	BaseURL *url.URL // for the link in the mail to admins
	// Concurrency is how many ranges the weekly job asks for at once (default 8).
	Concurrency int
	// Tick is how often Run looks at the weekly job's schedule (default a minute).
	Tick time.Duration
	// Holder names this instance for the weekly job's lease (default jobs.NewHolder()): among
	// the instances sharing a database, the one that holds the lease runs the job.
	Holder string
	// LeaseTTL is how long the lease outlives its holder (default jobs.LeaseTTL).
	LeaseTTL time.Duration
}

// Service checks passwords against the breach corpus when they are set and runs the weekly
// re-check. Run drives the weekly job from serve; Step does one look at its schedule (what
// Run does every Tick), so tests drive it with their own clock.
type Service struct {
	cfg  Config
	mu   sync.Mutex // one weekly run at a time in this process; the lease is the database's
	wake chan struct{}
	// busyUntil is when another instance's lease on the weekly job ends, as the last Step found
	// it (zero when this instance had it): Run looks again then.
	busyUntil time.Time
}

// New makes the service; the weekly job does nothing until Run or Step.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Minute
	}
	if cfg.Holder == "" {
		cfg.Holder = jobs.NewHolder()
	}
	return &Service{cfg: cfg, wake: make(chan struct{}, 1)}
}

// Enabled reports whether the service checks anything (a breach service is configured).
func (s *Service) Enabled() bool { return s.cfg.Client.Enabled() }

// String names where the service looks, for logs and the Passwords page.
func (s *Service) String() string { return s.cfg.Client.String() }

// Message is the one answer to a password found in the breach corpus.
const Message = "This password has appeared in a data breach, so attackers try it early. Choose a different password."

// checkTimeout bounds how long a form waits for the breach service, retries included.
const checkTimeout = 5 * time.Second

// Record is what is stored for a new password that passed the one password rule: its hash,
// the rule it was set under (the length and score this subject had to meet), so a later,
// stricter policy can tell who set theirs under a weaker one, and its breach fingerprint (the
// 5-character SHA-1 prefix and a keyed HMAC of the whole SHA-1) for the weekly re-check.
// Every place that sets a password stores this, through store.SetPassword.
func Record(keys auth.Keys, hash, password string, s auth.PasswordSubject, p auth.PasswordPolicy) store.NewPassword {
	prefix, mac := keys.BreachFingerprint(password)
	return store.NewPassword{Hash: hash, MinLength: p.MinLengthFor(s), MinScore: p.ScoreFloor(), BreachPrefix: prefix, BreachHMAC: mac}
}

// Verdict is the breach half of the one password rule for one password.
type Verdict struct {
	// Breached: the password is in the breach corpus; refuse it with Message.
	Breached bool
	// Skipped says why the service could not be asked ("" when it was, or when checking is
	// off). The password is accepted; LogSkipped records it so the weekly job's check counts.
	Skipped string
}

// Check asks the breach service about password when a form that sets it is submitted (never
// from the live strength meter, which must not send anything to the breach service). Only the
// first 5 hex characters of its SHA-1 are sent. When checking is off the verdict is empty.
func (s *Service) Check(ctx context.Context, password string) Verdict {
	if !s.Enabled() {
		return Verdict{}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	n, err := s.cfg.Client.Pwned(ctx, password)
	if err != nil {
		// The reason goes into the event log: it must not name the password's prefix.
		prefix := auth.RangePrefix(auth.PasswordSHA1(password))
		return Verdict{Skipped: strings.ReplaceAll(err.Error(), prefix, "*****")}
	}
	return Verdict{Breached: n > 0}
}

// Screen is Check for a form that sets a password, called once every other check of the form
// has run and before hashing. A form with problems is answered without asking the service; a
// breached password adds Message to problems. When the service cannot be reached the password
// is accepted (a warning is logged) and the verdict says why, for LogSkipped:
//
//	problems, verdict := svc.Screen(ctx, password, problems) // re-render the form, 422, if any
//	...
//	// in the transaction that calls tx.SetPassword(ctx, id, breach.Record(keys, ...), now):
//	if err := verdict.LogSkipped(ctx, tx, ev); err != nil {
//		return err
//	}
//
// The fingerprint is stored all the same, so the weekly job checks the password.
func (s *Service) Screen(ctx context.Context, password string, problems []string) ([]string, Verdict) {
	if len(problems) > 0 {
		return problems, Verdict{}
	}
	v := s.Check(ctx, password)
	if v.Skipped != "" {
		s.cfg.Log.Warn("breach check skipped: the password is accepted", "service", s.String(), "err", v.Skipped)
	}
	if v.Breached {
		problems = append(problems, Message)
	}
	return problems, v
}

// LogSkipped adds, inside the transaction that stores the password, the event
// password_breach_check_skipped when the service could not be asked: ev names the request
// (actor, the user whose password it is, IP); its Type is set here. It does nothing when the
// check ran.
func (v Verdict) LogSkipped(ctx context.Context, tx *store.Tx, ev store.Event) error {
	if v.Skipped == "" {
		return nil
	}
	ev.Type = store.EventPasswordBreachCheckSkipped
	ev.Details = map[string]any{"reason": v.Skipped}
	return tx.AddEvent(ctx, ev)
}
