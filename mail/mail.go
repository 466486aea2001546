// Package mail builds weftid's e-mails and sends them: over SMTP when --smtp
// is set, otherwise into the log so that a developer can read sign-in codes
// and links in the terminal.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one e-mail with a text and an HTML body.
type Message struct {
	To, Subject, Text, HTML string
}

// Config configures a Mailer.
type Config struct {
	// SMTPURL is where mail goes; "" writes it to the log instead.
	//   smtp://[user:pass@]host[:port]             STARTTLS if the server offers it (port 587)
	//   smtp://[user:pass@]host[:port]?starttls    STARTTLS required
	//   smtps://[user:pass@]host[:port]            TLS from the first byte (port 465)
	// With a user name, SMTP AUTH is used (PLAIN, else LOGIN; never in clear
	// to a host other than localhost).
	SMTPURL string
	// From is the envelope and header From address, e.g. weftid@localhost.
	From string
	// TLSConfig, when set, is used for STARTTLS and smtps (tests pass one that
	// trusts their self-signed certificate).
	TLSConfig *tls.Config
	// Attempts is the number of tries per message; default 3.
	Attempts int
	// Backoff is the wait before the second try, doubled before each later
	// one; default 500ms.
	Backoff time.Duration
	// Timeout bounds one attempt, dial and send; default 10s.
	Timeout time.Duration
}

// Mailer sends Messages. It is safe for concurrent use.
type Mailer struct {
	cfg  Config
	log  *slog.Logger
	smtp *smtpTarget // nil in log mode
}

// smtpTarget is a parsed SMTP URL.
type smtpTarget struct {
	host       string
	port       int
	implicit   bool // smtps
	startTLS   bool // ?starttls: STARTTLS required
	user, pass string
}

// New returns a Mailer for cfg. It fails on a malformed SMTP URL. With no
// SMTP URL it logs a warning that mail is written to the log. A nil log
// means slog.Default().
func New(cfg Config, log *slog.Logger) (*Mailer, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	m := &Mailer{cfg: cfg, log: log}

	if cfg.SMTPURL == "" {
		log.Warn("mail is written to the log because --smtp is not set")
		return m, nil
	}
	target, err := parseURL(cfg.SMTPURL)
	if err != nil {
		return nil, err
	}
	m.smtp = target
	// Build one client now so that option errors show at start-up, not at
	// the first sign-in.
	if _, err := m.client(); err != nil {
		return nil, err
	}
	return m, nil
}

// Logging reports whether mail is written to the log instead of sent.
func (m *Mailer) Logging() bool { return m.smtp == nil }

// Send delivers msg. Over SMTP it retries failed attempts, waiting Backoff,
// then twice that, and so on, and gives up early when ctx ends. In log mode
// it logs the recipient, subject and text body at INFO and returns nil.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	if m.Logging() {
		m.log.LogAttrs(ctx, slog.LevelInfo, "mail (not sent: --smtp is not set)",
			slog.String("to", msg.To),
			slog.String("subject", msg.Subject),
			slog.String("text", msg.Text))
		return nil
	}

	gm, err := m.build(msg)
	if err != nil {
		return err // a bad address will not get better by retrying
	}

	wait := m.cfg.Backoff
	var lastErr error
	for attempt := 1; attempt <= m.cfg.Attempts; attempt++ {
		if attempt > 1 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return fmt.Errorf("mail: send to %s: %w (after %d attempts; last error: %w)",
					msg.To, ctx.Err(), attempt-1, lastErr)
			case <-timer.C:
			}
			wait *= 2
		}
		lastErr = m.attempt(ctx, gm)
		if lastErr == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("mail: send to %s: %w (after %d attempts; last error: %w)",
				msg.To, ctx.Err(), attempt, lastErr)
		}
		m.log.LogAttrs(ctx, slog.LevelWarn, "mail attempt failed",
			slog.String("to", msg.To),
			slog.Int("attempt", attempt),
			slog.Int("attempts", m.cfg.Attempts),
			slog.String("error", lastErr.Error()))
	}
	return fmt.Errorf("mail: send to %s failed after %d attempts: %w", msg.To, m.cfg.Attempts, lastErr)
}

// attempt makes one connection and sends gm over it.
func (m *Mailer) attempt(ctx context.Context, gm *gomail.Msg) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	// A client per attempt: go-mail's Client keeps per-connection state.
	c, err := m.client()
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, gm)
}

// client returns a go-mail client for the configured SMTP server.
func (m *Mailer) client() (*gomail.Client, error) {
	t := m.smtp
	opts := []gomail.Option{
		gomail.WithPort(t.port),
		gomail.WithTimeout(m.cfg.Timeout),
	}
	switch {
	case t.implicit:
		opts = append(opts, gomail.WithSSL())
	case t.startTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if m.cfg.TLSConfig != nil {
		tc := m.cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = t.host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if t.user != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(t.user),
			gomail.WithPassword(t.pass))
	}
	c, err := gomail.NewClient(t.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp client: %w", err)
	}
	return c, nil
}

// build turns msg into a go-mail message with a text body and an HTML alternative.
func (m *Mailer) build(msg Message) (*gomail.Msg, error) {
	gm := gomail.NewMsg()
	if err := gm.From(m.cfg.From); err != nil {
		return nil, fmt.Errorf("mail: from address %q: %w", m.cfg.From, err)
	}
	if err := gm.To(msg.To); err != nil {
		return nil, fmt.Errorf("mail: to address %q: %w", msg.To, err)
	}
	gm.Subject(msg.Subject)
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

// parseURL reads an SMTP URL. Its errors never repeat the URL, which may
// hold a password.
func parseURL(raw string) (*smtpTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("mail: malformed SMTP URL: %w", err)
	}

	t := &smtpTarget{host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		t.port = 587
	case "smtps":
		t.port = 465
		t.implicit = true
	default:
		return nil, fmt.Errorf("mail: unknown SMTP URL scheme %q (want smtp or smtps)", u.Scheme)
	}
	if t.host == "" {
		return nil, errors.New("mail: SMTP URL has no host (want smtp://host:port)")
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL port %q is not a number from 1 to 65535", p)
		}
		t.port = port
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("mail: SMTP URL has a path %q; it takes none", u.Path)
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP URL query: %w", err)
	}
	for key, values := range query {
		switch key {
		case "starttls":
			on := true
			if v := values[len(values)-1]; v != "" {
				if on, err = strconv.ParseBool(v); err != nil {
					return nil, fmt.Errorf("mail: SMTP URL option starttls=%q: want true or false", v)
				}
			}
			if on && t.implicit {
				return nil, errors.New("mail: SMTP URL option starttls does not apply to smtps (already TLS)")
			}
			t.startTLS = on
		default:
			return nil, fmt.Errorf("mail: unknown SMTP URL option %q (known: starttls)", key)
		}
	}
	return t, nil
}
