package handlers_test

// Found by the security review of issue #6 (applications sign-on): each test failed before its
// fix. The comments say what was wrong.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"github.com/weftid/weftid/store"
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

// Anyone, without a session or a CSRF token, can fill the table of held SAML requests with one
// captured AuthnRequest posted again and again (no per-IP limit, no replay check, the row lives
// 15 minutes). At samlMaxPending every user's SP-initiated sign-on answers 503.
func TestSAMLHeldRequestsLimitedPerIP(t *testing.T) {
	e, sp, u, spID := samlSetup(t)
	_, form, _ := sp.start(saml.HTTPPostBinding)
	attacker := e.newClient()
	// One IP, one AuthnRequest, posted 300 times: every post is held.
	for i := 0; i < 300; i++ {
		r := attacker.postRaw("/saml/sso", form, http.Header{"Origin": {"http://evil.example"}})
		if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
			t.Logf("post %d was refused (%d): a throttle exists", i, r.Status)
			return
		}
	}
	// The rest of the 10,000 the same way (written directly to keep the test fast).
	ctx := context.Background()
	now := e.clock.Now()
	if err := e.store.InTx(ctx, func(tx *store.Tx) error {
		for i := 300; i < 10000; i++ {
			err := tx.HoldSAMLRequest(ctx, store.SAMLPendingRequest{
				IDHash: []byte(fmt.Sprintf("flood-%d", i)), SPID: spID, Binding: "post",
				SAMLRequest: form.Get("SAMLRequest"), CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute),
			}, 10000)
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A real user, already signed in, now cannot sign in to the SP at all.
	victim := e.newClient()
	victim.signIn(u.Email, testPassword)
	_, form2, _ := sp.start(saml.HTTPPostBinding)
	r := victim.postRaw("/saml/sso", form2, http.Header{"Origin": {"http://sp.example.test"}})
	if r.Status == http.StatusServiceUnavailable {
		t.Errorf("after one anonymous IP posted the same AuthnRequest repeatedly, a signed-in user's SAML sign-on answers 503")
	}
}

// /oauth2/authorize stores a row per request for 30 minutes, for anyone, with no per-IP limit
// and no cap: an anonymous client can grow oidc_auth_requests (and the disk) without bound.
func TestOIDCAuthorizeRequestsLimitedPerIP(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	attacker := e.newClient()
	big := strings.Repeat("x", 1600) // state and nonce are stored as given
	q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {big}, "nonce": {big}, "code_challenge": {strings.Repeat("a", 43)},
		"code_challenge_method": {"S256"}}
	for i := 0; i < 500; i++ {
		r := attacker.get("/oauth2/authorize?" + q.Encode())
		if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/oauth2/login?id=") {
			t.Logf("request %d refused (%d): a limit exists", i, r.Status)
			return
		}
	}
	t.Errorf("one anonymous IP stored 500 authorize requests of ~3.5 KB each without any limit")
}

// A code is good for one exchange only when exchanges do not overlap: AuthRequestByCode reads
// the request, tokens are minted in their own transaction, and DeleteAuthRequest (which does
// not check that it deleted anything) runs last. Two overlapping exchanges of one code both
// succeed, each with its own refresh token (RFC 6749 4.1.2: a code MUST NOT be used more than
// once). The overlap is made certain by holding the write lock while both start.
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

	// Hold SQLite's write lock while two exchanges start: both read the request by its code
	// (WAL reads do not wait), then both wait to mint their tokens. Release, and both mint.
	const n = 2
	var wg sync.WaitGroup
	refresh := make(chan string, n)
	locked, release := make(chan struct{}), make(chan struct{})
	go e.store.InTx(context.Background(), func(tx *store.Tx) error {
		close(locked)
		<-release
		return nil
	})
	<-locked
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier))
			if err == nil {
				refresh <- tok.RefreshToken
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // both exchanges are now waiting for the write lock
	close(release)
	wg.Wait()
	close(refresh)
	var got []string
	for r := range refresh {
		got = append(got, r)
	}
	if len(got) > 1 {
		t.Errorf("one code was exchanged %d times concurrently, giving %d live refresh tokens", len(got), len(got))
	}
}

// Deactivating a user leaves their refresh tokens in place (only checked at use), so
// reactivating them brings every 30-day refresh token back to life: revocation by deactivation
// is not revocation.
func TestDeactivationRevokesTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app)
	u := e.createUser("kit@example.com", "Kit", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)

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
	p := e.newRP(app)
	u := e.createUser("lee@example.com", "Lee", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	idToken, _ := tok.Extra("id_token").(string)
	r := b.get("/oauth2/end_session?" + url.Values{"id_token_hint": {idToken}}.Encode())
	if r.Status >= 400 {
		t.Fatalf("end_session: %s", r)
	}
	if r := b.get("/dashboard"); r.Status == http.StatusOK {
		t.Error("after RP-initiated logout the weftid session is still signed in")
	}
}
