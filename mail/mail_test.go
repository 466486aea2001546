package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
)

const from = "weftid@localhost"

// newMailer returns a Mailer for srv with a tiny backoff so retries are fast.
func newMailer(t *testing.T, cfg mail.Config) *mail.Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = from
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	m, err := mail.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New(%q): %v", cfg.SMTPURL, err)
	}
	return m
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSendDelivers(t *testing.T) {
	tests := []struct {
		name    string
		opts    []mailtest.Option
		wantURL string
	}{
		{"plain", nil, "smtp://127.0.0.1:"},
		{"auth in clear on loopback", []mailtest.Option{mailtest.WithAuth("ann", "p@ss:w/rd")}, "smtp://ann:"},
		{"starttls", []mailtest.Option{mailtest.WithTLS()}, "?starttls"},
		{"auth over starttls", []mailtest.Option{mailtest.WithTLS(), mailtest.WithAuth("ann", "secret")}, "?starttls"},
		{"implicit tls", []mailtest.Option{mailtest.WithImplicitTLS()}, "smtps://127.0.0.1:"},
		{"auth over implicit tls", []mailtest.Option{mailtest.WithImplicitTLS(), mailtest.WithAuth("ann", "secret")}, "smtps://ann:secret@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts...)
			if !strings.Contains(srv.URL(), tt.wantURL) {
				t.Errorf("URL() = %q, want it to contain %q", srv.URL(), tt.wantURL)
			}
			m := newMailer(t, mail.Config{SMTPURL: srv.URL(), TLSConfig: srv.TLSConfig()})
			if m.Logging() {
				t.Fatal("Logging() = true with an SMTP URL")
			}

			msg := mail.LoginCode("bob@example.com", "Bob Ünicode", "042917", 10*time.Minute)
			if err := m.Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := srv.WaitFor(waitCtx(t), "bob@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if got.From != from {
				t.Errorf("From = %q, want %q", got.From, from)
			}
			if len(got.To) != 1 || got.To[0] != "bob@example.com" {
				t.Errorf("To = %q, want [bob@example.com]", got.To)
			}
			if got.Subject != msg.Subject {
				t.Errorf("Subject = %q, want %q", got.Subject, msg.Subject)
			}
			if got.Text != msg.Text {
				t.Errorf("Text = %q, want %q", got.Text, msg.Text)
			}
			if got.HTML != msg.HTML {
				t.Errorf("HTML = %q, want %q", got.HTML, msg.HTML)
			}
			if code := mailtest.FindCode(got.Text); code != "042917" {
				t.Errorf("FindCode(Text) = %q, want 042917", code)
			}
			if !bytes.Contains(got.Raw, []byte("From: <"+from+">")) {
				t.Errorf("header From missing in:\n%s", got.Raw)
			}
		})
	}
}

func TestSendWrongPassword(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithTLS(), mailtest.WithAuth("ann", "secret"))
	u, _ := url.Parse(srv.URL())
	u.User = url.UserPassword("ann", "n0t-the-pa55")
	m := newMailer(t, mail.Config{SMTPURL: u.String(), TLSConfig: srv.TLSConfig(), Attempts: 2})

	err := m.Send(context.Background(), mail.Generic("bob@example.com", "Hi", "Hello.", "", ""))
	if err == nil {
		t.Fatal("Send with a wrong password: got nil error")
	}
	if !strings.Contains(err.Error(), "after 2 attempts") {
		t.Errorf("error %q does not name the 2 attempts", err)
	}
	if strings.Contains(err.Error(), "n0t-the-pa55") {
		t.Errorf("error %q shows the password", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server got %d messages, want 0", n)
	}
}

func TestSendStartTLSRequired(t *testing.T) {
	// The server offers no STARTTLS but the URL demands it: no mail in clear.
	srv := mailtest.Start(t)
	m := newMailer(t, mail.Config{SMTPURL: srv.URL() + "?starttls", Attempts: 1})
	err := m.Send(context.Background(), mail.Generic("bob@example.com", "Hi", "Hello.", "", ""))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("Send = %v, want an error about STARTTLS", err)
	}
}

func TestSendRetries(t *testing.T) {
	tests := []struct {
		name     string
		failNext int
		wantErr  bool
		wantData int
		wantMsgs int
	}{
		{"two failures then delivered", 2, false, 3, 1},
		{"fails every attempt", 5, true, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t)
			srv.FailNext(tt.failNext)
			m := newMailer(t, mail.Config{SMTPURL: srv.URL(), Attempts: 3})

			err := m.Send(context.Background(), mail.Generic("bob@example.com", "Hi", "Hello.", "", ""))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send error = %v, want error: %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "after 3 attempts") {
				t.Errorf("error %q does not name the 3 attempts", err)
			}
			if got := srv.DataCommands(); got != tt.wantData {
				t.Errorf("DATA commands = %d, want %d", got, tt.wantData)
			}
			if got := len(srv.Messages()); got != tt.wantMsgs {
				t.Errorf("messages = %d, want %d", got, tt.wantMsgs)
			}
		})
	}
}

func TestSendCancelStopsRetrying(t *testing.T) {
	srv := mailtest.Start(t)
	srv.FailNext(100)
	m := newMailer(t, mail.Config{SMTPURL: srv.URL(), Attempts: 5, Backoff: 10 * time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := m.Send(ctx, mail.Generic("bob@example.com", "Hi", "Hello.", "", ""))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Send took %v after its context ended", elapsed)
	}
	if got := srv.DataCommands(); got != 1 {
		t.Errorf("DATA commands = %d, want 1", got)
	}
}

func TestSendUnreachable(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	// silent accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	tests := []struct {
		name string
		addr string
	}{
		{"closed port", closedAddr},
		{"server never answers", silent.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const timeout = 300 * time.Millisecond
			m := newMailer(t, mail.Config{SMTPURL: "smtp://" + tt.addr, Attempts: 2, Timeout: timeout})
			start := time.Now()
			err := m.Send(context.Background(), mail.Generic("bob@example.com", "Hi", "Hello.", "", ""))
			if err == nil {
				t.Fatal("Send: got nil error")
			}
			if elapsed := time.Since(start); elapsed > 2*timeout+time.Second {
				t.Errorf("Send took %v, want about 2 x %v at most", elapsed, timeout)
			}
		})
	}
}

func TestSendBadAddressIsNotRetried(t *testing.T) {
	srv := mailtest.Start(t)
	m := newMailer(t, mail.Config{SMTPURL: srv.URL()})
	if err := m.Send(context.Background(), mail.Generic("not an address", "Hi", "Hello.", "", "")); err == nil {
		t.Error("Send to a malformed address: got nil error")
	}
	if got := srv.DataCommands(); got != 0 {
		t.Errorf("DATA commands = %d, want 0", got)
	}
}

func TestLogMode(t *testing.T) {
	var buf bytes.Buffer
	m, err := mail.New(mail.Config{From: from}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Logging() {
		t.Error("Logging() = false without an SMTP URL")
	}
	if got := buf.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "--smtp") {
		t.Errorf("New logged %q, want a WARN about --smtp", got)
	}

	buf.Reset()
	msg := mail.LoginCode("bob@example.com", "Bob", "731904", 5*time.Minute)
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatalf("Send in log mode: %v", err)
	}
	got := buf.String()
	for _, want := range []string{"level=INFO", "bob@example.com", msg.Subject, "731904"} {
		if !strings.Contains(got, want) {
			t.Errorf("log %q does not contain %q", got, want)
		}
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string
	}{
		{"http://mail.example.com", "unknown SMTP URL scheme"},
		{"smtp://mail.example.com:99999", "port"},
		{"smtp://mail.example.com:0", "port"},
		{"smtp://user:hunter2@mail.example.com:abc", "port"},
		{"smtp://mail.example.com?tls=1", "unknown SMTP URL option"},
		{"smtp://mail.example.com?starttls=maybe", "starttls"},
		{"smtps://mail.example.com?starttls", "smtps"},
		{"smtp://", "no host"},
		{"smtp://mail.example.com/inbox", "path"},
		{"smtp://user:hunter2@%zz", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := mail.New(mail.Config{SMTPURL: tt.url, From: from}, slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatalf("New(%q): got nil error, want one about %q", tt.url, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%q) = %q, want it to mention %q", tt.url, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestNewAcceptsURLs(t *testing.T) {
	for _, u := range []string{
		"smtp://mail.example.com",
		"smtp://mail.example.com:25",
		"smtp://mail.example.com:587?starttls",
		"smtp://mail.example.com?starttls=false",
		"smtp://user%40example.com:p%40ss@mail.example.com",
		"smtps://user:pass@mail.example.com",
		"smtp://[::1]:2525/",
	} {
		if _, err := mail.New(mail.Config{SMTPURL: u, From: from}, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("New(%q): %v", u, err)
		}
	}
}
