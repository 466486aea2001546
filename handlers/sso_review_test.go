package handlers_test

// Found by the security review of issue #6 (applications sign-on): each test failed before its
// fix. The comments say what was wrong.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// A code handed to the RP just before "Sign out everywhere" can still be exchanged afterwards:
// the revocation deletes tokens and sessions but not the done authorize request that holds the
// code, and AuthRequestByCode checks only that the user is active. The RP ends up with a fresh
// 30-day refresh token after the revocation.
func TestCodeIssuedBeforeSignOutEverywhereIsRefused(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app)
	u := e.createUser("hal@example.com", "Hal", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)

	expectRedirect(t, admin.post(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil),
		fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", u.ID))

	if tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Errorf("a code issued before Sign out everywhere was exchanged after it (refresh token %t, active %t)",
			tok.RefreshToken != "", e.active(app, tok.AccessToken))
	}
}

// The same with a forced password reset: while the user must reset, a code issued before the
// reset still yields tokens (AuthRequestByCode does not look at PasswordResetRequired).
func TestCodeIssuedBeforeForcedResetCannotBeExchanged(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app)
	u := e.createUser("ivy@example.com", "Ivy", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)

	expectRedirect(t, forceReset(admin, u), fmt.Sprintf("/users/%d/danger?notice=password_reset_forced", u.ID))

	if tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Errorf("a code issued before a forced reset was exchanged while the reset is pending (refresh token %t, active %t)",
			tok.RefreshToken != "", e.active(app, tok.AccessToken))
	}
}

// Anyone, without a session or a CSRF token, could fill the table of held SAML requests with one
// captured AuthnRequest posted again and again (no per-IP limit, no replay check, the row lives
// 15 minutes), until at samlMaxPending every user's SP-initiated sign-on answered 503. Now one
// address stores at most throttle.SAMLHoldPerIP.Max() (200) requests per window: each of those is held
// (303 to its continuation) and the next is refused with exactly 429. Other addresses, and a
// signed-in browser even at the same address, are answered as before.
func TestSAMLHeldRequestsLimitedPerIP(t *testing.T) {
	limit := throttle.SAMLHoldPerIP.Max()
	e, sp, u, _ := samlSetup(t)
	_, form, _ := sp.start(saml.HTTPPostBinding)
	attacker := e.newClient()
	flood := func(c *client) *response {
		return c.postRaw("/saml/sso", form, http.Header{"Origin": {"http://evil.example"}})
	}
	continuations := map[string]bool{}
	held := func(r *response, what string) {
		t.Helper()
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") || continuations[r.Location] {
			t.Fatalf("%s: %s, want 303 to a new /saml/continue/...", what, r)
		}
		continuations[r.Location] = true
	}
	for i := 1; i <= limit; i++ {
		held(flood(attacker), fmt.Sprintf("anonymous post %d of %d", i, limit))
	}
	r := flood(attacker)
	expectStatus(t, r, http.StatusTooManyRequests)
	expectAlert(t, r, "Too many sign-in requests from this address. Wait a few minutes and try again.")
	if got := r.Header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	issuedNothing(t, r, "the post over the limit")
	// The limit comes before the request is read: a malformed one over the limit is 429 too,
	// while the same malformed request from a fresh address is read and refused as such (400).
	junk := url.Values{"SAMLRequest": {"bm90IFNBTUw="}}
	expectStatus(t, attacker.postRaw("/saml/sso", junk, http.Header{"Origin": {"http://evil.example"}}), http.StatusTooManyRequests)
	expectStatus(t, e.newClient().postRaw("/saml/sso", junk, http.Header{"Origin": {"http://evil.example"}}), http.StatusBadRequest)

	// Another address is not counted against this one.
	held(flood(e.newClient()), "another address's post")
	// A signed-in user at the flooding address is not counted either: the request is held for
	// the hop to the continuation, which answers it.
	victim := e.newClient()
	victim.ip = attacker.ip
	victim.signIn(u.Email, testPassword)
	_, form2, spCookies := sp.start(saml.HTTPPostBinding)
	r = victim.postRaw("/saml/sso", form2, http.Header{"Origin": {"https://sp.example.test"}})
	held(r, "a signed-in user's post from the flooding address")
	checkAssertion(t, sp.acs(postPage(t, victim.get(r.Location)), spCookies), u)
}

// /oauth2/authorize stores a row per request for 30 minutes, for anyone, with no per-IP limit
// and no cap: an anonymous client can grow oidc_auth_requests (and the disk) without bound.
// Each IP address may store 200 per 15 minutes: those are answered as usual, the next is 429.
func TestOIDCAuthorizeRequestsLimitedPerIP(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	attacker := e.newClient()
	big := strings.Repeat("x", 1600) // state and nonce are stored as given
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {big}, "nonce": {big}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}
	const limit = 200
	for i := 0; i < limit; i++ {
		r := attacker.get("/oauth2/authorize?" + q.Encode())
		if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/oauth2/login?id=") {
			t.Fatalf("authorize request %d of the %d allowed answered %d (Location %q), want 302 to /oauth2/login", i+1, limit, r.Status, r.Location)
		}
	}
	if r := attacker.get("/oauth2/authorize?" + q.Encode()); r.Status != http.StatusTooManyRequests {
		t.Errorf("authorize request %d from one anonymous IP answered %d, want 429", limit+1, r.Status)
	}
}

// A code is good for one exchange only when exchanges do not overlap: AuthRequestByCode reads
// the request, tokens are minted in their own transaction, and DeleteAuthRequest (which does
// not check that it deleted anything) runs last. Two overlapping exchanges of one code both
// succeed, each with its own refresh token (RFC 6749 4.1.2: a code MUST NOT be used more than
// once). The overlap is made certain by holding the write lock until every exchange has read
// the code and waits to mint its tokens.
func TestCodeExchangedOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app)
	u := e.createUser("jo@example.com", "Jo", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)

	// Hold SQLite's write lock while the exchanges start: each reads the request by its code
	// (WAL reads do not wait), then waits to begin the transaction that mints its tokens. On
	// PostgreSQL, where transactions do not wait for each other to begin, hold the request's
	// row instead: each exchange reads it (reads do not wait for row locks), then waits inside
	// the transaction that consumes it.
	const n = 3
	locked, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- holdWrites(e, func() {
			close(locked)
			<-release
		})
	}()
	<-locked
	released := false
	unlock := func() {
		if !released {
			released = true
			close(release)
			if err := <-held; err != nil {
				t.Errorf("the transaction holding the write lock: %v", err)
			}
		}
	}
	defer unlock()

	start := make(chan struct{})
	results := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			<-start
			_, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier))
			results <- err
		}()
	}
	close(start)
	if err := waitForMinting(n, 4*time.Second); err != nil {
		t.Fatal(err)
	}
	unlock()

	ok, refused := 0, 0
	for i := 0; i < n; i++ {
		err := <-results
		var re *oauth2.RetrieveError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
			refused++
		default:
			t.Errorf("an exchange failed otherwise than with invalid_grant: %v", err)
		}
	}
	if ok != 1 || refused != n-1 {
		t.Errorf("%d overlapping exchanges of one code: %d succeeded and %d got invalid_grant, want 1 and %d", n, ok, refused, n-1)
	}
}

// waitForMinting waits until n goroutines have read their code and wait to begin the
// transaction that mints tokens (which the test's own transaction holds back), reading their
// stacks: the state itself, rather than a guess of how long getting there takes.
func waitForMinting(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		got := 0
		for _, g := range strings.Split(allStacks(), "\n\n") {
			if strings.Contains(g, "services/oidc.(*storage).CreateAccess") && strings.Contains(g, "store.(*Store).InTx") {
				got++
			}
		}
		if got == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s, %d of %d exchanges wait to mint tokens", limit, got, n)
		}
		<-tick.C
	}
}

// holdWrites runs wait while holding what keeps the exchanges of a code from writing: SQLite's
// write lock, or on PostgreSQL a lock on every stored authorize request's row.
func holdWrites(e *env, wait func()) error {
	ctx := context.Background()
	if !store.IsPostgresURL(e.db) {
		return e.store.InTx(ctx, func(tx *store.Tx) error {
			wait()
			return nil
		})
	}
	tx, err := storetest.RawDB(e.t, e.db).BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT id FROM oidc_auth_requests FOR UPDATE`); err != nil {
		return err
	}
	wait()
	return nil
}

// allStacks is the stack of every goroutine.
func allStacks() string {
	for size := 1 << 16; ; size *= 2 {
		buf := make([]byte, size)
		if n := runtime.Stack(buf, true); n < size {
			return string(buf[:n])
		}
	}
}

// Deactivating a user leaves their refresh tokens in place (only checked at use), so
// reactivating them brings every 30-day refresh token back to life: revocation by deactivation
// is not revocation.
func TestDeactivationRevokesTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p, u, _, tok := e.tokensOf(app, "kit@example.com", "Kit")

	expectStatus(t, admin.get(fmt.Sprintf("/users/%d/danger", u.ID)), http.StatusOK)
	admin.post(fmt.Sprintf("/users/%d/deactivate", u.ID), nil)
	if e.user(u.ID).Active() {
		t.Fatal("test setup: the user was not deactivated")
	}
	admin.post(fmt.Sprintf("/users/%d/reactivate", u.ID), nil)
	if !e.user(u.ID).Active() {
		t.Fatal("test setup: the user was not reactivated")
	}
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("a refresh token issued before the user was deactivated works again after reactivation")
	}
}

// RP-initiated logout (/oauth2/end_session) revokes that client's tokens but leaves the weftid
// browser session alive: the next authorize from any RP signs the user straight back in.
func TestEndSessionEndsWeftidSession(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	_, _, b, tok := e.tokensOf(app, "lee@example.com", "Lee")
	idToken, _ := tok.Extra("id_token").(string)
	r := b.get("/oauth2/end_session?" + url.Values{"id_token_hint": {idToken}}.Encode())
	if r.Status >= 400 {
		t.Fatalf("end_session: %s", r)
	}
	if r := b.get("/dashboard"); r.Status == http.StatusOK {
		t.Error("after RP-initiated logout the weftid session is still signed in")
	}
}
