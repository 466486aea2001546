package handlers_test

// The harness every handler test uses: a real SQLite file with the real migrations, the real
// fiber app from handlers.New, the real mailer talking to an in-process SMTP server, a real
// argon2id hasher with cheap parameters, and a clock the tests move by hand.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// testParams are cheap argon2id parameters: fine for tests, never for production.
var testParams = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	baseURL      = "http://localhost:8080"
	testPassword = "correct horse battery staple"
	codeSubject  = "Your weftid sign-in code"
)

// The messages the pages show, copied here on purpose: a change to what people read should be
// a deliberate change to these tests too.
const (
	msgGeneric       = "Incorrect email or password, or the account cannot sign in."
	msgThrottled     = "Too many attempts. Wait a few minutes and try again."
	msgCodeFailure   = "That code is incorrect or has expired. Check your latest email, or send a new code."
	msgCodeTooMany   = "Too many wrong codes. Send a new code to try again."
	msgSendFailure   = "We could not send the code, try again."
	msgResendLimited = "You can ask for a new code 3 times in 5 minutes. Wait a few minutes, or use the latest code we sent."
)

// clock is the injected time source: tests advance it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	// A whole second, so the stored Unix seconds and the clock agree exactly.
	return &clock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testLog collects the server's log and prints it only when the test fails.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// env is one running weftid: its own database, SMTP server, clock and app.
type env struct {
	t      *testing.T
	app    *fiber.App
	store  *store.Store
	db     string // the database: a path or a URL
	mail   *mailtest.Server
	clock  *clock
	keys   auth.Keys
	hasher *auth.Hasher
	log    *testLog
	// jobs runs the app's background work; Wait on it before asserting what that work did.
	jobs   *jobs.Runner
	nextIP int
}

// envOptions changes one part of the standard environment.
type envOptions struct {
	hasher  *auth.Hasher   // default: testParams, 2 workers, a queue of 16, 5 s wait
	baseURL string         // default: baseURL
	hibp    *breach.Client // default: nil, breach checking off
	db      string         // a path or a URL; default: a fresh database of the suite's dialect (storetest)
	// samlAllowedHosts may serve SAML metadata from loopback (default: none)
	samlAllowedHosts []string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, envOptions{}) }

func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	db := o.db
	if db == "" {
		db = storetest.DB(t)
	}
	st := storetest.OpenAt(t, db)

	logs := &testLog{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() && logs.String() != "" {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	srv := mailtest.Start(t)
	smtpReady(t, srv.Addr())
	mailer, err := mail.New(mail.Config{
		SMTPURL: srv.URL(), From: "weftid@localhost",
		Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second,
	}, logger)
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}

	hasher := o.hasher
	if hasher == nil {
		if hasher, err = auth.NewHasher(testParams, 2, 16, 5*time.Second); err != nil {
			t.Fatalf("auth.NewHasher: %v", err)
		}
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(secret)

	base := o.baseURL
	if base == "" {
		base = baseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	runner := jobs.New(ctx, logger)
	t.Cleanup(func() { runner.Stop(context.Background()) })
	app := handlers.New(handlers.Config{
		BaseURL: u, Store: st, Mailer: mailer, Hasher: hasher, Keys: keys, Log: logger,
		Now: clk.Now,
		// app.Test connects from 0.0.0.0; trusting it lets each test client have its own
		// address in X-Forwarded-For, so per-IP throttles can be told apart.
		TrustedProxies: []string{"0.0.0.0"},
		HIBP:           o.hibp,
		Jobs:           runner,
		// Test servers on loopback may serve SAML metadata when a test allows them.
		SAMLMetadataAllowedHosts: o.samlAllowedHosts,
	})
	return &env{t: t, app: app, store: st, db: db, mail: srv, clock: clk, keys: keys, hasher: hasher, log: logs, jobs: runner}
}

// smtpReady waits for the test SMTP server's greeting. mailtest.Start serves in a goroutine and
// its cleanup closes only the listeners Serve has registered; a test that ended before that
// goroutine ran would wait forever in cleanup. A greeting proves Serve is accepting.
func smtpReady(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("test SMTP server: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220") {
		t.Fatalf("test SMTP server greeting: %q, %v", line, err)
	}
	fmt.Fprintf(conn, "QUIT\r\n")
}

// createUser stores an account with a password hashed with the test parameters.
func (e *env) createUser(email, name string, role store.Role, status store.Status) store.User {
	e.t.Helper()
	hash, err := auth.HashPassword(testPassword, testParams)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.createUserWithHash(email, name, role, status, hash)
}

func (e *env) createUserWithHash(email, name string, role store.Role, status store.Status, hash string) store.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), store.User{
		Email: email, Name: name, Role: role, Status: status, PasswordHash: hash,
	}, e.clock.Now())
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// user reads an account back from the store.
func (e *env) user(id int64) store.User {
	e.t.Helper()
	u, err := e.store.UserByID(context.Background(), id)
	if err != nil {
		e.t.Fatalf("UserByID(%d): %v", id, err)
	}
	return u
}

// events returns every event, oldest first.
func (e *env) events() []store.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(context.Background(), store.EventFilter{Limit: 1000})
	if err != nil {
		e.t.Fatalf("ListEvents: %v", err)
	}
	slices.Reverse(evs)
	return evs
}

// eventsOf returns the events of one type, oldest first.
func (e *env) eventsOf(typ string) []store.Event {
	e.t.Helper()
	var out []store.Event
	for _, ev := range e.events() {
		if string(ev.Type) == typ {
			out = append(out, ev)
		}
	}
	return out
}

// lastEvent is the newest event of a type; the test fails when there is none.
func (e *env) lastEvent(typ string) store.Event {
	e.t.Helper()
	evs := e.eventsOf(typ)
	if len(evs) == 0 {
		e.t.Fatalf("no %s event; events: %s", typ, eventSummary(e.events()))
	}
	return evs[len(evs)-1]
}

func eventSummary(evs []store.Event) string {
	var parts []string
	for _, ev := range evs {
		uid := "nil"
		if ev.UserID != nil {
			uid = fmt.Sprint(*ev.UserID)
		}
		parts = append(parts, fmt.Sprintf("%s(user=%s %v)", ev.Type, uid, ev.Details))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// checkEvent compares an event's type, subject and details reason (want 0 for "no user").
func checkEvent(t *testing.T, ev store.Event, typ string, userID int64, reason string) {
	t.Helper()
	if string(ev.Type) != typ {
		t.Errorf("event type: got %q, want %q", ev.Type, typ)
	}
	switch {
	case userID == 0 && ev.UserID != nil:
		t.Errorf("%s user_id: got %d, want none", typ, *ev.UserID)
	case userID != 0 && ev.UserID == nil:
		t.Errorf("%s user_id: got none, want %d", typ, userID)
	case userID != 0 && *ev.UserID != userID:
		t.Errorf("%s user_id: got %d, want %d", typ, *ev.UserID, userID)
	}
	if reason != "" {
		if got, _ := ev.Details["reason"].(string); got != reason {
			t.Errorf("%s reason: got %q, want %q (details %v)", typ, got, reason, ev.Details)
		}
	}
}

// typesOf lists the events' types, for comparing sequences.
func typesOf(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Type)
	}
	return out
}

// waitMail returns the next message to addr that no earlier waitMail returned (nor waitSubject
// passed over).
func (e *env) waitMail(addr string) mailtest.Received {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := e.mail.WaitFor(ctx, addr)
	if err != nil {
		e.t.Fatalf("waiting for mail: %v", err)
	}
	return msg
}

// waitCode returns the code of the next sign-in mail to addr, passing over the notices mailed
// before it (a notice goes in the background, so its place among the mails is not fixed).
func (e *env) waitCode(addr string) string {
	e.t.Helper()
	msg := e.waitSubject(addr, codeSubject)
	code := mailtest.FindCode(msg.Text)
	if code == "" {
		e.t.Fatalf("no code in mail:\n%s", msg.Text)
	}
	return code
}

// waitSubject returns the next message to addr with that subject, passing over the others
// before it.
func (e *env) waitSubject(addr, subject string) mailtest.Received {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := e.mail.WaitForSubject(ctx, addr, subject)
	if err != nil {
		e.t.Fatalf("waiting for mail: %v", err)
	}
	return msg
}

// mailsTo counts the messages accepted for addr.
func (e *env) mailsTo(addr string) int { return e.mailsWith(addr, "") }

// codeMailsTo counts the sign-in code mails accepted for addr (not the notices, which are mailed
// in the background).
func (e *env) codeMailsTo(addr string) int { return e.mailsWith(addr, codeSubject) }

// mailsWith counts the messages accepted for addr with that subject ("" any).
func (e *env) mailsWith(addr, subject string) int {
	n := 0
	for _, m := range e.mail.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) && (subject == "" || m.Subject == subject) {
				n++
			}
		}
	}
	return n
}
