package handlers_test

// Anonymous writes are limited per IP before anything is written, and a flood of refused
// guesses leaves O(1) events (issue #13, items 1 and 2).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// rawEnv is an env with a second handle on its database, for counting rows.
func rawEnv(t *testing.T) (*env, *storetest.Raw) {
	t.Helper()
	db := storetest.DB(t)
	e := newEnvWith(t, envOptions{db: db})
	return e, storetest.RawDB(t, db)
}

func rows(t *testing.T, db *storetest.Raw, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The rows an anonymous request may write: its stored state and the attempts it is counted by.
const anonRows = `SELECT (SELECT count(*) FROM webauthn_challenges) + (SELECT count(*) FROM oidc_auth_requests) +
	(SELECT count(*) FROM password_resets) + (SELECT count(*) FROM signin_attempts) + (SELECT count(*) FROM signins) +
	(SELECT count(*) FROM events)`

// expectRefusedWritesNothing sends the (N+1)th request and expects exactly 429 and no new row.
func expectRefusedWritesNothing(t *testing.T, db *storetest.Raw, what string, send func() *response) {
	t.Helper()
	before := rows(t, db, anonRows)
	if r := send(); r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s past the limit answered %d, want 429", what, r.Status)
	}
	if after := rows(t, db, anonRows); after != before {
		t.Errorf("%s past the limit wrote %d rows", what, after-before)
	}
}

// A browser begins passkey ceremonies: each replaces its previous one. A browser that drops the
// cookie stores one per begin, up to PasskeyBeginPerIP; the next is 429 and stores nothing.
func TestPasskeyBeginLimitedPerIP(t *testing.T) {
	e, db := rawEnv(t)
	max := throttle.PasskeyBeginPerIP.Max()
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	for range 5 {
		expectStatus(t, c.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	}
	if n := rows(t, db, `SELECT count(*) FROM webauthn_challenges`); n != 1 {
		t.Errorf("%d challenges after one browser began 5 ceremonies, want 1 (each replaces the last)", n)
	}

	a := e.newClient()
	expectStatus(t, a.get("/login"), http.StatusOK)
	for i := range max {
		a.setCookie("weftid_webauthn", "")
		if r := a.postJSON("/login/passkey/begin", "{}"); r.Status != http.StatusOK {
			t.Fatalf("begin %d of %d answered %d", i+1, max, r.Status)
		}
	}
	if n := rows(t, db, `SELECT count(*) FROM webauthn_challenges`); n != max+1 {
		t.Fatalf("%d challenges, want %d", n, max+1)
	}
	a.setCookie("weftid_webauthn", "")
	expectRefusedWritesNothing(t, db, "passkey begin", func() *response { return a.postJSON("/login/passkey/begin", "{}") })
	// Other addresses are not affected; after the window the address may begin again, and the
	// expired ceremonies are swept as it does.
	expectStatus(t, e.newClient().postJSON("/login/passkey/begin", "{}"), http.StatusForbidden) // no CSRF token: refused before anything
	b := e.newClient()
	expectStatus(t, b.get("/login"), http.StatusOK)
	expectStatus(t, b.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	e.clock.Advance(throttle.PasskeyBeginPerIP.Window())
	expectStatus(t, a.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	if n := rows(t, db, `SELECT count(*) FROM webauthn_challenges`); n != 1 {
		t.Errorf("%d challenges after the window, want 1: expired ones are swept when a ceremony begins", n)
	}
}

func TestOIDCAuthorizeRefusedWritesNothing(t *testing.T) {
	e, db := rawEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	attacker := e.newClient()
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"s"}, "nonce": {"n"}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}
	for i := range throttle.OIDCAuthorizePerIP.Max() {
		if r := attacker.get("/oauth2/authorize?" + q.Encode()); r.Status != http.StatusFound {
			t.Fatalf("authorize %d answered %d", i+1, r.Status)
		}
	}
	expectRefusedWritesNothing(t, db, "an authorize request", func() *response { return attacker.get("/oauth2/authorize?" + q.Encode()) })
}

func TestResetRequestRefusedWritesNothing(t *testing.T) {
	e, db := rawEnv(t)
	u := e.createUser("known@example.com", "Known", store.RoleUser, store.StatusActive)
	c := e.newClient()
	expectStatus(t, c.get("/password/forgot"), http.StatusOK)
	for i := range throttle.ResetRequestsPerIP.Max() {
		r := c.post("/password/forgot", url.Values{"email": {fmt.Sprintf("nobody%d@example.com", i)}})
		expectStatus(t, r, http.StatusOK)
	}
	expectRefusedWritesNothing(t, db, "a reset request", func() *response {
		return c.post("/password/forgot", url.Values{"email": {u.Email}})
	})
}

// A flood of throttled password guesses at one account: one login_failed at once, one
// login_throttled with the exact count of the rest when the window closes.
func TestThrottledGuessesLogOnceAndSummarize(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("flood@example.com", "Flood", store.RoleUser, store.StatusActive)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	for range throttle.PasswordPerAccount.Max() {
		expectStatus(t, c.post("/login", url.Values{"email": {u.Email}, "password": {"wrong"}}), http.StatusUnauthorized)
	}
	const refused = 25
	for range refused {
		expectStatus(t, c.post("/login", url.Values{"email": {u.Email}, "password": {"wrong"}}), http.StatusTooManyRequests)
	}
	throttled := 0
	for _, ev := range e.eventsOf("login_failed") {
		if ev.Details["reason"] == "throttled" {
			throttled++
		}
	}
	if throttled != 1 {
		t.Errorf("%d login_failed events for %d refused guesses, want 1", throttled, refused)
	}
	if n := len(e.eventsOf("login_throttled")); n != 0 {
		t.Errorf("%d login_throttled events before the window closed", n)
	}
	e.clock.Advance(throttle.PasswordPerAccount.Window())
	if _, err := throttle.Summarize(context.Background(), e.store, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	sums := e.eventsOf("login_throttled")
	if len(sums) != 1 {
		t.Fatalf("%d login_throttled events, want 1: %s", len(sums), eventSummary(sums))
	}
	d := sums[0].Details
	if d["count"] != float64(refused-1) || d["key"] != "account" || d["email"] != u.Email || d["rule"] != "password_per_account" || d["window"] != "15m0s" {
		t.Errorf("login_throttled details %v, want count %d for the account", d, refused-1)
	}
	for k := range d {
		if strings.Contains(k, "password") && k != "rule" {
			t.Errorf("login_throttled carries %q", k)
		}
	}
}
