package breach_test

// The weekly job and the set-time verdict against the real SQLite store (its real
// migrations, in t.TempDir()), the loopback range service of breachtest and the in-process
// SMTP server.

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	// The SQLite driver, to look at rows directly and put OAuth2 token rows in.

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

const (
	// breachedPW passes the password rule (strong, 14+ characters) but the test servers list it.
	breachedPW = "quiet lantern orbit mosaic 2019"
	cleanPW    = "plum tractor velvet harbour 42"
	breachMail = "A password was found in a data breach"
)

// clock is the injected time source, in whole seconds as the store keeps them: tests advance
// it instead of sleeping.
type clock struct{ unix atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(c.unix.Load(), 0).UTC() }
func (c *clock) Advance(d time.Duration) { c.unix.Add(int64(d / time.Second)) }

// env is one weftid database with its SMTP server, secret keys and clock.
type env struct {
	t     *testing.T
	store *store.Store
	db    *storetest.Raw // the same database, for looking at rows directly
	mail  *mailtest.Server
	keys  auth.Keys
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dsn := storetest.DB(t)
	st := storetest.OpenAt(t, dsn)
	db := storetest.RawDB(t, dsn)
	e := &env{t: t, store: st, db: db, mail: mailtest.Start(t), keys: auth.NewKeys([]byte("breach tests: 32 bytes of secret")), clock: &clock{}}
	e.clock.unix.Store(time.Now().Unix())
	return e
}

// job makes the breach service on this env's database, as serve does after a (re)start.
func (e *env) job(c *breach.Client, concurrency int) *breach.Service {
	e.t.Helper()
	mailer, err := mail.New(mail.Config{SMTPURL: e.mail.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	base, _ := url.Parse("http://localhost:8080")
	return breach.New(breach.Config{
		Store: e.store, Mailer: mailer, Keys: e.keys, Client: c, Now: e.clock.Now, BaseURL: base, Concurrency: concurrency,
		Log: slog.New(slog.NewTextHandler(e.t.Output(), nil)),
	})
}

// createUser stores an account whose password has no breach fingerprint yet.
func (e *env) createUser(email, name string, role store.Role, status store.Status) store.User {
	e.t.Helper()
	u, err := e.store.CreateUser(context.Background(), store.User{Email: email, Name: name, Role: role, Status: status, PasswordHash: "$argon2id$old"}, e.clock.Now())
	if err != nil {
		e.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// setPassword stores a password for a user as every set site does.
func (e *env) setPassword(u store.User, password string) {
	e.t.Helper()
	rec := breach.Record(e.keys, "$argon2id$test", password, auth.PasswordSubject{Email: u.Email}, auth.PasswordPolicy{})
	if err := e.store.SetPassword(context.Background(), u.ID, rec, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) user(id int64) store.User {
	e.t.Helper()
	u, err := e.store.UserByID(context.Background(), id)
	if err != nil {
		e.t.Fatalf("UserByID(%d): %v", id, err)
	}
	return u
}

// fingerprint reads a user's stored breach prefix and HMAC.
func (e *env) fingerprint(id int64) (prefix string, mac []byte) {
	e.t.Helper()
	if err := e.db.QueryRow(`SELECT breach_prefix, breach_hmac FROM users WHERE id = ?`, id).Scan(&prefix, &mac); err != nil {
		e.t.Fatal(err)
	}
	return prefix, mac
}

// addTokens puts n OAuth2 access and n refresh tokens of a user in the token tables.
func (e *env) addTokens(id int64, n int) {
	e.t.Helper()
	for i := range n {
		key := []byte(fmt.Sprintf("%d-%d", id, i))
		if _, err := e.db.Exec(`INSERT INTO oauth_access_tokens (id_hash, grant_id, client_id, subject, user_id, scopes, audience, issued_at, expires_at)
			VALUES (?, 'g', 'c', ?, ?, 'openid', 'c', 1, 9999999999)`, key, fmt.Sprint(id), id); err != nil {
			e.t.Fatal(err)
		}
		if _, err := e.db.Exec(`INSERT INTO oauth_refresh_tokens (token_hash, grant_id, client_id, user_id, scopes, auth_time, expires_at)
			VALUES (?, 'g', 'c', ?, 'openid', 1, 9999999999)`, key, id); err != nil {
			e.t.Fatal(err)
		}
	}
}

// tokens counts a user's OAuth2 access and refresh tokens.
func (e *env) tokens(id int64) (n int) {
	e.t.Helper()
	if err := e.db.QueryRow(`SELECT (SELECT count(*) FROM oauth_access_tokens WHERE user_id = ?) + (SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = ?)`, id, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) jobState() store.BreachJob {
	e.t.Helper()
	j, err := e.store.BreachJob(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// eventsOf returns the events of one type, oldest first; all of them for "".
func (e *env) eventsOf(typ store.EventType) []store.Event {
	e.t.Helper()
	evs, err := e.store.ListEvents(context.Background(), store.EventFilter{Limit: 1000})
	if err != nil {
		e.t.Fatalf("ListEvents: %v", err)
	}
	slices.Reverse(evs)
	return slices.DeleteFunc(evs, func(ev store.Event) bool { return typ != "" && ev.Type != typ })
}

// lastEvent is the newest event of a type; the test fails when there is none.
func (e *env) lastEvent(typ store.EventType) store.Event {
	e.t.Helper()
	evs := e.eventsOf(typ)
	if len(evs) == 0 {
		e.t.Fatalf("no %s event; events: %s", typ, eventSummary(e.eventsOf("")))
	}
	return evs[len(evs)-1]
}

func eventSummary(evs []store.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		uid := "nil"
		if ev.UserID != nil {
			uid = fmt.Sprint(*ev.UserID)
		}
		parts[i] = fmt.Sprintf("%s(user=%s %v)", ev.Type, uid, ev.Details)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// waitMail returns the next message to addr that no earlier waitMail returned.
func (e *env) waitMail(addr string) mailtest.Received {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := e.mail.WaitFor(ctx, addr)
	if err != nil {
		e.t.Fatalf("waiting for mail to %s: %v", addr, err)
	}
	return msg
}

// mailsTo counts the messages accepted for addr.
func (e *env) mailsTo(addr string) (n int) {
	for _, m := range e.mail.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}
