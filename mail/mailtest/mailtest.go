// Package mailtest runs an in-process SMTP server for tests: it records every
// message it accepts, decodes it into plain text and HTML, and can be told to
// require TLS or AUTH, or to fail the next deliveries.
//
//	srv := mailtest.Start(t)
//	m, _ := mail.New(mail.Config{SMTPURL: srv.URL(), From: "weftid@localhost"}, nil)
//	...
//	msg, err := srv.WaitFor(ctx, "ann@example.com")
//	code := mailtest.FindCode(msg.Text)
package mailtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From    string   // envelope sender (MAIL FROM)
	To      []string // envelope recipients (RCPT TO)
	Subject string   // decoded Subject header
	Text    string   // decoded text/plain body, with LF line endings
	HTML    string   // decoded text/html body, with LF line endings
	Raw     []byte   // the message exactly as received
}

// Option configures a Server started with Start.
type Option func(*options)

type options struct {
	startTLS    bool
	implicitTLS bool
	user, pass  string
}

// WithTLS serves a self-signed certificate for 127.0.0.1 and localhost and
// offers STARTTLS; URL then ends in ?starttls and TLSConfig trusts the
// certificate. AUTH is only offered after STARTTLS.
func WithTLS() Option { return func(o *options) { o.startTLS = true } }

// WithImplicitTLS speaks TLS from the first byte (smtps) with a self-signed
// certificate; URL then starts with smtps://.
func WithImplicitTLS() Option { return func(o *options) { o.implicitTLS = true } }

// WithAuth requires AUTH PLAIN with these credentials before MAIL FROM; URL
// then carries them. Without TLS, AUTH is allowed in clear (on loopback).
func WithAuth(user, pass string) Option {
	return func(o *options) { o.user, o.pass = user, pass }
}

// Server is a running test SMTP server. Its methods are safe for concurrent use.
type Server struct {
	opts      options
	addr      string
	tlsClient *tls.Config
	srv       *smtp.Server

	mu       sync.Mutex
	messages []Received
	cursors  map[string]int // recipient -> index of the next message WaitFor considers
	arrived  chan struct{}  // closed and replaced whenever a message arrives
	failNext int
	data     int
}

// Start starts a server on 127.0.0.1 with a free port and closes it when the
// test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{cursors: map[string]int{}, arrived: make(chan struct{})}
	for _, o := range opts {
		o(&s.opts)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s.addr = ln.Addr().String()

	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)

	if s.opts.startTLS || s.opts.implicitTLS {
		serverTLS, clientTLS, err := selfSigned()
		if err != nil {
			ln.Close()
			t.Fatalf("mailtest: %v", err)
		}
		s.tlsClient = clientTLS
		if s.opts.implicitTLS {
			ln = tls.NewListener(ln, serverTLS)
		} else {
			s.srv.TLSConfig = serverTLS
		}
	} else {
		s.srv.AllowInsecureAuth = true
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.srv.Close()
		// Close may run before Serve has registered ln; closing it here too
		// makes sure Serve returns.
		_ = ln.Close()
		<-done
	})
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the value for weftid's --smtp flag that reaches this server, e.g.
// smtp://127.0.0.1:PORT, smtps://... with WithImplicitTLS, smtp://user:pass@...
// with WithAuth, and ...?starttls with WithTLS.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	switch {
	case s.opts.implicitTLS:
		u.Scheme = "smtps"
	case s.opts.startTLS:
		u.RawQuery = "starttls"
	}
	if s.opts.user != "" {
		u.User = url.UserPassword(s.opts.user, s.opts.pass)
	}
	return u.String()
}

// TLSConfig is a client configuration that trusts the server's self-signed
// certificate, or nil when the server has no TLS. Each call returns a new copy.
func (s *Server) TLSConfig() *tls.Config {
	if s.tlsClient == nil {
		return nil
	}
	return s.tlsClient.Clone()
}

// FailNext makes the next n DATA commands fail with 451, a temporary failure
// that a client is expected to retry.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// DataCommands is how many DATA commands the server has answered so far,
// failed ones included.
func (s *Server) DataCommands() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// Messages returns every message accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.messages))
	copy(out, s.messages)
	return out
}

// WaitFor blocks until a message addressed to `to` (case-insensitive) arrives
// that no earlier WaitFor call for that address returned, or until ctx ends.
// Messages that arrived before the call count, so there is no race between
// triggering a mail and waiting for it.
func (s *Server) WaitFor(ctx context.Context, to string) (Received, error) {
	return s.waitMatch(ctx, to, "", func(Received) bool { return true })
}

// WaitForSubject is WaitFor for the next message to `to` with that subject: the
// messages to `to` with another subject before it are passed over, and no later
// WaitFor returns them (a sign-in code is awaited past the notices that may come
// before it, in an order the test does not control).
func (s *Server) WaitForSubject(ctx context.Context, to, subject string) (Received, error) {
	return s.waitMatch(ctx, to, " with subject "+subject, func(m Received) bool { return m.Subject == subject })
}

// waitMatch waits for the next message to `to` that match accepts; what says what
// was awaited, for the error.
func (s *Server) waitMatch(ctx context.Context, to, what string, match func(Received) bool) (Received, error) {
	key := strings.ToLower(strings.TrimSpace(to))
	for {
		s.mu.Lock()
		for i := s.cursors[key]; i < len(s.messages); i++ {
			if addressedTo(s.messages[i], key) && match(s.messages[i]) {
				s.cursors[key] = i + 1
				msg := s.messages[i]
				s.mu.Unlock()
				return msg, nil
			}
		}
		s.cursors[key] = len(s.messages)
		arrived := s.arrived
		s.mu.Unlock()

		select {
		case <-arrived:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("mailtest: no message to %s%s: %w", to, what, ctx.Err())
		}
	}
}

func addressedTo(msg Received, key string) bool {
	for _, rcpt := range msg.To {
		if strings.ToLower(rcpt) == key {
			return true
		}
	}
	return false
}

// deliver handles one DATA command: it fails it if FailNext asked for that,
// otherwise records the message.
func (s *Server) deliver(from string, to []string, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data++
	if s.failNext > 0 {
		s.failNext--
		return &smtp.SMTPError{
			Code:         451,
			EnhancedCode: smtp.EnhancedCode{4, 3, 0},
			Message:      "mailtest: temporary failure (FailNext)",
		}
	}
	msg := parse(raw)
	msg.From = from
	msg.To = append([]string(nil), to...)
	s.messages = append(s.messages, msg)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

// session is one SMTP connection's state.
type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.s.opts.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && identity != user {
			return smtp.ErrAuthFailed
		}
		if user != ss.s.opts.user || pass != ss.s.opts.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return ss.s.deliver(ss.from, ss.to, raw)
}

func (ss *session) Reset() {
	ss.from = ""
	ss.to = nil
}

func (ss *session) Logout() error { return nil }
