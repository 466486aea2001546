package handlers_test

// The relying party, browser and admin helpers of the OpenID Connect tests.

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
	"golang.org/x/oauth2"

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

// codeFrom expects a 303 to the RP with a code, the right state and the issuer (RFC 9207).
func (p *rp) codeFrom(r *response, f flow) string {
	p.t.Helper()
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, rpRedirect) {
		p.t.Fatalf("expected a 303 to the RP, got %s", r)
	}
	u, _ := url.Parse(r.Location)
	if u.Query().Get("state") != f.state || u.Query().Get("code") == "" {
		p.t.Fatalf("RP redirect without code or with the wrong state: %s", r.Location)
	}
	if iss := u.Query().Get("iss"); iss != baseURL {
		p.t.Fatalf("RP redirect with iss %q, want %q: %s", iss, baseURL, r.Location)
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

// continueToRP follows /oauth2/continue's 303 to the callback, and the callback's 303 to the RP.
func (p *rp) continueToRP(b *client, continueURL string, f flow) string {
	p.t.Helper()
	r := b.get(continueURL)
	if r.Status != http.StatusSeeOther || localPath(p.t, r.Location) != callbackPath(f.requestID) {
		p.t.Fatalf("/oauth2/continue did not answer 303 to the callback: %s", r)
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

// tokensOf signs a new user in with a new browser and has a real RP of app exchange the code:
// the RP, the user, the browser and the tokens.
func (e *env) tokensOf(app oidcApp, email, name string) (*rp, store.User, *client, *oauth2.Token) {
	e.t.Helper()
	p := e.newRP(app)
	u := e.createUser(email, name, store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	return p, u, b, p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
}
