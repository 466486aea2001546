package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// postCode posts an e-mail code on the client's sign-in.
func postCode(c *client, code string) *response {
	c.t.Helper()
	return c.post("/login/verify", url.Values{"code": {code}, "method": {"email"}})
}

// expectCodeRefused checks a refused code: 401, the alert, still no session, and the event.
func expectCodeRefused(t *testing.T, e *env, c *client, r *response, alert string, userID int64, reason string) {
	t.Helper()
	expectCodeRefusedAt(t, e, c, r, alert, userID, reason, "email_code")
}

// expectCodeRefusedAt is expectCodeRefused for the step a form tried (its login_failed step).
func expectCodeRefusedAt(t *testing.T, e *env, c *client, r *response, alert string, userID int64, reason, step string) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Errorf("status: got %d, want 401\n%s", r.Status, r)
	}
	expectAlert(t, r, alert)
	if c.cookieValue("weftid_session") != "" {
		t.Error("a refused code gave a session cookie")
	}
	ev := e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", userID, reason)
	if got, _ := ev.Details["step"].(string); got != step {
		t.Errorf("login_failed step: got %q, want %s", got, step)
	}
}

// wrongCode is a well-formed code that differs from code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

func TestSignInCode(t *testing.T) {
	setup := func(t *testing.T) (*env, *client, store.User, string) {
		e := newEnv(t)
		u := e.createUser("ivy@example.com", "Ivy", store.RoleUser, store.StatusActive)
		c := e.newClient()
		c.startSignIn(u.Email, testPassword)
		return e, c, u, e.waitCode(u.Email)
	}

	t.Run("wrong code", func(t *testing.T) {
		e, c, u, code := setup(t)
		expectCodeRefused(t, e, c, postCode(c, wrongCode(code)), msgCodeFailure, u.ID, "wrong_code")
		// The sign-in goes on: the right code still works.
		expectRedirect(t, postCode(c, code), "/dashboard")
	})

	t.Run("code with spaces is accepted", func(t *testing.T) {
		_, c, _, code := setup(t)
		expectRedirect(t, postCode(c, code[:3]+" "+code[3:]), "/dashboard")
	})

	t.Run("expired code", func(t *testing.T) {
		e, c, u, code := setup(t)
		e.clock.Advance(10 * time.Minute)
		expectCodeRefused(t, e, c, postCode(c, code), msgCodeFailure, u.ID, "expired")
	})

	t.Run("code of a finished sign-in", func(t *testing.T) {
		e, c, u, oldCode := setup(t)
		expectRedirect(t, postCode(c, oldCode), "/dashboard")
		// A new sign-in in another browser: the old code is worth nothing there.
		c2 := e.newClient()
		c2.startSignIn(u.Email, testPassword)
		newCode := e.waitCode(u.Email)
		if newCode == oldCode {
			t.Skip("the new code happens to equal the old one (one chance in a million)")
		}
		expectCodeRefused(t, e, c2, postCode(c2, oldCode), msgCodeFailure, u.ID, "wrong_code")
		expectRedirect(t, postCode(c2, newCode), "/dashboard")
	})

	t.Run("too many wrong codes", func(t *testing.T) {
		e, c, u, code := setup(t)
		bad := wrongCode(code)
		for i := 1; i <= 4; i++ {
			expectCodeRefused(t, e, c, postCode(c, bad), msgCodeFailure, u.ID, "wrong_code")
		}
		expectCodeRefused(t, e, c, postCode(c, bad), msgCodeTooMany, u.ID, "wrong_code")
		// Now even the right code is refused.
		expectCodeRefused(t, e, c, postCode(c, code), msgCodeTooMany, u.ID, "too_many_tries")
		// A new code starts over.
		expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify?sent=1")
		c.get("/login/verify?sent=1")
		expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/dashboard")
	})

	t.Run("throttle per user across sign-ins", func(t *testing.T) {
		e, c, u, code := setup(t)
		// 10 wrong codes over two sign-ins (each code allows 5 tries).
		for i := 0; i < 5; i++ {
			postCode(c, wrongCode(code))
		}
		c2 := e.newClient()
		c2.startSignIn(u.Email, testPassword)
		code2 := e.waitCode(u.Email)
		for i := 0; i < 5; i++ {
			if r := postCode(c2, wrongCode(code2)); r.Status != http.StatusUnauthorized {
				t.Fatalf("wrong code %d of the second sign-in: got %d, want 401", i+1, r.Status)
			}
		}
		// A third sign-in, from a third IP, with the right code: the user is throttled.
		c3 := e.newClient()
		c3.startSignIn(u.Email, testPassword)
		r := postCode(c3, e.waitCode(u.Email))
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("right code after 10 failures: got %d, want 429\n%s", r.Status, r)
		}
		expectAlert(t, r, msgThrottled)
		checkEvent(t, e.lastEvent("login_failed"), "login_failed", u.ID, "throttled")
		if c3.cookieValue("weftid_session") != "" {
			t.Error("a throttled code gave a session")
		}
	})

	t.Run("other method refused", func(t *testing.T) {
		e, c, u, code := setup(t)
		for method, step := range map[string]string{"totp": "totp", "backup": "backup_code", "passkey": "passkey"} {
			r := c.post("/login/verify", url.Values{"code": {code}, "method": {method}})
			expectCodeRefusedAt(t, e, c, r, msgCodeFailure, u.ID, "method_not_allowed", step)
		}
		// The refusals did not use up the code's tries.
		expectRedirect(t, postCode(c, code), "/dashboard")
	})

	t.Run("no sign-in cookie", func(t *testing.T) {
		e := newEnv(t)
		c := e.newClient()
		c.get("/login")
		expectRedirect(t, postCode(c, "123456"), "/login?notice=expired")
		expectRedirect(t, c.get("/login/verify"), "/login?notice=expired")
		expectRedirect(t, c.post("/login/verify/resend", nil), "/login?notice=expired")
		page := c.get("/login?notice=expired")
		if !strings.Contains(page.Body, "Your sign-in expired or was finished elsewhere. Please start again.") {
			t.Errorf("/login?notice=expired does not explain:\n%s", page)
		}
	})

	t.Run("sign-in expires", func(t *testing.T) {
		e, c, _, code := setup(t)
		e.clock.Advance(15 * time.Minute)
		expectRedirect(t, postCode(c, code), "/login?notice=expired")
	})
}

func TestResendCode(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("jo@example.com", "Jo", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	prev := e.waitCode(u.Email)
	c.get("/login/verify")

	resend := func(i int) string {
		t.Helper()
		expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify?sent=1")
		page := c.get("/login/verify?sent=1")
		if !strings.Contains(page.Body, "We sent a new code.") {
			t.Errorf("resend %d: the page does not say a new code was sent", i)
		}
		code := e.waitCode(u.Email)
		ev := e.lastEvent("email_code_sent")
		checkEvent(t, ev, "email_code_sent", u.ID, "")
		if r, _ := ev.Details["resend"].(bool); !r {
			t.Errorf("resend %d: email_code_sent details %v, want resend=true", i, ev.Details)
		}
		return code
	}

	for i := 1; i <= 3; i++ {
		e.clock.Advance(time.Minute / 2)
		code := resend(i)
		if code != prev {
			// The previous code stops working once a new one is sent.
			r := postCode(c, prev)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("resend %d: the previous code got %d, want 401", i, r.Status)
			}
		}
		prev = code
	}

	before := e.codeMailsTo(u.Email)
	r := c.post("/login/verify/resend", nil)
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("4th resend within 5 minutes: got %d, want 429\n%s", r.Status, r)
	}
	expectAlert(t, r, msgResendLimited)
	if !strings.Contains(r.Body, "3 times in 5 minutes") {
		t.Errorf("the limit message does not say 3 times in 5 minutes")
	}
	if got := e.codeMailsTo(u.Email); got != before {
		t.Errorf("a refused resend sent mail: %d messages, want %d", got, before)
	}

	// The first code of the sign-in counts too (so signing in again cannot flood the inbox):
	// it went out 1m30s ago. A second before it is 5 minutes old, the limit holds...
	e.clock.Advance(3*time.Minute + 30*time.Second - time.Second)
	if r := c.post("/login/verify/resend", nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a second before the window ends: got %d, want 429\n%s", r.Status, r)
	}
	// ...and once it is 5 minutes old, one more is allowed.
	e.clock.Advance(time.Second)
	r = c.post("/login/verify/resend", nil)
	if r.Status == http.StatusTooManyRequests {
		t.Errorf("5 minutes after the first code: still refused (429); want the window to have passed")
		e.clock.Advance(time.Second)
		r = c.post("/login/verify/resend", nil)
	}
	expectRedirect(t, r, "/login/verify?sent=1")
	c.get("/login/verify?sent=1")
	latest := e.waitCode(u.Email)
	expectRedirect(t, postCode(c, latest), "/dashboard")
}

func TestSignInMailFailure(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("kit@example.com", "Kit", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.get("/login")

	e.mail.FailNext(1000) // every attempt of every message fails
	r := loginAttempt(c, u.Email, testPassword)
	expectRedirect(t, r, "/login/verify?sent=0")
	if got := e.mail.DataCommands(); got != 3 {
		t.Errorf("SMTP DATA commands: got %d, want 3 (the mailer's 3 attempts)", got)
	}
	page := c.get("/login/verify?sent=0")
	expectStatus(t, page, http.StatusOK)
	expectAlert(t, page, msgSendFailure)
	if n := len(e.eventsOf("email_code_sent")); n != 0 {
		t.Errorf("email_code_sent events after a failed send: got %d, want 0", n)
	}
	// There is no code to guess.
	expectCodeRefused(t, e, c, postCode(c, "123456"), msgCodeFailure, u.ID, "no_code")

	// A resend that also fails says so, and is not a 500.
	expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify?sent=0")
	c.get("/login/verify?sent=0")

	// The server is healthy again: a resend delivers a code that works.
	e.mail.FailNext(0)
	expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify?sent=1")
	page = c.get("/login/verify?sent=1")
	expectNoAlert(t, page)
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/dashboard")
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
}

// Signing in again and again cannot flood an inbox: the first code of each sign-in counts
// against the same limit as resends.
func TestRepeatedSignInsCannotFloodMail(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("flood@example.com", "Flo", store.RoleUser, store.StatusActive)
	c := e.newClient()
	for i := 1; i <= 4; i++ {
		c.get("/login")
		r := c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
		expectRedirect(t, r, "/login/verify")
		e.waitCode(u.Email)
	}
	before := e.codeMailsTo(u.Email)
	c.get("/login")
	r := c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	expectRedirect(t, r, "/login/verify?sent=limited")
	page := c.get("/login/verify?sent=limited")
	expectAlert(t, page, msgResendLimited)
	if got := e.codeMailsTo(u.Email); got != before {
		t.Errorf("a 5th sign-in within 5 minutes sent mail: %d messages, want %d", got, before)
	}
	e.clock.Advance(5 * time.Minute)
	c.get("/login")
	r = c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
	expectRedirect(t, r, "/login/verify")
	c.get("/login/verify")
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/dashboard")
}
