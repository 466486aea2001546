package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/store"
)

func TestSignInHappyPath(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("ann@example.com", "Ann Example", store.RoleUser, store.StatusActive)
	c := e.newClient()

	expectStatus(t, c.get("/login"), http.StatusOK)
	if c.token() == "" {
		t.Fatal("GET /login: no _csrf field in the form")
	}
	// The address is matched whatever its case and surrounding spaces.
	r := c.post("/login", url.Values{"email": {"  Ann@Example.com "}, "password": {testPassword}})
	expectRedirect(t, r, "/login/verify")
	signin := c.cookieValue("weftid_signin")
	if signin == "" {
		t.Fatal("POST /login set no weftid_signin cookie")
	}

	msg := e.waitSubject(u.Email, codeSubject)
	code := mailtest.FindCode(msg.Text)
	if code == "" {
		t.Fatalf("no code in the mail:\n%s", msg.Text)
	}

	page := c.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, u.Email) {
		t.Errorf("code page does not name %s", u.Email)
	}
	expectNoAlert(t, page)

	r = c.post("/login/verify", url.Values{"code": {code}, "method": {"email"}})
	expectRedirect(t, r, "/dashboard")

	sess := r.cookie("weftid_session")
	if sess == nil || sess.Value == "" {
		t.Fatalf("POST /login/verify set no weftid_session cookie; cookies %v", r.Cookies)
	}
	if !sess.HttpOnly {
		t.Error("session cookie: HttpOnly not set")
	}
	if sess.SameSite != http.SameSiteLaxMode {
		t.Errorf("session cookie SameSite: got %v, want Lax", sess.SameSite)
	}
	if sess.Secure {
		t.Error("session cookie: Secure set under http")
	}
	if sess.Path != "/" {
		t.Errorf("session cookie Path: got %q, want /", sess.Path)
	}
	now := e.clock.Now()
	if sess.Expires.IsZero() || !sess.Expires.After(now) || sess.Expires.After(now.Add(14*24*time.Hour)) {
		t.Errorf("session cookie expires %v, want after %v and at most 14 days later", sess.Expires, now)
	}
	if si := r.cookie("weftid_signin"); si == nil || (si.MaxAge >= 0 && si.Expires.After(now)) {
		t.Errorf("sign-in cookie not cleared: %v", si)
	}
	if v := c.cookieValue("weftid_signin"); v != "" {
		t.Errorf("sign-in cookie still in the jar: %q", v)
	}

	dash := c.get("/dashboard")
	expectStatus(t, dash, http.StatusOK)
	if !strings.Contains(dash.Body, "Ann Example") {
		t.Errorf("dashboard does not show the name:\n%s", dash)
	}

	evs := e.events()
	if got, want := typesOf(evs), []string{"email_code_sent", "user_signed_in"}; !slices.Equal(got, want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	checkEvent(t, evs[0], "email_code_sent", u.ID, "")
	if resend, _ := evs[0].Details["resend"].(bool); resend {
		t.Errorf("email_code_sent details: got resend=true, want false")
	}
	checkEvent(t, evs[1], "user_signed_in", u.ID, "")
	if evs[1].ActorID == nil || *evs[1].ActorID != u.ID {
		t.Errorf("user_signed_in actor: got %v, want %d", evs[1].ActorID, u.ID)
	}
	if evs[1].IP != c.ip {
		t.Errorf("user_signed_in ip: got %q, want %q", evs[1].IP, c.ip)
	}

	// The sign-in is finished: its cookie and code, replayed, lead back to the start.
	again := e.newClient()
	again.get("/login")
	again.setCookie("weftid_signin", signin)
	expectRedirect(t, again.post("/login/verify", url.Values{"code": {code}}), "/login?notice=expired")
	if n := len(e.eventsOf("user_signed_in")); n != 1 {
		t.Errorf("user_signed_in events after the replay: got %d, want 1", n)
	}
}

func TestSignInHTTPSCookies(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "https://id.example.com"})
	c := e.newClient()
	r := c.get("/login")
	expectStatus(t, r, http.StatusOK)
	ck := r.cookie("__Host-weftid_csrf")
	if ck == nil {
		t.Fatalf("under https the CSRF cookie should be __Host-weftid_csrf; got %v", r.Cookies)
	}
	if !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" {
		t.Errorf("__Host- cookie: got Secure=%v HttpOnly=%v Path=%q Domain=%q, want Secure, HttpOnly, Path /, no Domain",
			ck.Secure, ck.HttpOnly, ck.Path, ck.Domain)
	}
}

func TestSignInFailuresLookTheSame(t *testing.T) {
	e := newEnv(t)
	active := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	inactive := e.createUser("carol@example.com", "Carol", store.RoleUser, store.StatusInactive)

	tests := []struct {
		name, email, password string
		userID                int64
		reason                string
	}{
		{"wrong password", active.Email, "not the password", active.ID, "wrong_password"},
		{"unknown email", "nobody@example.com", testPassword, 0, "unknown_email"},
		{"inactive user, right password", inactive.Email, testPassword, inactive.ID, "inactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.newClient()
			c.get("/login")
			r := c.post("/login", url.Values{"email": {tt.email}, "password": {tt.password}})
			if r.Status != http.StatusUnauthorized {
				t.Errorf("status: got %d, want %d", r.Status, http.StatusUnauthorized)
			}
			expectAlert(t, r, msgGeneric)
			if c.cookieValue("weftid_signin") != "" {
				t.Error("a failed password step set a sign-in cookie")
			}
			ev := e.lastEvent("login_failed")
			checkEvent(t, ev, "login_failed", tt.userID, tt.reason)
			if got, _ := ev.Details["email"].(string); got != tt.email {
				t.Errorf("login_failed email: got %q, want %q", got, tt.email)
			}
		})
	}
	if n := len(e.eventsOf("email_code_sent")); n != 0 {
		t.Errorf("email_code_sent events: got %d, want 0", n)
	}
	if n := len(e.mail.Messages()); n != 0 {
		t.Errorf("mails sent: got %d, want 0", n)
	}
}

func TestSignInEmptyFields(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	c.get("/login")
	r := c.post("/login", url.Values{"email": {"ann@example.com"}})
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("status: got %d, want 422", r.Status)
	}
	expectAlert(t, r, "Enter your email and password.")
}

// loginAttempt posts one password and returns the response.
func loginAttempt(c *client, email, password string) *response {
	c.t.Helper()
	return c.post("/login", url.Values{"email": {email}, "password": {password}})
}

func TestSignInThrottlePerAccount(t *testing.T) {
	tests := []struct {
		name  string
		known bool
	}{
		{"existing account", true},
		{"unknown address", false},
	}
	var throttledPages []*response
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			email := "nobody@example.com"
			if tt.known {
				email = e.createUser("dan@example.com", "Dan", store.RoleUser, store.StatusActive).Email
			}
			c := e.newClient()
			c.get("/login")
			for i := 1; i <= 5; i++ {
				addr := email
				if i%2 == 0 {
					addr = " " + strings.ToUpper(email) // the same address, as people type it
				}
				if r := loginAttempt(c, addr, fmt.Sprintf("wrong %d", i)); r.Status != http.StatusUnauthorized {
					t.Fatalf("failure %d: got %d, want 401\n%s", i, r.Status, r)
				}
			}
			// From another IP too: the limit is per address.
			other := e.newClient()
			other.get("/login")
			r := loginAttempt(other, email, testPassword)
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("6th attempt (right password, other IP): got %d, want 429\n%s", r.Status, r)
			}
			expectAlert(t, r, msgThrottled)
			throttledPages = append(throttledPages, r)
			checkEvent(t, e.lastEvent("login_failed"), "login_failed", 0, "throttled")
			if e.mailsTo(email) != 0 {
				t.Error("a throttled attempt sent a code")
			}

			// The window is 15 minutes: a second before it ends the address is still refused...
			e.clock.Advance(15*time.Minute - time.Second)
			if r := loginAttempt(c, email, testPassword); r.Status != http.StatusTooManyRequests {
				t.Fatalf("a second before the window ends: got %d, want 429\n%s", r.Status, r)
			}
			// ...and once it has passed, the address may try again.
			e.clock.Advance(time.Second)
			r = loginAttempt(c, email, testPassword)
			if r.Status == http.StatusTooManyRequests {
				t.Errorf("15 minutes after the failures: still throttled (429); want the window to have passed")
				e.clock.Advance(time.Second)
				r = loginAttempt(c, email, testPassword)
			}
			if tt.known {
				expectRedirect(t, r, "/login/verify")
			} else {
				expectStatus(t, r, http.StatusUnauthorized)
				expectAlert(t, r, msgGeneric)
			}
		})
	}
	// Throttling says nothing about which addresses exist.
	if len(throttledPages) == 2 {
		a, b := throttledPages[0], throttledPages[1]
		if a.Status != b.Status || !slices.Equal(alerts(a.Body), alerts(b.Body)) {
			t.Errorf("throttled answers differ: known %d %q, unknown %d %q", a.Status, alerts(a.Body), b.Status, alerts(b.Body))
		}
	}
}

func TestSignInThrottlePerIP(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("erin@example.com", "Erin", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.get("/login")
	// 30 failures, each for a different address (no address reaches its own limit).
	for i := 0; i < 30; i++ {
		if r := loginAttempt(c, fmt.Sprintf("guess%d@example.com", i), "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401\n%s", i+1, r.Status, r)
		}
	}
	r := loginAttempt(c, u.Email, testPassword)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("31st attempt from the IP (right password, fresh address): got %d, want 429\n%s", r.Status, r)
	}
	expectAlert(t, r, msgThrottled)
	checkEvent(t, e.lastEvent("login_failed"), "login_failed", 0, "throttled")

	// Another IP is not affected.
	other := e.newClient()
	other.get("/login")
	expectRedirect(t, loginAttempt(other, u.Email, testPassword), "/login/verify")

	// The other IP's success does not lift the throttled IP's limit.
	if r := loginAttempt(c, u.Email, testPassword); r.Status != http.StatusTooManyRequests {
		t.Errorf("throttled IP after another IP's success: got %d, want 429", r.Status)
	}
}

// TestSignInThrottlePerIPBehindProxy: a reverse proxy appends the address it saw to whatever
// X-Forwarded-For the client sent, so only the rightmost entries (those written by trusted
// proxies) can be believed. A client that writes a different address of its own in front each
// time must still be throttled as the one address it connects from.
func TestSignInThrottlePerIPBehindProxy(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("eve@example.com", "Eve", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.get("/login")
	viaProxy := func(i int, email, password string) *response {
		t.Helper()
		// What the trusted proxy forwards: the client's own header, then the address it saw.
		h := http.Header{"X-Forwarded-For": {fmt.Sprintf("198.51.100.%d, %s", i%250+1, c.ip)}}
		return c.postRaw("/login", url.Values{"email": {email}, "password": {password}, "_csrf": {c.token()}}, h)
	}
	for i := 0; i < 30; i++ {
		if r := viaProxy(i, fmt.Sprintf("guess%d@example.com", i), "wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d, want 401\n%s", i+1, r.Status, r)
		}
	}
	r := viaProxy(30, u.Email, testPassword)
	if r.Status != http.StatusTooManyRequests {
		t.Errorf("31st attempt from one client with a made-up X-Forwarded-For entry: got %d, want 429 (the per-IP limit is bypassed)", r.Status)
	}
	ev := e.eventsOf("login_failed")[0]
	if ev.IP != c.ip {
		t.Errorf("login_failed ip: got %q (written by the client), want %q (seen by the proxy)", ev.IP, c.ip)
	}
}

func TestSignInSuccessResetsAccountCounter(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("fay@example.com", "Fay", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.get("/login")
	fail4 := func(round string) {
		t.Helper()
		for i := 1; i <= 4; i++ {
			if r := loginAttempt(c, u.Email, "wrong"); r.Status != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: got %d, want 401\n%s", round, i, r.Status, r)
			}
		}
	}
	fail4("first")
	expectRedirect(t, loginAttempt(c, u.Email, testPassword), "/login/verify")
	c.get("/login/verify") // read a page with a fresh _csrf, as a browser would
	fail4("second")
	expectRedirect(t, loginAttempt(c, u.Email, testPassword), "/login/verify")
}

func TestRehashOnSignIn(t *testing.T) {
	e := newEnv(t)
	weak := auth.Argon2Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	oldHash, err := auth.HashPassword(testPassword, weak)
	if err != nil {
		t.Fatal(err)
	}
	if !auth.NeedsRehash(oldHash, e.hasher.Params()) {
		t.Fatal("test setup: the weak hash does not need a rehash")
	}
	u := e.createUserWithHash("gus@example.com", "Gus", store.RoleUser, store.StatusActive, oldHash)
	c := e.newClient()
	c.get("/login")

	// A wrong password changes nothing.
	expectStatus(t, loginAttempt(c, u.Email, "wrong password"), http.StatusUnauthorized)
	if got := e.user(u.ID).PasswordHash; got != oldHash {
		t.Fatalf("after a wrong password the hash changed: got %q, want %q", got, oldHash)
	}

	// A right one replaces it with one made with the hasher's parameters.
	expectRedirect(t, loginAttempt(c, u.Email, testPassword), "/login/verify")
	newHash := e.user(u.ID).PasswordHash
	if newHash == oldHash {
		t.Fatal("after a successful password step the weak hash was kept")
	}
	p := e.hasher.Params()
	if want := fmt.Sprintf("$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads); !strings.Contains(newHash, want) {
		t.Errorf("new hash %q: want parameters %q", newHash, want)
	}
	if auth.NeedsRehash(newHash, p) {
		t.Errorf("new hash %q still needs a rehash", newHash)
	}
	if ok, err := auth.VerifyPassword(newHash, testPassword); err != nil || !ok {
		t.Errorf("new hash does not verify the password: ok=%v err=%v", ok, err)
	}

	// And the new hash signs in.
	code := e.waitCode(u.Email)
	expectRedirect(t, c.post("/login/verify", url.Values{"code": {code}}), "/dashboard")
	other := e.newClient()
	other.signIn(u.Email, testPassword)
	if got := e.user(u.ID).PasswordHash; got != newHash {
		t.Errorf("a current hash was rehashed again")
	}
}

func TestSignInHasherBusy(t *testing.T) {
	// One worker, no queue: while something holds the worker, every other hash is refused at once.
	hasher, err := auth.NewHasher(testParams, 1, 0, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{hasher: hasher})
	u := e.createUser("hal@example.com", "Hal", store.RoleUser, store.StatusActive)

	const n = 4
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = e.newClient()
		expectStatus(t, clients[i].get("/login"), http.StatusOK)
	}
	busy := func() bool {
		_, _, err := hasher.Verify(context.Background(), "", "probe")
		return errors.Is(err, auth.ErrBusy)
	}

	// Each round occupies the only worker with a deliberately slow verification (an argon2id
	// hash that needs no computing to write down, only to check), waits until a probe is
	// refused (so the holder has the worker), fires the sign-ins at once, and probes again. A
	// round in which the holder still has the worker after the last answer is conclusive: the
	// worker was taken from before the first request to after the last, so every one of them
	// must have been refused. A slow machine can make a round inconclusive; the next one holds
	// the worker twice as long.
	var responses []*response
	for passes := 2; ; passes *= 2 {
		if passes > 64 {
			t.Fatal("the holder never kept the worker for the whole round")
		}
		slow := fmt.Sprintf("$argon2id$v=19$m=32768,t=%d,p=1$c2FsdHNhbHRzYWx0c2FsdA$%s", passes, strings.Repeat("A", 43))
		held := make(chan struct{})
		go func() {
			defer close(held)
			for {
				// ErrBusy only when a probe had the worker at that instant: try again.
				if _, _, err := hasher.Verify(context.Background(), slow, "x"); !errors.Is(err, auth.ErrBusy) {
					return
				}
			}
		}()
		seen := false
		for !seen {
			seen = busy()
			select {
			case <-held:
			default:
				continue
			}
			break // the holder finished before a probe saw it working
		}
		if !seen {
			t.Logf("round with t=%d inconclusive (no probe saw the holder); holding longer", passes)
			continue
		}

		responses = make([]*response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{"email": {u.Email}, "password": {testPassword}, "_csrf": {c.token()}}
				responses[i], errs[i] = c.send(http.MethodPost, "/login", strings.NewReader(form.Encode()),
					http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			}()
		}
		wg.Wait()
		conclusive := busy()
		<-held
		for i, err := range errs {
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if conclusive {
			break
		}
		t.Logf("round with t=%d inconclusive (the holder finished first); holding longer", passes)
	}

	for i, r := range responses {
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("request %d while the only worker was held: got %d, want 503\n%s", i, r.Status, r)
			continue
		}
		if got := r.Header.Get("Retry-After"); got == "" {
			t.Errorf("503 without Retry-After")
		}
		if !strings.Contains(r.Body, "The server is busy. Try again in a few seconds.") {
			t.Errorf("503 page is not the friendly one:\n%s", r)
		}
		if !strings.Contains(r.Body, `<nav aria-label="Main">`) {
			t.Errorf("503 page lacks the site layout")
		}
		for _, internal := range []string{"auth:", "hashing", "ErrBusy", "goroutine", ".go:"} {
			if strings.Contains(r.Body, internal) {
				t.Errorf("503 page shows internals (%q)", internal)
			}
		}
	}
	// Busy answers are not failed guesses: nothing was recorded against the account.
	if evs := e.eventsOf("login_failed"); len(evs) != 0 {
		t.Errorf("login_failed events for busy answers: %s", eventSummary(evs))
	}
	// Once the worker is free, sign-in works again.
	expectRedirect(t, loginAttempt(clients[0], u.Email, testPassword), "/login/verify")
}
