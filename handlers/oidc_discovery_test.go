package handlers_test

// OpenID Connect: the discovery document says exactly what the endpoints accept.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/weftid/weftid/store"
)

// discovery reads /.well-known/openid-configuration as a map.
func (e *env) discovery() map[string]any {
	e.t.Helper()
	r := e.newClient().get("/.well-known/openid-configuration")
	expectStatus(e.t, r, http.StatusOK)
	var d map[string]any
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil {
		e.t.Fatalf("discovery: %v", err)
	}
	return d
}

// strs is a discovery list as strings.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// clientCall posts form to a client endpoint (token, revoke, introspect), authenticating with
// HTTP Basic when id is not "", and returns the status, headers and JSON body.
func (e *env) clientCall(path string, form url.Values, id, secret string) (int, http.Header, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

// expectOAuthError checks an OAuth error answer: the status, the code, and a description.
func expectOAuthError(t *testing.T, what string, status int, body map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || body["error"] != code {
		t.Errorf("%s: %d %v, want %d %s", what, status, body, wantStatus, code)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("%s: no error_description in %v", what, body)
	}
}

// authorizeURL is an authorize request of app with the given parameters over a valid PKCE
// code request's.
func authorizeURL(app oidcApp, set url.Values) string {
	v := url.Values{
		"client_id": {app.ClientID}, "redirect_uri": {rpRedirect}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	for k, vals := range set {
		if len(vals) == 1 && vals[0] == "" {
			delete(v, k) // left out
		} else {
			v[k] = vals
		}
	}
	return "/oauth2/authorize?" + v.Encode()
}

// expectAuthorizeError expects an authorize request's error at the RP's redirect URI, with
// state, a description and the issuer (RFC 9207).
func expectAuthorizeError(t *testing.T, r *response, code string) {
	t.Helper()
	if (r.Status != http.StatusFound && r.Status != http.StatusSeeOther) || !strings.HasPrefix(r.Location, rpRedirect+"?") {
		t.Fatalf("want an error redirect to the RP (%s), got %s", code, r)
	}
	u, _ := url.Parse(r.Location)
	q := u.Query()
	if q.Get("error") != code || q.Get("error_description") == "" || q.Get("state") != "st" || q.Get("iss") != baseURL || q.Get("code") != "" {
		t.Errorf("error redirect %s, want error=%s with a description, state=st, iss=%s and no code", r.Location, code, baseURL)
	}
}

// The discovery document lists what each endpoint accepts, and each endpoint refuses what it
// does not list with the standard error.
func TestOIDCDiscoveryMatchesEndpoints(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	web := registerApp(t, admin, webApp())
	public := registerApp(t, admin, url.Values{"name": {"CLI"}, "redirect_uris": {rpRedirect}, "type": {"public"}})
	svc := registerApp(t, admin, url.Values{"name": {"API"}, "type": {"confidential"}, "service": {"1"}})
	d := e.discovery()

	for key, want := range map[string][]string{
		"response_types_supported":                      {"code"},
		"response_modes_supported":                      {"query"},
		"grant_types_supported":                         {"authorization_code", "refresh_token", "client_credentials"},
		"acr_values_supported":                          {"urn:weftid:loa:baseline", "urn:weftid:loa:enhanced"},
		"code_challenge_methods_supported":              {"S256"},
		"scopes_supported":                              {"openid", "profile", "email", "offline_access", "groups"},
		"token_endpoint_auth_methods_supported":         {"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    {"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": {"client_secret_basic"},
		"subject_types_supported":                       {"public"},
		"id_token_signing_alg_values_supported":         {"RS256"},
	} {
		if got := strs(d[key]); !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"device_authorization_endpoint", "check_session_iframe", "request_parameter_supported",
		"claims_parameter_supported", "token_endpoint_auth_signing_alg_values_supported",
		"introspection_endpoint_auth_signing_alg_values_supported", "revocation_endpoint_auth_signing_alg_values_supported",
		"request_object_signing_alg_values_supported", "registration_endpoint"} {
		if v, ok := d[key]; ok {
			t.Errorf("discovery lists %s = %v, which weftid does not offer", key, v)
		}
	}
	if d["authorization_response_iss_parameter_supported"] != true || d["request_uri_parameter_supported"] != false {
		t.Errorf("iss parameter %v, request_uri %v; want true, false", d["authorization_response_iss_parameter_supported"], d["request_uri_parameter_supported"])
	}
	for key, path := range map[string]string{"authorization_endpoint": "/oauth2/authorize", "token_endpoint": "/oauth2/token",
		"userinfo_endpoint": "/oauth2/userinfo", "jwks_uri": "/oauth2/keys", "revocation_endpoint": "/oauth2/revoke",
		"introspection_endpoint": "/oauth2/introspect", "end_session_endpoint": "/oauth2/end_session"} {
		if d[key] != baseURL+path {
			t.Errorf("%s = %v, want %s", key, d[key], baseURL+path)
		}
	}

	// Grants: each listed one works (the code and its refresh token below, client credentials
	// here); the others, jwt-bearer included, are unsupported_grant_type before anything is read.
	// Every listed scope is asked for, so the answers carry every listed claim.
	p := e.newRP(web, "openid", "profile", "email", "offline_access", "groups")
	cc := clientcredentials.Config{ClientID: svc.ClientID, ClientSecret: svc.Secret, TokenURL: p.provider.Endpoint().TokenURL}
	if _, err := cc.Token(p.ctx); err != nil {
		t.Errorf("client_credentials (listed) failed: %v", err)
	}
	for _, g := range []string{"implicit", "password", "urn:ietf:params:oauth:grant-type:jwt-bearer",
		"urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"} {
		st, h, body := e.clientCall("/oauth2/token", url.Values{"grant_type": {g}, "assertion": {"not.a.jwt"}, "device_code": {"x"}}, web.ClientID, web.Secret)
		expectOAuthError(t, "grant "+g, st, body, http.StatusBadRequest, "unsupported_grant_type")
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("grant %s: Cache-Control %q", g, h.Get("Cache-Control"))
		}
	}
	st, _, body := e.clientCall("/oauth2/token", url.Values{}, web.ClientID, web.Secret)
	expectOAuthError(t, "no grant_type", st, body, http.StatusBadRequest, "invalid_request")
	st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"a.b.c"}}, "", "")
	expectOAuthError(t, "private_key_jwt", st, body, http.StatusBadRequest, "invalid_client")

	// Response types and modes: code with query works (the flows of every test); the rest are
	// refused at the registered redirect URI, by the query, with iss.
	b := e.newClient()
	for _, rt := range []string{"id_token", "id_token token", "token", "code id_token", "code token"} {
		expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"response_type": {rt}, "nonce": {"n"}})), "unsupported_response_type")
	}
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"response_type": {""}})), "invalid_request")
	for _, mode := range []string{"fragment", "form_post"} {
		expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"response_mode": {mode}})), "invalid_request")
	}
	if r := b.get(authorizeURL(web, url.Values{"response_mode": {"query"}})); r.Status != http.StatusFound || !strings.HasPrefix(r.Location, "/oauth2/login?id=") {
		t.Errorf("response_mode=query: %s", r)
	}
	// PKCE: S256 only (the one method listed).
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"code_challenge_method": {"plain"}})), "invalid_request")
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"code_challenge": {""}, "code_challenge_method": {""}})), "invalid_request")
	// Request objects are not supported (request_parameter_supported and
	// request_uri_parameter_supported are false).
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"request": {"e30.e30."}})), "request_not_supported")
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"request_uri": {"https://rp.example/req"}})), "request_uri_not_supported")

	// Token endpoint client authentication: Basic and post for a confidential client, none
	// (PKCE) for a public one.
	u := e.createUser("dora@example.com", "Dora", store.RoleUser, store.StatusActive)
	browser := e.newClient()
	browser.signIn(u.Email, testPassword)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		p.conf.Endpoint.AuthStyle = style
		f, _ := p.authorize(browser)
		tok := p.exchange(p.codeFrom(browser.get(callbackPath(f.requestID)), f), f)
		if _, err := p.refresh(tok.RefreshToken); err != nil { // refresh_token, listed
			t.Errorf("refresh with auth style %v: %v", style, err)
		}
		claims := idTokenClaims(t, p, tok)
		// claims_supported covers every claim the ID token carries.
		for k := range claims {
			if !slices.Contains(strs(d["claims_supported"]), k) {
				t.Errorf("the ID token carries %q, which claims_supported does not list", k)
			}
		}
		if style == oauth2.AuthStyleInParams {
			checkClaimsSupported(t, e, p, d, web, tok, claims)
		}
	}
	pp := e.newRP(public)
	f, _ := pp.authorize(browser)
	pp.exchange(pp.codeFrom(browser.get(callbackPath(f.requestID)), f), f)

	// Introspection: Basic only; revocation: Basic, post and none.
	if st, _, body := e.clientCall("/oauth2/introspect", url.Values{"token": {"x"}, "client_id": {web.ClientID}, "client_secret": {web.Secret}}, "", ""); st != http.StatusUnauthorized {
		t.Errorf("introspection with client_secret_post: %d %v, want 401 (not listed)", st, body)
	}
	for _, form := range []url.Values{
		{"token": {"x"}, "client_id": {web.ClientID}, "client_secret": {web.Secret}},
		{"token": {"x"}, "client_id": {public.ClientID}},
	} {
		if st, _, body := e.clientCall("/oauth2/revoke", form, "", ""); st != http.StatusOK {
			t.Errorf("revocation with %v: %d %v, want 200", form, st, body)
		}
	}
}

// idTokenClaims verifies the ID token of tok and returns its claims.
func idTokenClaims(t *testing.T, p *rp, tok *oauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.verifier.Verify(p.ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// checkClaimsSupported checks that every claim discovery lists is carried by the ID token,
// userinfo or introspection of tok.
func checkClaimsSupported(t *testing.T, e *env, p *rp, d map[string]any, app oidcApp, tok *oauth2.Token, idToken map[string]any) {
	t.Helper()
	seen := map[string]bool{}
	for k := range idToken {
		seen[k] = true
	}
	var ui map[string]any
	info, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if err := info.Claims(&ui); err != nil {
		t.Fatal(err)
	}
	_, in := e.introspect(app.ClientID, app.Secret, tok.AccessToken)
	for _, m := range []map[string]any{ui, in} {
		for k := range m {
			seen[k] = true
		}
	}
	var missing []string
	for _, c := range strs(d["claims_supported"]) {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("claims_supported lists %q, which no ID token, userinfo or introspection answer carries", missing)
	}
	for k := range ui {
		if !slices.Contains(strs(d["claims_supported"]), k) {
			t.Errorf("userinfo carries %q, which claims_supported does not list", k)
		}
	}
}
