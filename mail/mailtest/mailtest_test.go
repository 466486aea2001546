package mailtest_test

import (
	"context"
	"errors"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/mail/mailtest"
)

// send delivers raw with the standard library client, independent of package mail.
func send(t *testing.T, srv *mailtest.Server, auth smtp.Auth, to string, raw string) error {
	t.Helper()
	return smtp.SendMail(srv.Addr(), auth, "weftid@localhost", []string{to}, []byte(strings.ReplaceAll(raw, "\n", "\r\n")))
}

const multipartMsg = `From: weftid <weftid@localhost>
To: ann@example.com
Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Your code is 123456. A very long line that a quoted-printable encoder wraps =
with a soft break, and caf=C3=A9.
--b1
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: base64

PHA+WW91ciBjb2RlIGlzIDxiPjEyMzQ1NjwvYj48L3A+
--b1--
`

func TestReceiveDecodes(t *testing.T) {
	srv := mailtest.Start(t)
	if err := send(t, srv, nil, "ann@example.com", multipartMsg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := srv.WaitFor(ctx, "ANN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ field, got, want string }{
		{"From", got.From, "weftid@localhost"},
		{"To", strings.Join(got.To, ","), "ann@example.com"},
		{"Subject", got.Subject, "Grüße"},
		{"Text", got.Text, "Your code is 123456. A very long line that a quoted-printable encoder wraps with a soft break, and café."},
		{"HTML", got.HTML, "<p>Your code is <b>123456</b></p>"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !strings.Contains(string(got.Raw), "boundary=\"b1\"") {
		t.Errorf("Raw is not the message as sent:\n%s", got.Raw)
	}
}

func TestWaitForCursor(t *testing.T) {
	srv := mailtest.Start(t)
	for _, subject := range []string{"one", "two"} {
		if err := send(t, srv, nil, "ann@example.com", "Subject: "+subject+"\n\nbody\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(t, srv, nil, "bob@example.com", "Subject: bob\n\nbody\n"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, want := range []string{"one", "two"} {
		got, err := srv.WaitFor(ctx, "ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != want {
			t.Errorf("WaitFor(ann) Subject = %q, want %q", got.Subject, want)
		}
	}
	if got, err := srv.WaitFor(ctx, "bob@example.com"); err != nil || got.Subject != "bob" {
		t.Errorf("WaitFor(bob) = %q, %v; want bob", got.Subject, err)
	}

	// A message that arrives while WaitFor blocks is returned.
	go func() {
		time.Sleep(20 * time.Millisecond)
		_ = smtp.SendMail(srv.Addr(), nil, "weftid@localhost", []string{"ann@example.com"}, []byte("Subject: three\r\n\r\nbody\r\n"))
	}()
	if got, err := srv.WaitFor(ctx, "ann@example.com"); err != nil || got.Subject != "three" {
		t.Errorf("WaitFor(ann) = %q, %v; want three", got.Subject, err)
	}

	// Nothing more: WaitFor ends with its context.
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if _, err := srv.WaitFor(short, "ann@example.com"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor with nothing left = %v, want context.DeadlineExceeded", err)
	}
	if n := len(srv.Messages()); n != 4 {
		t.Errorf("Messages() has %d, want 4", n)
	}
}

func TestFailNext(t *testing.T) {
	srv := mailtest.Start(t)
	srv.FailNext(1)
	err := send(t, srv, nil, "ann@example.com", "Subject: x\n\nbody\n")
	if err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("first send = %v, want a 451", err)
	}
	if err := send(t, srv, nil, "ann@example.com", "Subject: x\n\nbody\n"); err != nil {
		t.Errorf("second send: %v", err)
	}
	if got := srv.DataCommands(); got != 2 {
		t.Errorf("DataCommands() = %d, want 2", got)
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("Messages() has %d, want 1", got)
	}
}

func TestAuth(t *testing.T) {
	srv := mailtest.Start(t, mailtest.WithAuth("ann", "secret"))
	if err := send(t, srv, nil, "bob@example.com", "Subject: x\n\nbody\n"); err == nil {
		t.Error("send without AUTH succeeded")
	}
	if err := send(t, srv, smtp.PlainAuth("", "ann", "nope", "127.0.0.1"), "bob@example.com", "Subject: x\n\nbody\n"); err == nil {
		t.Error("send with a wrong password succeeded")
	}
	if err := send(t, srv, smtp.PlainAuth("", "ann", "secret", "127.0.0.1"), "bob@example.com", "Subject: x\n\nbody\n"); err != nil {
		t.Errorf("send with the right password: %v", err)
	}
}

func TestURLAndTLSConfig(t *testing.T) {
	tests := []struct {
		name    string
		opts    []mailtest.Option
		prefix  string
		suffix  string
		withTLS bool
	}{
		{"plain", nil, "smtp://127.0.0.1:", "", false},
		{"auth", []mailtest.Option{mailtest.WithAuth("a b", "p@ss")}, "smtp://a%20b:p%40ss@127.0.0.1:", "", false},
		{"starttls", []mailtest.Option{mailtest.WithTLS()}, "smtp://127.0.0.1:", "?starttls", true},
		{"implicit", []mailtest.Option{mailtest.WithImplicitTLS()}, "smtps://127.0.0.1:", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts...)
			u := srv.URL()
			if !strings.HasPrefix(u, tt.prefix) || !strings.HasSuffix(u, tt.suffix) {
				t.Errorf("URL() = %q, want %q...%q", u, tt.prefix, tt.suffix)
			}
			if got := srv.TLSConfig() != nil; got != tt.withTLS {
				t.Errorf("TLSConfig() != nil is %v, want %v", got, tt.withTLS)
			}
		})
	}
}

func TestFindCode(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Your code is:\n\n    042917\n\nIt is valid for 10 minutes.", "042917"},
		{"order 1234567 then 654321.", "654321"},
		{"x123456 and (987654)", "987654"},
		{"no code here, 12345", ""},
	}
	for _, tt := range tests {
		if got := mailtest.FindCode(tt.text); got != tt.want {
			t.Errorf("FindCode(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestFindLink(t *testing.T) {
	text := "See http://localhost:8080/help.\nReset: http://localhost:8080/password/reset/abc123, or (http://localhost:8080/password/reset/def).\n"
	tests := []struct{ prefix, want string }{
		{"http://localhost:8080/password/reset/", "http://localhost:8080/password/reset/abc123"},
		{"http://localhost:8080/help", "http://localhost:8080/help"},
		{"http://localhost:8080/", "http://localhost:8080/help"},
		{"https://", ""},
	}
	for _, tt := range tests {
		if got := mailtest.FindLink(text, tt.prefix); got != tt.want {
			t.Errorf("FindLink(text, %q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
}
