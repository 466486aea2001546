package handlers_test

// OpenID Connect: the authorize flow and the sign-ins it waits for.

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/weftid/weftid/store"
)

// The whole Baseline flow with a real RP: authorize, sign-in held until the e-mail code, code
// only for the browser and session that finished it, once; ID token verified; userinfo,
// introspection, refresh rotation; "Sign out everywhere" ends refresh and introspection.
func TestOIDCBaselineSignIn(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	if app.Secret == "" {
		t.Fatal("a confidential client's secret was not shown after registering")
	}
	alice := e.createUser("alice@example.com", "Alice", store.RoleUser, store.StatusActive)
	p := e.newRP(app)

	b := e.newClient()
	f, r := p.authorize(b)
	expectRedirect(t, r, "/login")
	expectStatus(t, b.get("/login"), http.StatusOK)
	r = b.post("/login", url.Values{"email": {alice.Email}, "password": {testPassword}})
	expectRedirect(t, r, "/login/verify")

	// Pending second factor: neither the callback, nor /oauth2/continue, nor a replayed
	// authorize issues anything.
	noCode(t, b.get(callbackPath(f.requestID)), "the callback while the code step is pending")
	r = b.get("/oauth2/continue?id=" + url.QueryEscape(f.requestID))
	expectRedirect(t, r, "/login")
	fy, r := p.authorize(b)
	noCode(t, r, "a replayed authorize while the code step is pending")
	expectRedirect(t, r, "/login")

	r = b.post("/login/verify", url.Values{"code": {e.waitCode(alice.Email)}, "method": {"email"}})
	// The sign-in carries the latest request of this browser (the replayed one).
	expectRedirect(t, r, "/oauth2/continue?id="+url.QueryEscape(fy.requestID))
	code := p.continueToRP(b, r.Location, fy)
	p.exchange(code, fy)
	// The first request was never completed: its callback issues nothing.
	noCode(t, b.get(callbackPath(f.requestID)), "the callback of the superseded request")

	// Another browser cannot take a code of this request; this one gets its code once.
	b2 := e.newClient()
	f, r = p.authorize(b)
	if r.Status != http.StatusSeeOther || localPath(t, r.Location) != callbackPath(f.requestID) {
		t.Fatalf("a complete session did not go straight to the callback: %s", r)
	}
	code = p.codeFrom(b.get(callbackPath(f.requestID)), f)
	noCode(t, b2.get(callbackPath(f.requestID)), "another browser at the callback")
	noCode(t, b.get(callbackPath(f.requestID)), "a second visit to the callback")

	// PKCE: a wrong verifier is refused.
	if _, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("code exchange with a wrong PKCE verifier succeeded")
	}
	tok := p.exchange(code, f)
	idt, err := p.verifier.Verify(p.ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email    string `json:"email"`
		Verified bool   `json:"email_verified"`
		Name     string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != alice.Email || !claims.Verified || claims.Name != "Alice" || idt.Subject != fmt.Sprint(alice.ID) {
		t.Errorf("ID token claims: sub %s %+v %v", idt.Subject, claims, err)
	}
	ui, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Email != alice.Email || ui.Subject != fmt.Sprint(alice.ID) {
		t.Fatalf("userinfo: %+v, %v", ui, err)
	}
	if !e.active(app, tok.AccessToken) {
		t.Fatal("a fresh access token is not active")
	}
	if st, _ := e.introspect("", "", tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("introspection without client authentication answered %d, want 401", st)
	}
	if st, _ := e.introspect(app.ClientID, "wrong", tok.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("introspection with a wrong secret answered %d, want 401", st)
	}

	// Refresh rotates: the new token works (that the old one does not, and what its reuse
	// does, is TestRefreshTokenReuseRevokesTheGrant).
	tok2, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}
	if !e.active(app, tok2.AccessToken) {
		t.Fatal("the refreshed access token is not active")
	}

	if n := len(e.eventsOf("oauth2_authorized")); n != 2 {
		t.Errorf("%d oauth2_authorized events, want 2 (one a code)", n)
	}
	checkEvent(t, e.lastEvent("oauth2_authorized"), "oauth2_authorized", alice.ID, "")

	// Sign out everywhere: sessions end, the refresh token fails, introspection says inactive.
	r = admin.post(fmt.Sprintf("/users/%d/sign-out-everywhere", alice.ID), nil)
	expectRedirect(t, r, fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", alice.ID))
	if _, err := p.refresh(tok2.RefreshToken); err == nil {
		t.Fatal("refresh works after Sign out everywhere")
	}
	if e.active(app, tok2.AccessToken) || e.active(app, tok.AccessToken) {
		t.Fatal("introspection says active after Sign out everywhere")
	}
	if _, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok2)); err == nil {
		t.Fatal("userinfo works after Sign out everywhere")
	}
	expectRedirect(t, b.get("/dashboard"), "/login")
	ev := e.lastEvent("oauth2_user_tokens_revoked")
	checkEvent(t, ev, "oauth2_user_tokens_revoked", alice.ID, "sign_out_everywhere")
	if n, _ := ev.Details["tokens"].(float64); n < 2 {
		t.Errorf("oauth2_user_tokens_revoked tokens = %v, want at least 2", ev.Details["tokens"])
	}
	checkEvent(t, e.lastEvent("user_signed_out_everywhere"), "user_signed_out_everywhere", alice.ID, "")

	// A code works once. (Checked last: a second use revokes what the first was given, which
	// is TestCodeReplayRevokesTheTokensOfItsFirstUse.)
	if _, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
}

// Under Enhanced, a user with only e-mail codes reaches the RP only after enrolling: while the
// enrollment step is pending the callback, /oauth2/continue and a replayed authorize issue nothing.
func TestOIDCEnhancedWaitsForEnrollment(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	e.setStrength("enhanced")
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	p := e.newRP(app)

	b := e.newClient()
	f, r := p.authorize(b)
	expectRedirect(t, r, "/login")
	b.startSignIn(bob.Email, testPassword)
	r = postCode(b, e.waitCode(bob.Email))
	expectRedirect(t, r, "/login/enroll")

	for _, path := range []string{callbackPath(f.requestID), "/oauth2/continue?id=" + url.QueryEscape(f.requestID)} {
		r := b.get(path)
		noCode(t, r, path+" while enrollment is pending")
		if r.Status != http.StatusBadRequest && r.Location != "/login/enroll" {
			t.Errorf("%s while enrollment is pending: %s", path, r)
		}
	}
	f2, r := p.authorize(b)
	noCode(t, r, "a replayed authorize while enrollment is pending")
	if got := b.get("/login"); got.Location != "/login/enroll" {
		t.Errorf("/login while enrollment is pending: %s", got)
	}
	if len(e.eventsOf("user_signed_in")) != 1 { // the admin's
		t.Fatalf("a session was made before enrollment: %s", eventSummary(e.events()))
	}

	secret, _ := enrollTOTPPage(t, b, nil)
	r = b.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	cont := "/oauth2/continue?id=" + url.QueryEscape(f2.requestID)
	if !strings.Contains(r.Body, `href="`+html.EscapeString(cont)+`"`) {
		t.Fatalf("the backup codes page does not continue to the OIDC request %s:\n%s", cont, r)
	}
	code := p.continueToRP(b, cont, f2)
	tok := p.exchange(code, f2)
	if !e.active(app, tok.AccessToken) {
		t.Fatal("token not active after enrollment")
	}
}

// Every client must use PKCE with S256; response_mode form_post is refused.
func TestOIDCAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	b := e.newClient()
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"no PKCE":    nil,
		"plain PKCE": {oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
		"form_post":  {oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("response_mode", "form_post")},
	} {
		r := b.get(localPath(t, p.conf.AuthCodeURL("s1", opts...)))
		u, _ := url.Parse(r.Location)
		if !strings.HasPrefix(r.Location, rpRedirect) || u.Query().Get("error") != "invalid_request" || u.Query().Get("state") != "s1" {
			t.Errorf("%s: authorize answered %s, want invalid_request back to the RP", name, r)
		}
	}
	// An unregistered redirect URI is never redirected to.
	bad := p.conf
	bad.RedirectURL = "https://evil.example/cb"
	r := b.get(localPath(t, bad.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))))
	if strings.Contains(r.Location, "evil.example") {
		t.Errorf("authorize redirected to an unregistered redirect URI: %s", r)
	}
	// An unknown or expired request id at /oauth2/login.
	expectStatus(t, b.get("/oauth2/login?id=nope"), http.StatusBadRequest)
}

// A request opened in one browser cannot be completed by another browser's session.
func TestOIDCRequestBoundToBrowser(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	e.createUser("mallory@example.com", "Mallory", store.RoleUser, store.StatusActive)
	victim := e.createUser("victim@example.com", "Victim", store.RoleUser, store.StatusActive)

	attacker := e.newClient()
	f, r := p.authorize(attacker) // the attacker's own request...
	expectRedirect(t, r, "/login")
	v := e.newClient()
	v.signIn(victim.Email, testPassword)
	// ...opened by the signed-in victim: refused, nothing bound to the victim.
	r = v.get("/oauth2/login?id=" + url.QueryEscape(f.requestID))
	expectStatus(t, r, http.StatusBadRequest)
	r = v.get("/oauth2/continue?id=" + url.QueryEscape(f.requestID))
	expectStatus(t, r, http.StatusBadRequest)
	noCode(t, attacker.get(callbackPath(f.requestID)), "the attacker at the callback")
}

// prompt=login ends the existing session and needs a fresh sign-in.
func TestOIDCPromptLogin(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	u := e.createUser("carol@example.com", "Carol", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, r := p.authorize(b, oauth2.SetAuthURLParam("prompt", "login"))
	// A link alone must not end a session (any site could sign people out with one): the
	// user confirms the fresh sign-in with a form.
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `action="/oauth2/login"`) {
		t.Fatalf("prompt=login with a session: no confirmation form\n%s", r)
	}
	expectStatus(t, b.get("/dashboard"), http.StatusOK)
	if n := len(e.eventsOf("user_signed_out")); n != 0 {
		t.Fatalf("a GET ended the session (%d user_signed_out)", n)
	}
	expectStatus(t, b.postRaw("/oauth2/login", url.Values{"id": {f.requestID}}, nil), http.StatusForbidden) // no CSRF token
	expectRedirect(t, b.post("/oauth2/login", url.Values{"id": {f.requestID}}), "/login")
	expectRedirect(t, b.get("/dashboard"), "/login")
	checkEvent(t, e.lastEvent("user_signed_out"), "user_signed_out", u.ID, "prompt_login")
	b.startSignIn(u.Email, testPassword)
	r = b.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	expectRedirect(t, r, "/oauth2/continue?id="+url.QueryEscape(f.requestID))
	p.exchange(p.continueToRP(b, r.Location, f), f)

	// prompt=none without a session: login_required back to the RP.
	b2 := e.newClient()
	_, r = p.authorize(b2, oauth2.SetAuthURLParam("prompt", "none"))
	if !strings.Contains(r.Location, "error=login_required") {
		t.Errorf("prompt=none without a session: %s", r)
	}
}

// An http issuer other than loopback is refused: no OpenID Connect endpoints at all.
func TestOIDCRefusesInsecureIssuer(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "http://id.example.com"})
	b := e.newClient()
	expectStatus(t, b.get("/.well-known/openid-configuration"), http.StatusNotFound)
	e2 := newEnvWith(t, envOptions{baseURL: "http://127.0.0.1:8080"})
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/.well-known/openid-configuration", nil)
	resp, err := e2.app.Test(req, -1)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("loopback issuer discovery: %v %v", resp.StatusCode, err)
	}
	var d map[string]any
	json.NewDecoder(resp.Body).Decode(&d)
	if d["issuer"] != "http://127.0.0.1:8080" || d["token_endpoint"] != "http://127.0.0.1:8080/oauth2/token" ||
		d["introspection_endpoint"] != "http://127.0.0.1:8080/oauth2/introspect" || d["jwks_uri"] != "http://127.0.0.1:8080/oauth2/keys" {
		t.Errorf("discovery: %v", d)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("discovery allows any origin")
	}
}

// Every way a sign-in finishes continues to the pending OIDC request: password and TOTP, a
// backup code, a passkey alone, a passkey as the second factor, and enrollment with a passkey.
func TestOIDCEverySignInMethodContinues(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	tu, _, secret, codes := e.totpUser("totp@example.com", "Totp")
	pk, pkc := e.signedIn("pk@example.com", "Pk", store.RoleUser)
	key := registerSoftKey(t, pkc, "Key")

	finish := func(name string, b *client, f flow, loc string) {
		t.Helper()
		want := "/oauth2/continue?id=" + url.QueryEscape(f.requestID)
		if loc != want {
			t.Fatalf("%s: the finished sign-in went to %q, want %q", name, loc, want)
		}
		p.exchange(p.continueToRP(b, loc, f), f)
	}
	start := func(email string) (*client, flow) {
		b := e.newClient()
		f, r := p.authorize(b)
		expectRedirect(t, r, "/login")
		if email != "" {
			b.startSignIn(email, testPassword)
		} else {
			expectStatus(t, b.get("/login"), http.StatusOK)
		}
		return b, f
	}

	b, f := start(tu.Email)
	r := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 1)}})
	finish("TOTP", b, f, r.Location)

	b, f = start(tu.Email)
	r = b.post("/login/verify", url.Values{"method": {"backup"}, "code": {codes[0]}})
	finish("backup code", b, f, r.Location)

	b, f = start("")
	r = passkeyLogin(t, b, key.get)
	expectStatus(t, r, http.StatusOK)
	loc, _ := jsonOf(t, r)["redirect"].(string)
	finish("passkey", b, f, loc)

	b, f = start(pk.Email)
	r = passkeyLoginAt(t, b, beginSecondFactor, key.get)
	expectStatus(t, r, http.StatusOK)
	loc, _ = jsonOf(t, r)["redirect"].(string)
	finish("password and passkey", b, f, loc)

	e.setStrength("enhanced")
	en := e.createUser("enroll@example.com", "Enroll", store.RoleUser, store.StatusActive)
	b = e.newClient()
	f, _ = p.authorize(b)
	b.startSignIn(en.Email, testPassword)
	expectRedirect(t, postCode(b, e.waitCode(en.Email)), "/login/enroll")
	noCode(t, b.get(callbackPath(f.requestID)), "the callback while enrollment is pending")
	k := newSoftKey(t)
	r = b.postJSON("/login/enroll/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = b.postJSON("/login/enroll/passkey/finish?name=Key", k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	loc, _ = jsonOf(t, r)["redirect"].(string)
	finish("enrollment with a passkey", b, f, loc)
}

// max_age: a session older than the RP allows signs in afresh; a young one is answered at once.
func TestOIDCMaxAge(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	u := e.createUser("hal@example.com", "Hal", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	e.clock.Advance(10 * time.Minute)
	f, r := p.authorize(b, oauth2.SetAuthURLParam("max_age", "3600"))
	expectRedirect(t, r, baseURL+callbackPath(f.requestID))
	p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)

	f, r = p.authorize(b, oauth2.SetAuthURLParam("max_age", "60"))
	expectStatus(t, r, http.StatusOK)
	expectRedirect(t, b.post("/oauth2/login", url.Values{"id": {f.requestID}}), "/login")
	checkEvent(t, e.lastEvent("user_signed_out"), "user_signed_out", u.ID, "max_age")
	b.startSignIn(u.Email, testPassword)
	r = b.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	p.exchange(p.continueToRP(b, r.Location, f), f)
}

// An authorize request sent by POST (OpenID Connect Core 3.1.2.1) from the application's page,
// without a CSRF token, moves to the GET with the same parameters and signs in as usual; a body
// that is not a form, or too large, gets weftid's page and no redirect.
func TestOIDCAuthorizeByPost(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	alice := e.createUser("alice@example.com", "Alice", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(alice.Email, testPassword)

	f := flow{verifier: oauth2.GenerateVerifier(), state: "st-post", nonce: "n-post"}
	authURL, _ := url.Parse(p.conf.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("nonce", f.nonce)))
	r := b.postRaw("/oauth2/authorize", authURL.Query(), nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /oauth2/authorize answered %s, want 303 to the GET", r)
	}
	moved, _ := url.Parse(r.Location)
	if moved.Path != "/oauth2/authorize" || moved.Query().Encode() != authURL.Query().Encode() {
		t.Fatalf("POST /oauth2/authorize moved to %s, want the GET with %s", r.Location, authURL.RawQuery)
	}
	r = b.get(r.Location)
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/oauth2/login?id=") {
		t.Fatalf("the moved authorize request answered %s", r)
	}
	lu, _ := url.Parse(r.Location)
	f.requestID = lu.Query().Get("id")
	b.get(r.Location) // signed in already: /oauth2/login sends on to the callback
	p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)

	for name, send := range map[string]func() *response{
		"JSON body": func() *response {
			return b.do(http.MethodPost, "/oauth2/authorize", strings.NewReader(`{"client_id":"x"}`), http.Header{"Content-Type": {"application/json"}})
		},
		"too large": func() *response {
			q := authURL.Query()
			q.Set("login_hint", strings.Repeat("a", 8<<10)) // past the 8 KB a POSTed request may take
			return b.postRaw("/oauth2/authorize", q, nil)
		},
	} {
		r := send()
		if r.Status != http.StatusBadRequest || r.Location != "" || !strings.Contains(r.Body, "could not be read") {
			t.Errorf("%s: POST /oauth2/authorize answered %s, want weftid's 400 page", name, r)
		}
	}
}
