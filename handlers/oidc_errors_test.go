package handlers_test

// OpenID Connect: the standard error answers (RFC 6749, RFC 6750, RFC 9207).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// An authorize request whose error may go back to the app goes there with iss; one whose
// client or redirect URI is not registered gets weftid's page, never the app's address.
func TestOIDCAuthorizeErrors(t *testing.T) {
	e := newEnv(t)
	web := registerApp(t, e.adminClient(), webApp())
	b := e.newClient()
	for _, c := range []struct {
		name string
		set  url.Values
		want string
	}{
		{"unknown client", url.Values{"client_id": {"nobody"}}, "not registered with weftid"},
		{"no client", url.Values{"client_id": {""}}, "client_id is missing"},
		{"unregistered redirect URI", url.Values{"redirect_uri": {"https://evil.example/cb"}}, "has not registered"},
		{"no redirect URI", url.Values{"redirect_uri": {""}}, "redirect_uri is missing"},
		{"unregistered redirect URI and a bad response type", url.Values{"redirect_uri": {"https://evil.example/cb"}, "response_type": {"token"}}, "has not registered"},
	} {
		r := b.get(authorizeURL(web, c.set))
		expectStatus(t, r, http.StatusBadRequest)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Body, c.want) || strings.Contains(r.Body, "evil.example") {
			t.Errorf("%s: %s %q, want weftid's page saying %q", c.name, r, r.Header.Get("Content-Type"), c.want)
		}
	}
	// prompt=none without a session: login_required at the redirect URI, with iss.
	expectAuthorizeError(t, b.get(localPath(t, b.get(authorizeURL(web, url.Values{"prompt": {"none"}})).Location)), "login_required")
	// An invalid id_token_hint: login_required too.
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"id_token_hint": {"e30.e30.sig"}})), "login_required")
}

// userinfoCall asks /oauth2/userinfo with an Authorization header (when not "") and a form.
func (e *env) userinfoCall(method, authorization string, form url.Values) (int, http.Header, map[string]any) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, baseURL+"/oauth2/userinfo", body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		e.t.Errorf("userinfo answered %d with a body that is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, m
}

// expectBearerError checks an RFC 6750 error: status, WWW-Authenticate with the code and a
// description, and the same in the JSON body.
func expectBearerError(t *testing.T, what string, st int, h http.Header, body map[string]any, wantStatus int, code string) {
	t.Helper()
	challenge := h.Get("WWW-Authenticate")
	if st != wantStatus || !strings.HasPrefix(challenge, `Bearer error="`+code+`", error_description="`) || strings.Contains(challenge, `error_description=""`) {
		t.Errorf("%s: %d, WWW-Authenticate %q; want %d and Bearer error=%q with a description", what, st, challenge, wantStatus, code)
	}
	expectOAuthError(t, what, st, body, wantStatus, code)
}

// Userinfo answers RFC 6750: a bare challenge without a token, invalid_token for one that is
// malformed, revoked or expired, insufficient_scope for a token that is not a user's with
// openid; always JSON.
func TestOIDCUserinfoBearerErrors(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	svc := registerApp(t, admin, url.Values{"name": {"API"}, "type": {"confidential"}, "service": {"1"}})
	p, u, _, tok := e.tokensOf(app, "uma@example.com", "Uma")

	st, h, body := e.userinfoCall(http.MethodGet, "Bearer "+tok.AccessToken, nil)
	if st != http.StatusOK || body["sub"] != fmt.Sprint(u.ID) || h.Get("WWW-Authenticate") != "" {
		t.Fatalf("userinfo with a good token: %d %v", st, body)
	}
	// The token in a form body works too (RFC 6750 section 2.2); in two places it is refused.
	if st, _, body := e.userinfoCall(http.MethodPost, "", url.Values{"access_token": {tok.AccessToken}}); st != http.StatusOK || body["sub"] != fmt.Sprint(u.ID) {
		t.Errorf("userinfo with the token in the body: %d %v", st, body)
	}
	st, h, body = e.userinfoCall(http.MethodPost, "Bearer "+tok.AccessToken, url.Values{"access_token": {tok.AccessToken}})
	expectBearerError(t, "two tokens", st, h, body, http.StatusBadRequest, "invalid_request")

	st, h, body = e.userinfoCall(http.MethodGet, "", nil)
	if st != http.StatusUnauthorized || h.Get("WWW-Authenticate") != "Bearer" || body["error"] != nil || body["error_description"] == "" {
		t.Errorf("no token: %d, WWW-Authenticate %q, %v; want 401, a bare Bearer challenge and no error code", st, h.Get("WWW-Authenticate"), body)
	}
	for _, bad := range []string{"Bearer garbage", "Bearer ", "bearer " + tok.AccessToken + "x"} {
		st, h, body = e.userinfoCall(http.MethodGet, bad, nil)
		expectBearerError(t, bad, st, h, body, http.StatusUnauthorized, "invalid_token")
	}

	// A client's own token (client credentials) has no user: insufficient_scope.
	cc := clientcredentials.Config{ClientID: svc.ClientID, ClientSecret: svc.Secret, TokenURL: p.provider.Endpoint().TokenURL}
	own, err := cc.Token(p.ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, h, body = e.userinfoCall(http.MethodGet, "Bearer "+own.AccessToken, nil)
	expectBearerError(t, "a client's own token", st, h, body, http.StatusForbidden, "insufficient_scope")
	if !strings.Contains(h.Get("WWW-Authenticate"), `scope="openid"`) {
		t.Errorf("insufficient_scope without the scope needed: %q", h.Get("WWW-Authenticate"))
	}

	// Expired, then revoked (Sign out everywhere): invalid_token.
	e.clock.Advance(16 * time.Minute)
	st, h, body = e.userinfoCall(http.MethodGet, "Bearer "+tok.AccessToken, nil)
	expectBearerError(t, "an expired token", st, h, body, http.StatusUnauthorized, "invalid_token")
	fresh, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, admin.post(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil), fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", u.ID))
	st, h, body = e.userinfoCall(http.MethodGet, "Bearer "+fresh.AccessToken, nil)
	expectBearerError(t, "a revoked token", st, h, body, http.StatusUnauthorized, "invalid_token")

	// go-oidc (a real RP) sees an error, not claims.
	if _, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(fresh)); err == nil {
		t.Error("go-oidc got user info with a revoked token")
	}
}

// Every OAuth error of the token endpoint says why: a refresh token used twice or revoked, a
// wrong client secret (401 with WWW-Authenticate), a code used twice.
func TestOIDCTokenErrorsDescribed(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p, _, b, tok := e.tokensOf(app, "vic@example.com", "Vic")

	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if st, _, body := e.clientCall("/oauth2/token", refresh, app.ClientID, app.Secret); st != http.StatusOK {
		t.Fatalf("first refresh: %d %v", st, body)
	}
	st, _, body := e.clientCall("/oauth2/token", refresh, app.ClientID, app.Secret)
	expectOAuthError(t, "a refresh token used twice", st, body, http.StatusBadRequest, "invalid_grant")

	_, _, _, tok2 := e.tokensOf(app, "wes@example.com", "Wes")
	if st, _, _ := e.clientCall("/oauth2/revoke", url.Values{"token": {tok2.RefreshToken}}, app.ClientID, app.Secret); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok2.RefreshToken}}, app.ClientID, app.Secret)
	expectOAuthError(t, "a revoked refresh token", st, body, http.StatusBadRequest, "invalid_grant")

	st, h, body := e.clientCall("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, app.ClientID, "wrong")
	expectOAuthError(t, "a wrong client secret", st, body, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("401 invalid_client without a Basic challenge: %q", h.Get("WWW-Authenticate"))
	}

	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)
	p.exchange(code, f)
	st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {rpRedirect}, "code_verifier": {f.verifier}}, app.ClientID, app.Secret)
	expectOAuthError(t, "a code used twice", st, body, http.StatusBadRequest, "invalid_grant")

	// A client that is not registered, with or without a secret: invalid_client, not a
	// server error (nor the store's words).
	for _, basic := range []string{"", "nobody"} { // in the form only, or by HTTP Basic
		st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"nobody"}}, basic, "anything")
		expectOAuthError(t, "an unknown client refreshing", st, body, http.StatusUnauthorized, "invalid_client")
		if d := fmt.Sprint(body["error_description"]); strings.Contains(d, "store") {
			t.Errorf("the description tells the client the server's error: %q", d)
		}
	}

	st, _, body = e.clientCall("/oauth2/introspect", url.Values{"token": {"x"}}, "", "")
	expectOAuthError(t, "introspection without a client", st, body, http.StatusUnauthorized, "invalid_client")
}
