package handlers_test

// Breach detection through the real app, and the real weekly job where a page shows or starts
// it: the loopback range server of breachtest, the real SQLite store, and the in-process SMTP
// server. The weekly job's own tests are in services/breach.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	// The SQLite driver, to look at rows directly.

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

const (
	// breachedPW passes the password rule (strong, 14+ characters) but the test servers list it.
	breachedPW  = "quiet lantern orbit mosaic 2019"
	cleanPW     = "plum tractor velvet harbour 42"
	msgBreached = "This password has appeared in a data breach, so attackers try it early. Choose a different password."
)

// breachEnv is an env whose app checks passwords against hibp, with its database file open for
// direct inspection.
type breachEnv struct {
	*env
	db   *storetest.Raw
	path string // the database: a path or a URL
}

func newBreachEnv(t *testing.T, hibp *breach.Client) *breachEnv {
	t.Helper()
	path := storetest.DB(t)
	e := newEnvWith(t, envOptions{hibp: hibp, db: path})
	return &breachEnv{env: e, db: storetest.RawDB(t, path), path: path}
}

// job makes the breach service on this env's database, as serve would after a (re)start.
func (e *breachEnv) job(hibp *breach.Client, concurrency int) *breach.Service {
	e.t.Helper()
	mailer, err := mail.New(mail.Config{SMTPURL: e.mail.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	u, _ := url.Parse(baseURL)
	return breach.New(breach.Config{
		Store: e.store, Mailer: mailer, Keys: e.keys, Client: hibp, Now: e.clock.Now, BaseURL: u, Concurrency: concurrency,
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
	rec := breach.Record(e.keys, "$argon2id$test", password, auth.PasswordSubject{Email: u.Email}, auth.PasswordPolicy{})
	if err := e.store.SetPassword(context.Background(), u.ID, rec, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *breachEnv) jobState() store.BreachJob {
	e.t.Helper()
	j, err := e.store.BreachJob(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return j
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
	srv := breachtest.NewServer(t, breachedPW)
	prefixOf := func(p string) string { return breachtest.Hex(p)[:5] }

	t.Run("setup", func(t *testing.T) {
		e := newBreachEnv(t, srv.Client(t))
		path := e.setupLink()
		token := strings.TrimPrefix(path, "/setup?token=")
		c := e.newClient()
		c.get(path)
		form := func(p string) url.Values {
			return url.Values{"token": {token}, "name": {"Pat Root"}, "email": {"pat@example.com"}, "new_password": {p}, "confirm_password": {p}}
		}
		srv.Counts()
		r := c.post("/setup", form(breachedPW))
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectBreachAlert(t, r)
		if n, _ := e.store.CountUsers(context.Background()); n != 0 {
			t.Fatalf("a user was created with a breached password")
		}
		expectRedirect(t, c.post("/setup", form(cleanPW)), "/login?notice=setup_done")
		if got := srv.Counts(); got[prefixOf(breachedPW)] != 1 || got[prefixOf(cleanPW)] != 1 || len(got) != 2 {
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
		e := newBreachEnv(t, srv.Client(t))
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
		e := newBreachEnv(t, srv.Client(t))
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
		e := newBreachEnv(t, srv.Client(t))
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
		e := newBreachEnv(t, srv.Client(t))
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
	srv := breachtest.NewServer(t, breachedPW)
	e := newBreachEnv(t, srv.Client(t))
	_, c := e.signedIn("ann@example.com", "Ann User", store.RoleUser)
	c.get("/account/password")
	for _, p := range []string{"q", "quiet lan", breachedPW} {
		r := c.post("/password/strength", url.Values{"new_password": {p}})
		expectStatus(t, r, http.StatusOK)
		if strings.Contains(r.Body, msgBreached) {
			t.Errorf("the meter speaks of breaches for %q", p)
		}
	}
	if got := srv.Counts(); len(got) != 0 {
		t.Errorf("the meter asked the breach service: %v", got)
	}
}

// When the service cannot be reached the password is accepted, the event says the check was
// skipped, and the fingerprint is stored so the weekly job checks it.
func TestBreachServiceUnreachableAccepts(t *testing.T) {
	srv := breachtest.NewServer(t)
	hibp := srv.Client(t)
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
	if d := detailsOf(ev); strings.Contains(d, breachedPW) || strings.Contains(d, breachtest.Hex(breachedPW)[:5]) {
		t.Errorf("the event carries the password or its prefix: %s", d)
	}
	e.expectFingerprint(u.ID, breachedPW)

	// The weekly job, once the service is back, finds it.
	back := breachtest.NewServer(t, breachedPW)
	job := e.job(back.Client(t), 2)
	ctx := context.Background()
	if err := job.Step(ctx); err != nil { // schedules the first run
		t.Fatal(err)
	}
	e.clock.Advance(breach.Interval)
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.user(u.ID).PasswordResetRequired {
		t.Error("the weekly job did not flag the password accepted while the service was down")
	}
}

// A range that cannot be fetched stops the run (nothing is skipped); it resumes later.
func TestBreachRunStopsOnServiceErrorAndResumes(t *testing.T) {
	srv := breachtest.NewServer(t, breachedPW)
	e := newBreachEnv(t, srv.Client(t))
	// The super admin who reads the page signs in first: a sign-in stores their password's
	// fingerprint, so it is one of the prefixes.
	_, sc := e.signedIn("root@example.com", "Root Super", store.RoleSuperAdmin)
	prefixes := []string{breachtest.Hex(testPassword)[:5]}
	for i := range 12 {
		u := e.createUser(fmt.Sprintf("u%02d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
		p := fmt.Sprintf("another password %d", i)
		if i == 11 {
			p = breachedPW
		}
		e.setPassword(u, p)
		prefixes = append(prefixes, breachtest.Hex(p)[:5])
	}
	sort.Strings(prefixes)
	broken := prefixes[5]
	srv.SetBefore(func(_ int, prefix string) int {
		if prefix == broken {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	job := e.job(srv.Client(t), 1)
	ctx := context.Background()
	job.Step(ctx)
	e.clock.Advance(breach.Interval)
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

	srv.SetBefore(nil)
	srv.Counts()
	e.clock.Advance(14 * time.Minute)
	if err := job.Step(ctx); err != nil || e.jobState().Cursor != prefixes[4] {
		t.Fatalf("resumed before its time: %v %+v", err, e.jobState())
	}
	e.clock.Advance(time.Minute)
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if got := srv.Counts(); len(got) != 8 {
		t.Errorf("resumed run asked %d prefixes, want the 8 left: %v", len(got), got)
	}
	if st := e.jobState(); st.Running || st.LastUsersChecked != 13 || st.LastHits != 1 {
		t.Errorf("after resuming: %+v", st)
	}
}

func TestBreachSettingsRunNow(t *testing.T) {
	srv := breachtest.NewServer(t, breachedPW)
	e := newBreachEnv(t, srv.Client(t))
	ctx := context.Background()
	root, sc := e.signedIn("root@example.com", "Root Super", store.RoleSuperAdmin)
	_, ac := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	victim := e.createUser("vic@example.com", "Vic Tim", store.RoleUser, store.StatusActive)
	e.setPassword(victim, breachedPW)
	job := e.job(srv.Client(t), 2)
	job.Step(ctx) // the first start: scheduled a week ahead

	page := sc.get("/settings/security/passwords")
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{"Breach detection", "No run yet.", "Source: " + srv.URL, `action="/settings/security/passwords/breach-check"`, "Run now",
		`datetime="` + e.clock.Now().Add(breach.Interval).UTC().Format(time.RFC3339) + `"`} {
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
	srv := breachtest.NewServer(t, breachedPW)
	e := newBreachEnv(t, srv.Client(t))
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
