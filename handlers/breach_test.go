package handlers_test

// Breach detection through the real app and the real weekly job: a loopback server that
// speaks the Have I Been Pwned range protocol with padding (and a directory of range files),
// the real SQLite store, and the in-process SMTP server.

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	// The SQLite driver, to put OAuth2 token rows in directly.
	_ "github.com/mattn/go-sqlite3"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/store"
)

const (
	// breachedPW passes the password rule (strong, 14+ characters) but the test servers list it.
	breachedPW  = "quiet lantern orbit mosaic 2019"
	cleanPW     = "plum tractor velvet harbour 42"
	msgBreached = "This password has appeared in a data breach, so attackers try it early. Choose a different password."
	breachMail  = "A password was found in a data breach"
)

func sha1Of(password string) [sha1.Size]byte { return sha1.Sum([]byte(password)) }

func hexOf(sum [sha1.Size]byte) string { return strings.ToUpper(hex.EncodeToString(sum[:])) }

// writeRange writes the answer for prefix: the breached hashes that have it, filler lines of
// other breached hashes, and padding lines (count 0), as the real service does.
func writeRange(w interface{ Write([]byte) (int, error) }, prefix string, breached map[string]int, filler, padding int) {
	buf := make([]byte, 0, 64*(len(breached)+filler+padding))
	for h, n := range breached {
		if strings.HasPrefix(h, prefix) {
			buf = fmt.Appendf(buf, "%s:%d\r\n", h[5:], n)
		}
	}
	// Filler and padding are derived from the prefix, so answers are stable.
	seed := sha1.Sum([]byte(prefix))
	for i := range filler + padding {
		seed = sha1.Sum(seed[:])
		count := 0
		if i < filler {
			count = int(seed[0]) + 1
		}
		buf = fmt.Appendf(buf, "%s:%d\r\n", hexOf(seed)[5:], count)
	}
	w.Write(buf)
}

// rangeServer is the loopback range service. It counts the requests for each prefix.
type rangeServer struct {
	*httptest.Server
	breached map[string]int // full upper-case SHA-1 -> count
	filler   int
	padding  int

	mu       sync.Mutex
	requests map[string]int
	total    int
	// before, when set, runs before the n-th request (from 1) is answered; a status other
	// than 0 is answered instead of the range.
	before func(n int, prefix string) int
}

func newRangeServer(t testing.TB, breached ...string) *rangeServer {
	s := &rangeServer{breached: map[string]int{}, requests: map[string]int{}, filler: 20, padding: 30}
	for _, p := range breached {
		s.breached[hexOf(sha1Of(p))] = 1234
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 || r.Header.Get("Add-Padding") != "true" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests[prefix]++
		s.total++
		n, before := s.total, s.before
		s.mu.Unlock()
		if before != nil {
			if status := before(n, prefix); status != 0 {
				w.WriteHeader(status)
				return
			}
		}
		writeRange(w, prefix, s.breached, s.filler, s.padding)
	}))
	t.Cleanup(s.Close)
	return s
}

// counts returns the requests per prefix so far and resets them.
func (s *rangeServer) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = map[string]int{}
	return out
}

func (s *rangeServer) client(t testing.TB) *breach.Client {
	t.Helper()
	return hibpClient(t, s.URL)
}

// hibpClient makes a range client whose retries do not sleep.
func hibpClient(t testing.TB, setting string) *breach.Client {
	t.Helper()
	c, err := breach.NewClient(setting, "test")
	if err != nil {
		t.Fatalf("NewHIBP(%s): %v", setting, err)
	}
	c.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return c
}

// rangeDir writes range files (as the official downloader does) for every prefix of passwords.
func rangeDir(t *testing.T, breached []string, passwords ...string) string {
	t.Helper()
	dir := t.TempDir()
	m := map[string]int{}
	for _, p := range breached {
		m[hexOf(sha1Of(p))] = 99
	}
	for _, p := range append(passwords, breached...) {
		prefix := hexOf(sha1Of(p))[:5]
		f, err := os.Create(filepath.Join(dir, prefix+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		writeRange(f, prefix, m, 10, 10)
		f.Close()
	}
	return dir
}

// breachEnv is an env whose app checks passwords against hibp, with its database file open for
// direct inspection.
type breachEnv struct {
	*env
	db   *sql.DB
	path string
}

func newBreachEnv(t *testing.T, hibp *breach.Client) *breachEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weftid.db")
	e := newEnvWith(t, envOptions{hibp: hibp, dbPath: path})
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &breachEnv{env: e, db: db, path: path}
}

// job makes a weekly job on this env's database, as serve would after a (re)start.
func (e *breachEnv) job(hibp *breach.Client, concurrency int) *handlers.BreachJob {
	e.t.Helper()
	mailer, err := mail.New(mail.Config{SMTPURL: e.mail.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(baseURL)
	return handlers.NewBreachJob(handlers.BreachJobConfig{
		Store: e.store, Mailer: mailer, Keys: e.keys, HIBP: hibp, Now: e.clock.Now, BaseURL: u, Concurrency: concurrency,
		Log: slog.New(slog.NewTextHandler(e.log, nil)),
	})
}

// fingerprint reads a user's stored breach prefix and HMAC.
func (e *breachEnv) fingerprint(id int64) (string, []byte) {
	e.t.Helper()
	var prefix string
	var mac []byte
	if err := e.db.QueryRow(`SELECT breach_prefix, breach_hmac FROM users WHERE id = ?`, id).Scan(&prefix, &mac); err != nil {
		e.t.Fatal(err)
	}
	return prefix, mac
}

func (e *breachEnv) expectFingerprint(id int64, password string) {
	e.t.Helper()
	prefix, mac := e.fingerprint(id)
	wantPrefix, wantMAC := e.keys.BreachFingerprint(password)
	if prefix != wantPrefix || string(mac) != string(wantMAC) {
		e.t.Errorf("user %d fingerprint: got %q %x, want %q %x", id, prefix, mac, wantPrefix, wantMAC)
	}
}

// setPassword stores a password for a user as every set site does.
func (e *breachEnv) setPassword(u store.User, password string) {
	e.t.Helper()
	rec := handlers.PasswordRecord(e.keys, "$argon2id$test", password, auth.PasswordSubject{Email: u.Email}, auth.PasswordPolicy{})
	if err := e.store.SetPassword(context.Background(), u.ID, rec, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

// addTokens puts OAuth2 access and refresh tokens of a user in the token tables.
func (e *breachEnv) addTokens(id int64, n int) {
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

func (e *breachEnv) tokens(id int64) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(`SELECT (SELECT count(*) FROM oauth_access_tokens WHERE user_id = ?) + (SELECT count(*) FROM oauth_refresh_tokens WHERE user_id = ?)`, id, id).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *breachEnv) jobState() store.BreachJob {
	e.t.Helper()
	j, err := e.store.BreachJob(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

// samePrefix finds two passwords whose SHA-1s share their first 5 hex characters.
func samePrefix(t *testing.T) (string, string) {
	t.Helper()
	seen := map[string]string{}
	for i := range 20000 {
		p := fmt.Sprintf("shared prefix password %d", i)
		prefix := hexOf(sha1Of(p))[:5]
		if other, ok := seen[prefix]; ok {
			return other, p
		}
		seen[prefix] = p
	}
	t.Fatal("no two passwords share a prefix")
	return "", ""
}

// expectBreachAlert checks that the page's one alert gives the breach message.
func expectBreachAlert(t *testing.T, r *response) {
	t.Helper()
	got := alerts(r.Body)
	if len(got) != 1 || !strings.HasSuffix(got[0], msgBreached) {
		t.Errorf("alerts: got %q, want one ending %q", got, msgBreached)
	}
}

func TestBreachedPasswordRefusedAtEverySetSite(t *testing.T) {
	if check := auth.CheckPassword(breachedPW, auth.PasswordSubject{SuperAdmin: true}, auth.PasswordPolicy{}); !check.OK() {
		t.Fatalf("test data: %q does not pass the password rule: %v", breachedPW, check.Unmet())
	}
	srv := newRangeServer(t, breachedPW)
	prefixOf := func(p string) string { return hexOf(sha1Of(p))[:5] }

	t.Run("setup", func(t *testing.T) {
		e := newBreachEnv(t, srv.client(t))
		path := e.setupLink()
		token := strings.TrimPrefix(path, "/setup?token=")
		c := e.newClient()
		c.get(path)
		form := func(p string) url.Values {
			return url.Values{"token": {token}, "name": {"Pat Root"}, "email": {"pat@example.com"}, "new_password": {p}, "confirm_password": {p}}
		}
		srv.counts()
		r := c.post("/setup", form(breachedPW))
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		if n, _ := e.store.CountUsers(context.Background()); n != 0 {
			t.Fatalf("a user was created with a breached password")
		}
		expectRedirect(t, c.post("/setup", form(cleanPW)), "/login?notice=setup_done")
		if got := srv.counts(); got[prefixOf(breachedPW)] != 1 || got[prefixOf(cleanPW)] != 1 || len(got) != 2 {
			t.Errorf("requests: got %v, want one for each password's prefix", got)
		}
		u, err := e.store.UserByEmail(context.Background(), "pat@example.com")
		if err != nil {
			t.Fatal(err)
		}
		e.expectFingerprint(u.ID, cleanPW)
		if evs := e.eventsOf("password_breach_check_skipped"); len(evs) != 0 {
			t.Errorf("skipped events: %s", eventSummary(evs))
		}
	})

	t.Run("invitation", func(t *testing.T) {
		e := newBreachEnv(t, srv.client(t))
		_, ac := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
		u, link := e.invite(ac, "Nia New", "nia@example.com", store.RoleUser)
		nc := e.newClient()
		nc.get(link)
		r := acceptInvitation(nc, link, breachedPW, breachedPW)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		if got := e.user(u.ID); got.PasswordHash != "" {
			t.Fatal("the breached password was stored")
		}
		expectStatus(t, acceptInvitation(nc, link, cleanPW, cleanPW), http.StatusOK)
		e.expectFingerprint(u.ID, cleanPW)
	})

	t.Run("account password", func(t *testing.T) {
		e := newBreachEnv(t, srv.client(t))
		u, c := e.signedIn("ann@example.com", "Ann User", store.RoleUser)
		c.get("/account/password")
		before := e.user(u.ID).PasswordHash
		r := changePassword(c, testPassword, breachedPW, breachedPW)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		if e.user(u.ID).PasswordHash != before {
			t.Fatal("the breached password was stored")
		}
		expectRedirect(t, changePassword(c, testPassword, cleanPW, cleanPW), "/account/password?notice=changed")
		e.expectFingerprint(u.ID, cleanPW)
	})

	t.Run("forced reset", func(t *testing.T) {
		e := newBreachEnv(t, srv.client(t))
		u := e.createUser("fay@example.com", "Fay User", store.RoleUser, store.StatusActive)
		if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		c := e.newClient()
		c.get("/login")
		expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
		r := resetPassword(c, breachedPW, breachedPW)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		if !e.user(u.ID).PasswordResetRequired {
			t.Fatal("the breached password cleared the flag")
		}
		expectRedirect(t, resetPassword(c, cleanPW, cleanPW), "/login/verify")
		expectRedirect(t, c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}}), "/dashboard")
		e.expectFingerprint(u.ID, cleanPW)
	})

	t.Run("self-service reset", func(t *testing.T) {
		e := newBreachEnv(t, srv.client(t))
		u := e.createUser("sam@example.com", "Sam User", store.RoleUser, store.StatusActive)
		c := e.newClient()
		forgot(t, c, u.Email)
		path := e.resetLink(u.Email)
		c.get(path)
		r := c.post(path, url.Values{"new_password": {breachedPW}, "confirm_password": {breachedPW}})
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		expectRedirect(t, c.post(path, url.Values{"new_password": {cleanPW}, "confirm_password": {cleanPW}}), "/login?notice=password_reset")
		e.expectFingerprint(u.ID, cleanPW)
	})
}

// The live meter scores every keystroke; none of it may reach the breach service.
func TestStrengthMeterNeverAsksBreachService(t *testing.T) {
	srv := newRangeServer(t, breachedPW)
	e := newBreachEnv(t, srv.client(t))
	_, c := e.signedIn("ann@example.com", "Ann User", store.RoleUser)
	c.get("/account/password")
	for _, p := range []string{"q", "quiet lan", breachedPW} {
		r := c.post("/password/strength", url.Values{"new_password": {p}})
		expectStatus(t, r, http.StatusOK)
		if strings.Contains(r.Body, msgBreached) {
			t.Errorf("the meter speaks of breaches for %q", p)
		}
	}
	if got := srv.counts(); len(got) != 0 {
		t.Errorf("the meter asked the breach service: %v", got)
	}
}

// When the service cannot be reached the password is accepted, the event says the check was
// skipped, and the fingerprint is stored so the weekly job checks it.
func TestBreachServiceUnreachableAccepts(t *testing.T) {
	srv := newRangeServer(t)
	hibp := srv.client(t)
	srv.Close()
	e := newBreachEnv(t, hibp)
	u, c := e.signedIn("ann@example.com", "Ann User", store.RoleUser)
	c.get("/account/password")
	expectRedirect(t, changePassword(c, testPassword, breachedPW, breachedPW), "/account/password?notice=changed")
	ev := e.lastEvent("password_breach_check_skipped")
	checkEvent(t, ev, "password_breach_check_skipped", u.ID, "")
	if actorOf(ev) != u.ID || ev.Details["reason"] == "" || ev.IP == "" {
		t.Errorf("skipped event: actor %d, details %v, ip %q", actorOf(ev), ev.Details, ev.IP)
	}
	if d := detailsOf(ev); strings.Contains(d, breachedPW) || strings.Contains(d, hexOf(sha1Of(breachedPW))[:5]) {
		t.Errorf("the event carries the password or its prefix: %s", d)
	}
	e.expectFingerprint(u.ID, breachedPW)

	// The weekly job, once the service is back, finds it.
	back := newRangeServer(t, breachedPW)
	job := e.job(back.client(t), 2)
	ctx := context.Background()
	if err := job.Step(ctx); err != nil { // schedules the first run
		t.Fatal(err)
	}
	e.clock.Advance(handlers.BreachInterval)
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.user(u.ID).PasswordResetRequired {
		t.Error("the weekly job did not flag the password accepted while the service was down")
	}
}

func TestBreachWeeklyRun(t *testing.T) {
	hitPW, sharedCleanPW := samePrefix(t) // same prefix: only the HMAC tells them apart
	for _, source := range []string{"loopback server", "range files"} {
		t.Run(source, func(t *testing.T) {
			var srv *rangeServer
			var hibp *breach.Client
			if source == "loopback server" {
				srv = newRangeServer(t, hitPW, breachedPW)
				hibp = srv.client(t)
			} else {
				hibp = hibpClient(t, "file://"+rangeDir(t, []string{hitPW, breachedPW}, sharedCleanPW, cleanPW, "clean 1", "clean 2", "clean 3"))
			}
			e := newBreachEnv(t, nil) // the app itself checks nothing at set time here
			ctx := context.Background()

			root := e.createUser("root@example.com", "Root Super", store.RoleSuperAdmin, store.StatusActive)
			admin := e.createUser("admin@example.com", "Ada Admin", store.RoleAdmin, store.StatusActive)
			gone := e.createUser("gone@example.com", "Gone Admin", store.RoleAdmin, store.StatusInactive)
			hit := e.createUser("hit@example.com", "Hugo Hit", store.RoleUser, store.StatusActive)
			hit2 := e.createUser("hit2@example.com", "Hana Hit", store.RoleUser, store.StatusActive)
			neighbour := e.createUser("neighbour@example.com", "Ned Neighbour", store.RoleUser, store.StatusActive)
			e.setPassword(root, "clean 1")
			e.setPassword(admin, "clean 2")
			e.setPassword(gone, "clean 3")
			e.setPassword(hit, hitPW)
			e.setPassword(hit2, breachedPW)
			e.setPassword(neighbour, sharedCleanPW)
			var plain []store.User
			for i := range 4 {
				u := e.createUser(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
				e.setPassword(u, cleanPW) // four users, one password: one prefix
				plain = append(plain, u)
			}
			e.createUser("nopw@example.com", "No Password", store.RoleUser, store.StatusActive) // nothing to check
			e.addTokens(hit.ID, 2)
			e.addTokens(neighbour.ID, 1)

			job := e.job(hibp, 3)
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(handlers.BreachInterval)
			start := e.clock.Now()
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}

			for _, u := range []store.User{hit, hit2} {
				got := e.user(u.ID)
				if !got.PasswordResetRequired {
					t.Errorf("%s: password_reset_required not set", u.Email)
				}
				if prefix, mac := e.fingerprint(u.ID); prefix != "" || mac != nil {
					t.Errorf("%s: fingerprint not cleared: %q %x", u.Email, prefix, mac)
				}
			}
			for _, u := range append([]store.User{root, admin, gone, neighbour}, plain...) {
				if e.user(u.ID).PasswordResetRequired {
					t.Errorf("%s: flagged, but its password is not breached", u.Email)
				}
				if prefix, _ := e.fingerprint(u.ID); prefix == "" {
					t.Errorf("%s: fingerprint cleared", u.Email)
				}
			}
			if n := e.tokens(hit.ID); n != 0 {
				t.Errorf("hit user's tokens: %d left", n)
			}
			if n := e.tokens(neighbour.ID); n != 2 {
				t.Errorf("neighbour's tokens: got %d, want 2", n)
			}

			detected := e.eventsOf("password_breach_detected")
			if len(detected) != 2 {
				t.Fatalf("password_breach_detected: %s", eventSummary(detected))
			}
			for _, ev := range detected {
				if ev.ActorID != nil {
					t.Errorf("password_breach_detected actor: got %d, want the system (none)", *ev.ActorID)
				}
				if !ev.At.Equal(start) {
					t.Errorf("password_breach_detected at %v, want %v", ev.At, start)
				}
			}
			revoked := e.eventsOf("oauth2_user_tokens_revoked")
			if len(revoked) != 2 {
				t.Fatalf("oauth2_user_tokens_revoked: %s", eventSummary(revoked))
			}
			for _, ev := range revoked {
				want := 0.0
				if *ev.UserID == hit.ID {
					want = 4
				}
				if ev.ActorID != nil || ev.Details["tokens"] != want || ev.Details["reason"] != "password_breach_detected" {
					t.Errorf("oauth2_user_tokens_revoked for %d: actor %v details %v, want tokens %v", *ev.UserID, ev.ActorID, ev.Details, want)
				}
			}

			// Every active admin and super admin hears of each hit; nobody else does.
			for _, addr := range []string{root.Email, admin.Email} {
				seen := map[string]bool{}
				for range 2 {
					msg := e.waitMail(addr)
					if msg.Subject != breachMail {
						t.Fatalf("mail to %s: subject %q", addr, msg.Subject)
					}
					for _, u := range []store.User{hit, hit2} {
						if strings.Contains(msg.Text, u.Email) {
							seen[u.Email] = true
						}
					}
					for _, secret := range []string{hitPW, breachedPW, hexOf(sha1Of(hitPW)), hexOf(sha1Of(breachedPW))[5:]} {
						if strings.Contains(msg.Text, secret) || strings.Contains(msg.HTML, secret) {
							t.Errorf("mail to %s carries the password or its hash", addr)
						}
					}
				}
				if len(seen) != 2 {
					t.Errorf("mail to %s named %v, want both hit users", addr, seen)
				}
			}
			for _, addr := range []string{gone.Email, hit.Email, hit2.Email, neighbour.Email} {
				if n := e.mailsTo(addr); n != 0 {
					t.Errorf("%s got %d mails", addr, n)
				}
			}

			st := e.jobState()
			// 10 users with a password; "clean 1".."clean 3", the four plain users' password,
			// the shared prefix of hit and neighbour, and hit2's: 6 prefixes.
			if st.Running || st.LastUsersChecked != 10 || st.LastHits != 2 || st.LastRequests != 6 {
				t.Errorf("job after the run: %+v; want idle, 10 users, 2 hits, 6 requests", st)
			}
			if !st.NextRunAt.Equal(start.Add(handlers.BreachInterval)) || !st.LastFinishedAt.Equal(start) {
				t.Errorf("next run %v, last finished %v; want %v and %v", st.NextRunAt, st.LastFinishedAt, start.Add(handlers.BreachInterval), start)
			}
			if srv != nil {
				got := srv.counts()
				if len(got) != 6 {
					t.Errorf("distinct prefixes asked: got %d, want 6 (%v)", len(got), got)
				}
				for prefix, n := range got {
					if n != 1 {
						t.Errorf("prefix %s asked %d times, want once", prefix, n)
					}
				}
			}
			ev := e.lastEvent("password_breach_check_completed")
			if ev.Details["users_checked"] != 10.0 || ev.Details["hits"] != 2.0 || ev.ActorID != nil {
				t.Errorf("password_breach_check_completed: %v", ev.Details)
			}

			// The next run finds nothing new: the hit users' fingerprints are gone.
			e.clock.Advance(handlers.BreachInterval)
			if err := job.Step(ctx); err != nil {
				t.Fatal(err)
			}
			if st := e.jobState(); st.LastUsersChecked != 8 || st.LastHits != 0 {
				t.Errorf("second run: %d users, %d hits; want 8 and 0", st.LastUsersChecked, st.LastHits)
			}
			if n := len(e.eventsOf("password_breach_detected")); n != 2 {
				t.Errorf("password_breach_detected after the second run: %d, want 2", n)
			}
		})
	}
}

// The schedule lives in the database and follows the injected clock: a restart (a new job on
// the same database) neither repeats nor skips a run.
func TestBreachSchedule(t *testing.T) {
	srv := newRangeServer(t)
	e := newBreachEnv(t, nil)
	ctx := context.Background()
	u := e.createUser("ann@example.com", "Ann User", store.RoleUser, store.StatusActive)
	e.setPassword(u, cleanPW)
	t0 := e.clock.Now()

	step := func(job *handlers.BreachJob) int {
		t.Helper()
		if err := job.Step(ctx); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range srv.counts() {
			n += c
		}
		return n
	}
	job := e.job(srv.client(t), 2)
	if n := step(job); n != 0 {
		t.Fatalf("the first start ran at once (%d requests)", n)
	}
	if got := e.jobState().NextRunAt; !got.Equal(t0.Add(handlers.BreachInterval)) {
		t.Fatalf("first run scheduled at %v, want %v", got, t0.Add(handlers.BreachInterval))
	}
	e.clock.Advance(handlers.BreachInterval - time.Second)
	if n := step(job); n != 0 {
		t.Fatalf("ran a second early (%d requests)", n)
	}
	restarted := e.job(srv.client(t), 2) // a restart must not reschedule the first run
	if n := step(restarted); n != 0 || !e.jobState().NextRunAt.Equal(t0.Add(handlers.BreachInterval)) {
		t.Fatalf("restart: %d requests, next run %v", n, e.jobState().NextRunAt)
	}
	e.clock.Advance(time.Second)
	if n := step(restarted); n != 1 {
		t.Fatalf("due run: %d requests, want 1", n)
	}
	runAt := e.clock.Now()
	// Restarted right after the run: it is not repeated.
	e.clock.Advance(time.Hour)
	if n := step(e.job(srv.client(t), 2)); n != 0 {
		t.Fatalf("a restart repeated the run (%d requests)", n)
	}
	if st := e.jobState(); !st.NextRunAt.Equal(runAt.Add(handlers.BreachInterval)) || st.LastUsersChecked != 1 {
		t.Fatalf("after the run: %+v", st)
	}
	// Down over the next due time: the run happens at the next start, once.
	e.clock.Advance(handlers.BreachInterval + 3*24*time.Hour)
	late := e.job(srv.client(t), 2)
	if n := step(late); n != 1 {
		t.Fatalf("late run: %d requests, want 1", n)
	}
	if n := step(late); n != 0 {
		t.Fatalf("late run repeated: %d requests", n)
	}
	if got, want := e.jobState().NextRunAt, e.clock.Now().Add(handlers.BreachInterval); !got.Equal(want) {
		t.Errorf("after a late run the next is at %v, want %v", got, want)
	}
}

// A run interrupted halfway (the server shuts down) resumes after a restart where it stopped:
// no finished prefix is asked for again, and every prefix is asked for.
func TestBreachRunResumesAfterRestart(t *testing.T) {
	srv := newRangeServer(t, "user password 3", "user password 37")
	e := newBreachEnv(t, nil)
	const users = 48
	var all []string
	for i := range users {
		u := e.createUser(fmt.Sprintf("u%02d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
		p := fmt.Sprintf("user password %d", i)
		e.setPassword(u, p)
		all = append(all, hexOf(sha1Of(p))[:5])
	}
	slices.Sort(all)
	all = slices.Compact(all)
	e.createUser("root@example.com", "Root Super", store.RoleSuperAdmin, store.StatusActive)

	job := e.job(srv.client(t), 4)
	if err := job.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(handlers.BreachInterval)

	// Shut down while the 20th range is being asked for.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.mu.Lock()
	srv.before = func(n int, _ string) int {
		if n == 20 {
			cancel()
		}
		return 0
	}
	srv.mu.Unlock()
	if err := job.Step(ctx); err == nil {
		t.Fatal("the interrupted run reported no error")
	}
	first := srv.counts()
	st := e.jobState()
	if !st.Running || st.LastError != "" {
		t.Fatalf("after the interruption: %+v; want running, no error", st)
	}
	done := map[string]bool{}
	for _, p := range all {
		if p <= st.Cursor || slices.Contains(st.DoneAhead, p) {
			done[p] = true
		}
	}
	if len(done) < 10 || len(done) >= len(all) {
		t.Fatalf("done after the interruption: %d of %d prefixes (cursor %s, ahead %v)", len(done), len(all), st.Cursor, st.DoneAhead)
	}
	for p := range done {
		if first[p] != 1 {
			t.Errorf("prefix %s recorded done but asked %d times", p, first[p])
		}
	}
	if st.Requests != len(done) {
		t.Errorf("requests recorded %d, want %d", st.Requests, len(done))
	}

	// Restart: a new job on the same database resumes at once (the run is still due). It asks
	// a second server, so that requests of the first run still arriving at the first one
	// (sent before the shutdown) are not counted as the second run's.
	srv2 := newRangeServer(t, "user password 3", "user password 37")
	if err := e.job(srv2.client(t), 4).Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := srv2.counts()
	for p := range second {
		if done[p] {
			t.Errorf("prefix %s was done before the restart and asked again", p)
		}
	}
	for _, p := range all {
		if !done[p] && second[p] != 1 {
			t.Errorf("prefix %s: asked %d times after the restart, want once", p, second[p])
		}
	}
	st = e.jobState()
	if st.Running || st.LastUsersChecked != users || st.LastHits != 2 || st.LastRequests != len(all) {
		t.Errorf("after the resumed run: %+v; want %d users, 2 hits, %d requests", st, users, len(all))
	}
	if n := len(e.eventsOf("password_breach_detected")); n != 2 {
		t.Errorf("password_breach_detected: %d, want 2", n)
	}
	if n := e.mailsTo("root@example.com"); n != 2 {
		t.Errorf("mails to the super admin: %d, want 2", n)
	}
}

// A range that cannot be fetched stops the run (nothing is skipped); it resumes later.
func TestBreachRunStopsOnServiceErrorAndResumes(t *testing.T) {
	srv := newRangeServer(t, breachedPW)
	e := newBreachEnv(t, srv.client(t))
	// The super admin who reads the page signs in first: a sign-in stores their password's
	// fingerprint, so it is one of the prefixes.
	_, sc := e.signedIn("root@example.com", "Root Super", store.RoleSuperAdmin)
	prefixes := []string{hexOf(sha1Of(testPassword))[:5]}
	for i := range 12 {
		u := e.createUser(fmt.Sprintf("u%02d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
		p := fmt.Sprintf("another password %d", i)
		if i == 11 {
			p = breachedPW
		}
		e.setPassword(u, p)
		prefixes = append(prefixes, hexOf(sha1Of(p))[:5])
	}
	sort.Strings(prefixes)
	broken := prefixes[5]
	srv.mu.Lock()
	srv.before = func(_ int, prefix string) int {
		if prefix == broken {
			return http.StatusServiceUnavailable
		}
		return 0
	}
	srv.mu.Unlock()
	job := e.job(srv.client(t), 1)
	ctx := context.Background()
	job.Step(ctx)
	e.clock.Advance(handlers.BreachInterval)
	if err := job.Step(ctx); err == nil {
		t.Fatal("the run did not report the failing range")
	}
	st := e.jobState()
	if !st.Running || st.LastError == "" || st.Cursor != prefixes[4] {
		t.Fatalf("stopped run: %+v; want running with an error, cursor %s", st, prefixes[4])
	}
	if want := e.clock.Now().Add(15 * time.Minute); !st.NextRunAt.Equal(want) {
		t.Errorf("resumes at %v, want %v", st.NextRunAt, want)
	}

	// The page tells the super admin.
	page := sc.get("/settings/security/passwords")
	if !strings.Contains(page.Body, "The run stopped: hibp: range "+broken+": 503 Service Unavailable") {
		t.Errorf("the page does not say why the run stopped:\n%s", page.Body)
	}

	srv.mu.Lock()
	srv.before = nil
	srv.mu.Unlock()
	srv.counts()
	e.clock.Advance(14 * time.Minute)
	if err := job.Step(ctx); err != nil || e.jobState().Cursor != prefixes[4] {
		t.Fatalf("resumed before its time: %v %+v", err, e.jobState())
	}
	e.clock.Advance(time.Minute)
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.counts(); len(got) != 8 {
		t.Errorf("resumed run asked %d prefixes, want the 8 left: %v", len(got), got)
	}
	if st := e.jobState(); st.Running || st.LastUsersChecked != 13 || st.LastHits != 1 {
		t.Errorf("after resuming: %+v", st)
	}
}

func TestBreachSettingsRunNow(t *testing.T) {
	srv := newRangeServer(t, breachedPW)
	e := newBreachEnv(t, srv.client(t))
	ctx := context.Background()
	root, sc := e.signedIn("root@example.com", "Root Super", store.RoleSuperAdmin)
	_, ac := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	victim := e.createUser("vic@example.com", "Vic Tim", store.RoleUser, store.StatusActive)
	e.setPassword(victim, breachedPW)
	job := e.job(srv.client(t), 2)
	job.Step(ctx) // the first start: scheduled a week ahead

	page := sc.get("/settings/security/passwords")
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{"Breach detection", "No run yet.", "Source: " + srv.URL, `action="/settings/security/passwords/breach-check"`, "Run now",
		`datetime="` + e.clock.Now().Add(handlers.BreachInterval).UTC().Format(time.RFC3339) + `"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the Passwords page lacks %q", want)
		}
	}

	// Admins below super admin cannot run it; a POST without CSRF is refused.
	ac.get("/dashboard")
	expectStatus(t, ac.post("/settings/security/passwords/breach-check", nil), http.StatusForbidden)
	r := sc.postRaw("/settings/security/passwords/breach-check", url.Values{}, nil)
	if r.Status != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", r.Status)
	}
	if n := len(e.eventsOf("password_breach_check_requested")); n != 0 {
		t.Fatalf("refused requests were logged: %d", n)
	}

	sc.get("/settings/security/passwords")
	expectRedirect(t, sc.post("/settings/security/passwords/breach-check", nil), "/settings/security/passwords?breach=requested#breach-check")
	ev := e.lastEvent("password_breach_check_requested")
	if actorOf(ev) != root.ID {
		t.Errorf("password_breach_check_requested actor %d, want %d", actorOf(ev), root.ID)
	}
	if got := e.jobState().NextRunAt; !got.Equal(e.clock.Now()) {
		t.Fatalf("Run now: next run %v, want now %v", got, e.clock.Now())
	}
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.user(victim.ID).PasswordResetRequired {
		t.Error("Run now did not find the breached password")
	}
	page = sc.get("/settings/security/passwords")
	// The victim, and the two admins whose sign-ins stored their fingerprints.
	for _, want := range []string{"Users checked</dt><dd>3</dd>", "Hits</dt><dd>1</dd>",
		`datetime="` + e.clock.Now().UTC().Format(time.RFC3339) + `"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("after the run the page lacks %q", want)
		}
	}
}

func TestBreachCheckingOff(t *testing.T) {
	e := newBreachEnv(t, nil)
	_, sc := e.signedIn("root@example.com", "Root Super", store.RoleSuperAdmin)
	page := sc.get("/settings/security/passwords")
	if !strings.Contains(page.Body, "Breach checking is <strong>off</strong>") || strings.Contains(page.Body, "Run now") {
		t.Errorf("the page does not say checking is off:\n%s", page.Body)
	}
	expectRedirect(t, sc.post("/settings/security/passwords/breach-check", nil), "/settings/security/passwords?breach=off#breach-check")
	// Off: any password that passes the rule is set, with no event about breaches.
	u, c := e.signedIn("ann@example.com", "Ann User", store.RoleUser)
	c.get("/account/password")
	expectRedirect(t, changePassword(c, testPassword, breachedPW, breachedPW), "/account/password?notice=changed")
	if n := len(e.eventsOf("password_breach_check_skipped")); n != 0 {
		t.Errorf("skipped events while off: %d", n)
	}
	e.expectFingerprint(u.ID, breachedPW) // kept, so turning checking on covers it
	job := e.job(nil, 2)
	if err := job.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := e.jobState(); !st.NextRunAt.IsZero() {
		t.Errorf("the job scheduled a run while off: %+v", st)
	}
}

// A password set before fingerprints were kept gets one at its next sign-in, so the weekly
// check covers it; a user flagged by a breach hit does not get the breached one back.
func TestBreachFingerprintBackfilledAtSignIn(t *testing.T) {
	srv := newRangeServer(t, breachedPW)
	e := newBreachEnv(t, srv.client(t))
	u := e.createUser("old@example.com", "Old Timer", store.RoleUser, store.StatusActive)
	if prefix, _ := e.fingerprint(u.ID); prefix != "" {
		t.Fatalf("test setup: the user already has a fingerprint %q", prefix)
	}
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	e.expectFingerprint(u.ID, testPassword)

	flagged := e.createUser("flagged@example.com", "Flagged", store.RoleUser, store.StatusActive)
	if err := e.store.RequirePasswordReset(context.Background(), flagged.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	fc := e.newClient()
	fc.get("/login")
	expectRedirect(t, fc.post("/login", url.Values{"email": {flagged.Email}, "password": {testPassword}}), "/login/reset-password")
	if prefix, mac := e.fingerprint(flagged.ID); prefix != "" || mac != nil {
		t.Errorf("a flagged user's old password got a fingerprint %q %x", prefix, mac)
	}
}
