package handlers_test

// OpenID Connect details an outside probe found: caching of token answers, scopes of service
// tokens, revocation of another client's token, required parameters, unreadable authorize
// parameters, the size of a POSTed logout, and the rules of an app's addresses and name.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestOIDCTokenAnswersAndRequiredParameters(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	other := registerApp(t, admin, url.Values{"name": {"Other"}, "redirect_uris": {rpRedirect}, "type": {"confidential"}})
	svc := registerApp(t, admin, url.Values{"name": {"API"}, "type": {"confidential"}, "service": {"1"}})

	// Every answer of the token endpoint is no-store, a success too (RFC 6749 section 5.1).
	st, h, body := e.clientCall("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, svc.ClientID, svc.Secret)
	if st != http.StatusOK || h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
		t.Errorf("client_credentials: %d %v, Cache-Control %q Pragma %q, want 200 no-store no-cache", st, body, h.Get("Cache-Control"), h.Get("Pragma"))
	}
	// A service token carries no scope: one asked for is refused, not echoed.
	st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"admin superuser"}}, svc.ClientID, svc.Secret)
	expectOAuthError(t, "client_credentials with scopes", st, body, http.StatusBadRequest, "invalid_scope")

	// Revoking another client's token: refused with 400, the token stays, and it is not a
	// failed client authentication.
	_, _, _, tok := e.tokensOf(app, "kim@example.com", "Kim")
	failedBefore := len(e.eventsOf("oauth2_client_auth_failed"))
	st, _, body = e.clientCall("/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, other.ClientID, other.Secret)
	expectOAuthError(t, "revoking another client's token", st, body, http.StatusBadRequest, "invalid_request")
	if !e.active(app, tok.AccessToken) {
		t.Error("another client revoked the app's token")
	}
	if n := len(e.eventsOf("oauth2_client_auth_failed")); n != failedBefore {
		t.Errorf("%d oauth2_client_auth_failed events after a refused revocation, want %d", n, failedBefore)
	}

	// A parameter given twice is refused (RFC 6749 section 3.2).
	st, _, body = e.clientCall("/oauth2/token", url.Values{"grant_type": {"client_credentials", "password"}}, svc.ClientID, svc.Secret)
	expectOAuthError(t, "grant_type twice", st, body, http.StatusBadRequest, "invalid_request")

	// token is required at introspection and revocation (RFC 7662, RFC 7009).
	for _, path := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
		st, _, body = e.clientCall(path, url.Values{}, svc.ClientID, svc.Secret)
		expectOAuthError(t, path+" without token", st, body, http.StatusBadRequest, "invalid_request")
	}
}

func TestOIDCUnreadableAuthorizeParameter(t *testing.T) {
	e := newEnv(t)
	web := registerApp(t, e.adminClient(), webApp())
	b := e.newClient()
	for _, maxAge := range []string{"abc", "-1", "99999999999999999999999"} {
		expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"max_age": {maxAge}})), "invalid_request")
	}
	expectAuthorizeError(t, b.get(authorizeURL(web, url.Values{"scope": {"openid", "email"}})), "invalid_request")
	// With an unknown client it still never goes anywhere but weftid's page.
	r := b.get(authorizeURL(web, url.Values{"max_age": {"abc"}, "client_id": {"nobody"}}))
	expectStatus(t, r, http.StatusBadRequest)

	// A POSTed logout too long to go on as a query string gets a page, not a 303.
	r = e.newClient().postRaw("/oauth2/end_session", url.Values{"state": {strings.Repeat("s", 9000)}}, nil)
	if r.Status != http.StatusBadRequest || r.Location != "" || !strings.Contains(r.Body, "too long") {
		t.Errorf("a 9 KB POSTed logout: %s, want weftid's 400 page", r)
	}
}

func TestOIDCAppAddressesAndNameRefused(t *testing.T) {
	e := newEnv(t)
	adm := e.adminClient()
	for _, bad := range []url.Values{
		{"redirect_uris": {"https://*.example.com/cb"}},
		{"redirect_uris": {"https://app.example.com:99999/cb"}},
		{"redirect_uris": {"https://app.example.com:/cb"}},
		{"redirect_uris": {"https://app.example.com/cb#"}},
		{"redirect_uris": {"http://127.0.0.2/cb"}},
		{"redirect_uris": {"https://app_example.com/cb"}},
		{"post_logout_redirect_uris": {"https://*.example.com/"}},
		{"home_url": {"https://-bad.example.com/"}},
		{"type": {"weird"}},
		{"name": {"Ok\x00null"}},
		{"name": {"\u202Eevil"}},
	} {
		form := url.Values{"name": {"X"}, "redirect_uris": {"https://app.example.com/cb"}, "type": {"confidential"}}
		for k, v := range bad {
			form[k] = v
		}
		r := adm.post("/applications/oidc", form)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if len(alerts(r.Body)) == 0 {
			t.Errorf("no error shown for %v", bad)
		}
	}
	if n := len(e.eventsOf("oauth2_client_created")); n != 0 {
		t.Fatalf("%d clients created from bad forms", n)
	}
	// What stays allowed: ports, the loopback IP literals over http, a name with digits and a hyphen.
	registerApp(t, adm, url.Values{"name": {"CLI 2"}, "redirect_uris": {"http://127.0.0.1:8765/cb\nhttp://[::1]/cb\nhttps://app-1.example.com:8443/cb"}, "type": {"public"}})
}
