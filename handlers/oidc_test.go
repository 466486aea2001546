package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/weftid/weftid/store"
)

// rpRedirect is the relying party's redirect URI. The handler tests never contact it: the
// browser stops at the redirect that names it.
const rpRedirect = "http://127.0.0.1:9/callback"

// appTransport sends the relying party's own requests (discovery, JWKS, token, userinfo,
// introspection) to the real app, as a server-to-server client would.
type appTransport struct{ e *env }

func (a appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RequestURI = ""
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	return a.e.app.Test(r, -1)
}

// rp is a real relying party: golang.org/x/oauth2 for the flow and go-oidc verifying ID tokens.
type rp struct {
	t        *testing.T
	e        *env
	ctx      context.Context
	conf     oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	secret   string
}

type oidcApp struct {
	ClientID, Secret string
}

var (
	clientIDField = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
	secretField   = regexp.MustCompile(`id="secret-value"[^>]*value="([^"]*)"`)
)

// registerApp registers a client through the Applications pages as admin and returns its id
// and the secret the page showed.
func registerApp(t *testing.T, admin *client, form url.Values) oidcApp {
	t.Helper()
	expectStatus(t, admin.get("/applications/oidc/new"), http.StatusOK)
	r := admin.post("/applications/oidc", form)
	expectStatus(t, r, http.StatusOK)
	m := clientIDField.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no client id on the page after registering:\n%s", r)
	}
	app := oidcApp{ClientID: html.UnescapeString(m[1])}
	if s := secretField.FindStringSubmatch(r.Body); s != nil {
		app.Secret = html.UnescapeString(s[1])
	}
	return app
}

func (e *env) adminClient() *client {
	e.t.Helper()
	n := len(e.eventsOf("user_created"))
	email := fmt.Sprintf("admin%d@example.com", n)
	e.createUser(email, "Admin", store.RoleSuperAdmin, store.StatusActive)
	a := e.newClient()
	a.signIn(email, testPassword)
	return a
}

func (e *env) newRP(app oidcApp, scopes ...string) *rp {
	e.t.Helper()
	ctx := gooidc.ClientContext(context.Background(), &http.Client{Transport: appTransport{e}})
	p, err := gooidc.NewProvider(ctx, baseURL) // fetches discovery, checks the issuer is exactly ours
	if err != nil {
		e.t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email", gooidc.ScopeOfflineAccess}
	}
	return &rp{
		t: e.t, e: e, ctx: ctx, secret: app.Secret, provider: p,
		conf: oauth2.Config{ClientID: app.ClientID, ClientSecret: app.Secret, Endpoint: p.Endpoint(), RedirectURL: rpRedirect, Scopes: scopes},
		// The clock of the ID token is op's (real time); the test clock starts at real time.
		verifier: p.Verifier(&gooidc.Config{ClientID: app.ClientID}),
	}
}

// flow is one authorization in a browser.
type flow struct {
	verifier, state, nonce string
	requestID              string
}

func localPath(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "" && "http://"+u.Host != baseURL {
		t.Fatalf("%s is not ours", loc)
	}
	return u.RequestURI()
}

// authorize opens the RP's authorize URL in the browser and follows op to our LoginURL,
// returning the request id and where /oauth2/login sent the browser.
func (p *rp) authorize(b *client, extra ...oauth2.AuthCodeOption) (flow, *response) {
	p.t.Helper()
	f := flow{verifier: oauth2.GenerateVerifier(), state: "st-" + fmt.Sprint(time.Now().UnixNano()), nonce: "n-" + fmt.Sprint(time.Now().UnixNano())}
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.verifier), gooidc.Nonce(f.nonce)}, extra...)
	r := b.get(localPath(p.t, p.conf.AuthCodeURL(f.state, opts...)))
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/oauth2/login?id=") {
		p.t.Fatalf("authorize did not send the browser to /oauth2/login: %s", r)
	}
	lu, _ := url.Parse(r.Location)
	f.requestID = lu.Query().Get("id")
	return f, b.get(r.Location)
}

func callbackPath(id string) string { return "/oauth2/authorize/callback?id=" + url.QueryEscape(id) }

// codeFrom expects a redirect to the RP with a code and the right state.
func (p *rp) codeFrom(r *response, f flow) string {
	p.t.Helper()
	if !strings.HasPrefix(r.Location, rpRedirect) {
		p.t.Fatalf("expected a redirect to the RP, got %s", r)
	}
	u, _ := url.Parse(r.Location)
	if u.Query().Get("state") != f.state || u.Query().Get("code") == "" {
		p.t.Fatalf("RP redirect without code or with the wrong state: %s", r.Location)
	}
	return u.Query().Get("code")
}

// noCode checks that a response issues no code.
func noCode(t *testing.T, r *response, what string) {
	t.Helper()
	if strings.Contains(r.Location, "code=") || strings.Contains(r.Header.Get("Refresh"), "code=") {
		t.Fatalf("%s issued a code: %s", what, r)
	}
}

// continueToRP follows /oauth2/continue's page (a Refresh header) and the callback.
func (p *rp) continueToRP(b *client, continueURL string, f flow) string {
	p.t.Helper()
	r := b.get(continueURL)
	expectStatus(p.t, r, http.StatusOK)
	refresh := r.Header.Get("Refresh")
	want := "0; url=" + baseURL + callbackPath(f.requestID)
	if refresh != want {
		p.t.Fatalf("continue page Refresh = %q, want %q", refresh, want)
	}
	if !strings.Contains(r.Body, `id="oidc-continue"`) {
		p.t.Errorf("continue page has no Continue link")
	}
	return p.codeFrom(b.get(callbackPath(f.requestID)), f)
}

func (p *rp) exchange(code string, f flow) *oauth2.Token {
	p.t.Helper()
	tok, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		p.t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(p.ctx, raw)
	if err != nil {
		p.t.Fatalf("ID token does not verify: %v", err)
	}
	if idt.Nonce != f.nonce {
		p.t.Errorf("ID token nonce %q, want %q", idt.Nonce, f.nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t := p.t
		t.Errorf("at_hash: %v", err)
	}
	return tok
}

func (p *rp) refresh(refreshToken string) (*oauth2.Token, error) {
	return p.conf.TokenSource(p.ctx, &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
}

// introspect asks /oauth2/introspect as the given client (HTTP Basic).
func (e *env) introspect(clientID, secret, token string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func (e *env) active(app oidcApp, token string) bool {
	e.t.Helper()
	st, m := e.introspect(app.ClientID, app.Secret, token)
	if st != http.StatusOK {
		e.t.Fatalf("introspection answered %d: %v", st, m)
	}
	return m["active"] == true
}

// webApp is a fresh registration form of a confidential web app (post adds _csrf to its form).
func webApp() url.Values {
	return url.Values{"name": {"Wiki"}, "redirect_uris": {rpRedirect}, "type": {"confidential"}, "home_url": {"https://wiki.example.com/"}}
}

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
	if _, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Fatal("a code was exchanged twice")
	}
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

// A service client gets tokens for itself; a resource server (service client) may introspect
// other clients' tokens; a client that is not a service may not use client credentials.
func TestOIDCClientCredentials(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	svc := registerApp(t, admin, url.Values{"name": {"Billing API"}, "type": {"confidential"}, "service": {"1"}})
	web := registerApp(t, admin, webApp())
	p := e.newRP(web)
	ctx := p.ctx
	cc := clientcredentials.Config{ClientID: svc.ClientID, ClientSecret: svc.Secret, TokenURL: p.provider.Endpoint().TokenURL}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	st, m := e.introspect(svc.ClientID, svc.Secret, tok.AccessToken)
	if st != 200 || m["active"] != true || m["client_id"] != svc.ClientID || m["sub"] != svc.ClientID {
		t.Fatalf("introspection of a service token: %d %v", st, m)
	}
	if _, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo answered for a client's own token")
	}
	// The web app may not use client credentials, nor introspect the service's token.
	cc2 := clientcredentials.Config{ClientID: web.ClientID, ClientSecret: web.Secret, TokenURL: cc.TokenURL}
	if _, err := cc2.Token(ctx); err == nil {
		t.Error("a client that is not a service got a client-credentials token")
	}
	if e.active(web, tok.AccessToken) {
		t.Error("a non-service client introspected another client's token")
	}
	// A user's token: the resource server (service client) sees it active.
	b := e.newClient()
	u := e.createUser("dave@example.com", "Dave", store.RoleUser, store.StatusActive)
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	user := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	if !e.active(svc, user.AccessToken) {
		t.Error("a resource server cannot introspect a user's token")
	}
	// RFC 7009: revoking the refresh token ends the grant.
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/oauth2/revoke", strings.NewReader(url.Values{"token": {user.RefreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(web.ClientID, web.Secret)
	resp, err := e.app.Test(req, -1)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp.StatusCode, err)
	}
	if e.active(svc, user.AccessToken) {
		t.Error("the access token of a revoked grant is active")
	}
	if _, err := p.refresh(user.RefreshToken); err == nil {
		t.Error("a revoked refresh token works")
	}
}

// A deactivated user's refresh token stops working.
func TestOIDCRefreshNeedsActiveUser(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app)
	u := e.createUser("erin@example.com", "Erin", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	if err := e.store.SetUserStatus(context.Background(), u.ID, store.StatusInactive, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("a deactivated user's refresh token works")
	}
	if e.active(app, tok.AccessToken) {
		t.Error("a deactivated user's access token is active")
	}
}

// The Applications pages: admins only, https or loopback redirect URIs, secret shown once and
// regenerable, removal revokes the app's tokens, an event for every change; the dashboard lists
// apps with a home URL; rotating the signing key is for super admins and keeps old ID tokens valid.
func TestApplicationsPages(t *testing.T) {
	e := newEnv(t)
	super := e.adminClient()
	e.createUser("adm@example.com", "Adm", store.RoleAdmin, store.StatusActive)
	adm := e.newClient()
	adm.signIn("adm@example.com", testPassword)
	user := e.newClient()
	e.createUser("u@example.com", "U", store.RoleUser, store.StatusActive)
	user.signIn("u@example.com", testPassword)

	expectStatus(t, user.get("/applications"), http.StatusForbidden)
	expectStatus(t, user.post("/applications/oidc", webApp()), http.StatusForbidden)
	page := adm.get("/applications")
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{`href="/applications/saml"`, `href="/applications/oidc/new"`, baseURL + "/.well-known/openid-configuration"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("Applications page lacks %s", want)
		}
	}
	if strings.Contains(page.Body, "/applications/oidc/rotate-key") {
		t.Error("an admin (not super admin) is offered the key rotation")
	}

	for _, bad := range []url.Values{
		{"name": {"X"}, "redirect_uris": {"http://app.example.com/cb"}, "type": {"confidential"}},
		{"name": {"X"}, "redirect_uris": {"https://app.example.com/cb#frag"}, "type": {"confidential"}},
		{"name": {"X"}, "redirect_uris": {"javascript:alert(1)"}, "type": {"confidential"}},
		{"name": {""}, "redirect_uris": {"https://app.example.com/cb"}, "type": {"confidential"}},
		{"name": {"X"}, "redirect_uris": {""}, "type": {"confidential"}},
		{"name": {"X"}, "redirect_uris": {"https://a.example/cb"}, "type": {"public"}, "service": {"1"}},
		{"name": {"X"}, "redirect_uris": {"https://a.example/cb"}, "type": {"confidential"}, "home_url": {"http://evil.example"}},
	} {
		r := adm.post("/applications/oidc", bad)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if len(alerts(r.Body)) == 0 {
			t.Errorf("no error shown for %v", bad)
		}
	}
	if n := len(e.eventsOf("oauth2_client_created")); n != 0 {
		t.Fatalf("%d clients created from bad forms", n)
	}

	app := registerApp(t, adm, webApp())
	checkEvent(t, e.lastEvent("oauth2_client_created"), "oauth2_client_created", 0, "")
	show := adm.get("/applications/oidc/" + app.ClientID)
	expectStatus(t, show, http.StatusOK)
	if strings.Contains(show.Body, app.Secret) || secretField.MatchString(show.Body) {
		t.Error("the secret is shown again after registering")
	}
	pub := registerApp(t, adm, url.Values{"name": {"CLI"}, "redirect_uris": {"http://127.0.0.1/cb\nhttp://[::1]/cb"}, "type": {"public"}})
	if pub.Secret != "" {
		t.Error("a public client was given a secret")
	}

	// The dashboard lists apps with a home URL.
	d := user.get("/dashboard")
	if !strings.Contains(d.Body, `href="https://wiki.example.com/"`) || strings.Contains(d.Body, ">CLI<") {
		t.Errorf("dashboard apps wrong:\n%s", d.Body)
	}

	// Edit.
	r := adm.post("/applications/oidc/"+app.ClientID, url.Values{"name": {"Wiki 2"}, "redirect_uris": {rpRedirect + "\nhttps://wiki.example.com/cb"}, "type": {"confidential"}})
	expectRedirect(t, r, "/applications/oidc/"+app.ClientID+"?notice=saved")
	checkEvent(t, e.lastEvent("oauth2_client_updated"), "oauth2_client_updated", 0, "")

	// A token, then a new secret: the old secret stops working.
	p := e.newRP(app)
	b := e.newClient()
	b.signIn("u@example.com", testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	r = adm.post("/applications/oidc/"+app.ClientID+"/secret", nil)
	expectStatus(t, r, http.StatusOK)
	m := secretField.FindStringSubmatch(r.Body)
	if m == nil || m[1] == app.Secret {
		t.Fatal("no new secret shown")
	}
	checkEvent(t, e.lastEvent("oauth2_client_secret_regenerated"), "oauth2_client_secret_regenerated", 0, "")
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("the old secret still works")
	}
	p.conf.ClientSecret = html.UnescapeString(m[1])
	tok2, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh with the new secret: %v", err)
	}

	// Key rotation: super admins only; the old ID token still verifies, new ones use the new key.
	oldKid := kidOf(t, tok.Extra("id_token").(string))
	expectStatus(t, adm.post("/applications/oidc/rotate-key", nil), http.StatusForbidden)
	expectStatus(t, super.get("/applications"), http.StatusOK)
	expectRedirect(t, super.post("/applications/oidc/rotate-key", nil), "/applications?notice=key_rotated")
	ev := e.lastEvent("oidc_signing_key_rotated")
	newKid, _ := ev.Details["kid"].(string)
	if newKid == "" || newKid == oldKid {
		t.Fatalf("oidc_signing_key_rotated details %v", ev.Details)
	}
	tok3, err := p.refresh(tok2.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOf(t, tok3.Extra("id_token").(string)); got != newKid {
		t.Errorf("after rotation ID tokens are signed by %s, want %s", got, newKid)
	}
	if _, err := p.verifier.Verify(p.ctx, tok.Extra("id_token").(string)); err != nil {
		t.Errorf("an ID token of the old key no longer verifies: %v", err)
	}
	if _, err := p.verifier.Verify(p.ctx, tok3.Extra("id_token").(string)); err != nil {
		t.Errorf("an ID token of the new key does not verify: %v", err)
	}

	// Remove: its tokens stop working.
	pa := oidcApp{ClientID: app.ClientID, Secret: p.conf.ClientSecret}
	if !e.active(pa, tok3.AccessToken) {
		t.Fatal("token inactive before removal")
	}
	expectRedirect(t, adm.post("/applications/oidc/"+app.ClientID+"/delete", nil), "/applications?notice=deleted")
	checkEvent(t, e.lastEvent("oauth2_client_deleted"), "oauth2_client_deleted", 0, "")
	if st, _ := e.introspect(pa.ClientID, pa.Secret, tok3.AccessToken); st == http.StatusOK {
		t.Error("a removed client still authenticates")
	}
	expectStatus(t, adm.get("/applications/oidc/"+app.ClientID), http.StatusNotFound)
	// CSRF is required on the pages' forms.
	r = adm.postRaw("/applications/oidc", webApp(), nil)
	expectStatus(t, r, http.StatusForbidden)
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

// Sign out everywhere follows the reset-MFA rules: an admin may not act on a super admin nor
// on themselves; it needs the CSRF token.
func TestSignOutEverywherePermissions(t *testing.T) {
	e := newEnv(t)
	super := e.adminClient()
	superUser, _ := e.store.UserByEmail(context.Background(), "admin0@example.com")
	admUser := e.createUser("adm@example.com", "Adm", store.RoleAdmin, store.StatusActive)
	adm := e.newClient()
	adm.signIn(admUser.Email, testPassword)
	u := e.createUser("u@example.com", "U", store.RoleUser, store.StatusActive)

	expectStatus(t, adm.post(fmt.Sprintf("/users/%d/sign-out-everywhere", superUser.ID), nil), http.StatusForbidden)
	expectStatus(t, adm.post(fmt.Sprintf("/users/%d/sign-out-everywhere", admUser.ID), nil), http.StatusForbidden)
	expectStatus(t, adm.postRaw(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil, nil), http.StatusForbidden)
	if n := len(e.eventsOf("user_signed_out_everywhere")); n != 0 {
		t.Fatalf("%d sign-outs happened that were refused", n)
	}
	danger := adm.get(fmt.Sprintf("/users/%d/danger", u.ID))
	if !strings.Contains(danger.Body, `action="/users/`+fmt.Sprint(u.ID)+`/sign-out-everywhere"`) {
		t.Error("the Danger tab has no Sign out everywhere form")
	}
	expectRedirect(t, super.post(fmt.Sprintf("/users/%d/sign-out-everywhere", admUser.ID), nil),
		fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", admUser.ID))
	expectRedirect(t, adm.get("/dashboard"), "/login")
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

// An access token is inactive after its 15 minutes; the refresh token then gets a new one, and
// the expired rows are gone from the store.
func TestOIDCAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	u := e.createUser("fay@example.com", "Fay", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	e.clock.Advance(15*time.Minute + time.Second)
	if e.active(app, tok.AccessToken) {
		t.Fatal("an access token is active after 15 minutes")
	}
	tok2, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh after the access token expired: %v", err)
	}
	if !e.active(app, tok2.AccessToken) {
		t.Fatal("the new access token is not active")
	}
}

// Wrong client secrets are throttled per IP address, and each is logged.
func TestOIDCClientSecretGuessesThrottled(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	guess := func(secret string) int {
		st, _ := e.introspect(app.ClientID, secret, "x")
		return st
	}
	for i := 0; i < 30; i++ {
		if st := guess("wrong"); st != http.StatusUnauthorized {
			t.Fatalf("guess %d answered %d, want 401", i+1, st)
		}
	}
	if st := guess("wrong"); st != http.StatusTooManyRequests {
		t.Fatalf("the 31st wrong secret answered %d, want 429", st)
	}
	if st := guess(app.Secret); st != http.StatusTooManyRequests {
		t.Fatalf("the right secret while throttled answered %d, want 429", st)
	}
	if n := len(e.eventsOf("oauth2_client_auth_failed")); n != 30 {
		t.Errorf("%d oauth2_client_auth_failed events, want 30", n)
	}
	if got := e.lastEvent("oauth2_client_auth_failed").Details["client_id"]; got != app.ClientID {
		t.Errorf("event client_id %v, want %s", got, app.ClientID)
	}
	e.clock.Advance(15 * time.Minute)
	if st := guess(app.Secret); st != http.StatusOK {
		t.Fatalf("the right secret after the window answered %d, want 200", st)
	}
}

// A public client (no secret) completes the flow with PKCE alone on a loopback redirect URI,
// and refreshes without a secret.
func TestOIDCPublicClient(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), url.Values{"name": {"CLI"}, "redirect_uris": {rpRedirect}, "type": {"public"}})
	if app.Secret != "" {
		t.Fatal("a public client got a secret")
	}
	p := e.newRP(app)
	u := e.createUser("gil@example.com", "Gil", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)
	if _, err := p.conf.Exchange(p.ctx, code); err == nil {
		t.Fatal("a public client exchanged a code without its PKCE verifier")
	}
	tok := p.exchange(code, f)
	if _, err := p.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("public client refresh: %v", err)
	}
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

// A forced password reset revokes the user's tokens at once: refresh fails and introspection
// answers inactive, while another user's tokens still work.
func TestForcedResetRevokesTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app, "offline_access")
	tokensOf := func(email string) *oauth2.Token {
		e.createUser(email, email, store.RoleUser, store.StatusActive)
		b := e.newClient()
		b.signIn(email, testPassword)
		f, _ := p.authorize(b)
		return p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	}
	tok := tokensOf("fran@example.com")
	other := tokensOf("gil@example.com")
	if tok.RefreshToken == "" || !e.active(app, tok.AccessToken) {
		t.Fatal("test setup: no refresh token, or the access token is not active")
	}
	fran, err := e.store.UserByEmail(context.Background(), "fran@example.com")
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, forceReset(admin, fran), fmt.Sprintf("/users/%d/danger?notice=password_reset_forced", fran.ID))
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("the refresh token works after a forced reset")
	}
	if e.active(app, tok.AccessToken) {
		t.Error("the access token is active after a forced reset")
	}
	if n, _ := e.lastEvent("oauth2_user_tokens_revoked").Details["tokens"].(float64); n < 2 {
		t.Errorf("oauth2_user_tokens_revoked counts %v tokens, want the access and the refresh token", n)
	}
	if !e.active(app, other.AccessToken) {
		t.Error("another user's token was revoked too")
	}
	if _, err := p.refresh(other.RefreshToken); err != nil {
		t.Errorf("another user's refresh token stopped working: %v", err)
	}
}

// A refresh token works once. Used a second time, it was copied: the whole authorization is
// revoked (the client's newer tokens too), and oauth2_refresh_token_reused is logged.
func TestRefreshTokenReuseRevokesTheGrant(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app, "offline_access")
	u := e.createUser("rey@example.com", "Rey", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	first := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	second, err := p.refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("the first refresh: %v", err)
	}
	if !e.active(app, second.AccessToken) {
		t.Fatal("test setup: the refreshed access token is not active")
	}
	if _, err := p.refresh(first.RefreshToken); err == nil {
		t.Fatal("a used refresh token worked again")
	}
	if _, err := p.refresh(second.RefreshToken); err == nil {
		t.Error("after the reuse, the newer refresh token of the same authorization still works")
	}
	if e.active(app, second.AccessToken) {
		t.Error("after the reuse, the newer access token is still active")
	}
	ev := e.lastEvent("oauth2_refresh_token_reused")
	if ev.UserID == nil || *ev.UserID != u.ID || ev.ActorID != nil || ev.Details["client_id"] != app.ClientID {
		t.Errorf("oauth2_refresh_token_reused: %+v", ev)
	}
}
