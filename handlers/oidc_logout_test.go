package handlers_test

// OpenID Connect: RP-initiated logout and the post-logout redirect URIs apps register.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// rpLoggedOut is a post-logout redirect URI the apps of these tests register.
const rpLoggedOut = "http://127.0.0.1:9/signed-out"

// logoutApp is webApp with a post-logout redirect URI.
func logoutApp() url.Values {
	f := webApp()
	f.Set("post_logout_redirect_uris", rpLoggedOut+"\n\nhttps://wiki.example.com/bye")
	return f
}

func endSessionPath(v url.Values) string { return "/oauth2/end_session?" + v.Encode() }

// expectSignedOut checks that browser b's session ended and that the user's refresh token of
// the app no longer works.
func expectSignedOut(t *testing.T, b *client, p *rp, tok *oauth2.Token) {
	t.Helper()
	expectRedirect(t, b.get("/dashboard"), "/login")
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("the app's refresh token still works after the logout")
	}
}

// The app form keeps post-logout redirect URIs under the rules of redirect URIs.
func TestOIDCPostLogoutRedirectURIsForm(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, logoutApp())
	page := admin.get("/applications/oidc/" + app.ClientID)
	if !strings.Contains(page.Body, rpLoggedOut+"\nhttps://wiki.example.com/bye</textarea>") {
		t.Errorf("the app page does not show the post-logout redirect URIs:\n%s", page.Body)
	}
	for _, bad := range []string{"http://wiki.example.com/bye", "https://wiki.example.com/bye#x", "wiki.example.com", "https://user@wiki.example.com/"} {
		f := logoutApp()
		f.Set("post_logout_redirect_uris", bad)
		r := admin.post("/applications/oidc/"+app.ClientID, f)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.Body, "Each post-logout redirect URI must be an https address") {
			t.Errorf("%q: no error on the page", bad)
		}
	}
	f := logoutApp()
	f.Set("post_logout_redirect_uris", strings.Repeat("https://wiki.example.com/bye\n", 21))
	expectStatus(t, admin.post("/applications/oidc/"+app.ClientID, f), http.StatusUnprocessableEntity)
	ev := e.lastEvent("oauth2_client_created")
	if ev.Details["post_logout_redirect_uris"] != rpLoggedOut+" https://wiki.example.com/bye" {
		t.Errorf("oauth2_client_created post_logout_redirect_uris %v", ev.Details["post_logout_redirect_uris"])
	}
}

// With a valid id_token_hint of the browser's user and a registered URI, the logout happens at
// once: the session, that app's tokens (not another app's), and the browser returns with state.
func TestOIDCLogoutWithHint(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, logoutApp())
	other := registerApp(t, admin, webApp())
	p, u, b, tok := e.tokensOf(app, "ola@example.com", "Ola")
	po := e.newRP(other)
	f, _ := po.authorize(b)
	otherTok := po.exchange(po.codeFrom(b.get(callbackPath(f.requestID)), f), f)

	hint, _ := tok.Extra("id_token").(string)
	r := b.get(endSessionPath(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye-1"}}))
	expectRedirect(t, r, rpLoggedOut+"?state=bye-1")
	if r.Status != http.StatusSeeOther {
		t.Errorf("logout redirect status %d, want 303", r.Status)
	}
	expectSignedOut(t, b, p, tok)
	if !e.active(other, otherTok.AccessToken) {
		t.Error("the logout of one app revoked another app's token")
	}
	checkEvent(t, e.lastEvent("user_signed_out"), "user_signed_out", u.ID, "")
	if ev := e.lastEvent("user_signed_out"); ev.Details["reason"] != "rp_logout" || ev.Details["client_id"] != app.ClientID {
		t.Errorf("user_signed_out details %v", ev.Details)
	}
	ev := e.lastEvent("oauth2_user_tokens_revoked")
	checkEvent(t, ev, "oauth2_user_tokens_revoked", u.ID, "")
	if ev.Details["client_id"] != app.ClientID || ev.Details["reason"] != "rp_logout" || ev.Details["tokens"] != float64(2) {
		t.Errorf("oauth2_user_tokens_revoked details %v, want the app, rp_logout and 2 tokens", ev.Details)
	}

	// POST (from the app's page, without our cookies) moves to the GET with the same request.
	r = e.newClient().postRaw("/oauth2/end_session", url.Values{"id_token_hint": {hint}, "state": {"s"}}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/oauth2/end_session?") || !strings.Contains(r.Location, "state=s") {
		t.Errorf("POST end_session: %s", r)
	}
	// Without a registered URI the browser lands on the sign-in page.
	_, _, b2, tok2 := e.tokensOf(app, "pia@example.com", "Pia")
	hint2, _ := tok2.Extra("id_token").(string)
	expectRedirect(t, b2.get(endSessionPath(url.Values{"id_token_hint": {hint2}})), "/login?notice=signed_out")
	expectRedirect(t, b2.get("/dashboard"), "/login")
}

// An unregistered post_logout_redirect_uri is never followed: weftid's page (HTML, never JSON)
// says so and still signs the user out with a CSRF-protected button, after which the browser
// stays with weftid.
func TestOIDCLogoutUnregisteredURI(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), logoutApp())
	p, u, b, tok := e.tokensOf(app, "quin@example.com", "Quin")
	hint, _ := tok.Extra("id_token").(string)
	for _, req := range []url.Values{
		{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}, "state": {"s"}},
		{"client_id": {app.ClientID}, "post_logout_redirect_uri": {rpLoggedOut + "/other"}},
		{"post_logout_redirect_uri": {rpLoggedOut}}, // no app named: nothing to check it against
		{"id_token_hint": {"e30.e30.sig"}, "post_logout_redirect_uri": {rpLoggedOut}},
		{"client_id": {"nobody"}, "post_logout_redirect_uri": {rpLoggedOut}},
	} {
		r := b.get(endSessionPath(req))
		expectStatus(t, r, http.StatusOK)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Body, `id="logout-problem"`) ||
			!strings.Contains(r.Body, `action="/oauth2/end_session/confirm"`) || strings.Contains(r.Body, "evil.example") ||
			strings.Contains(r.Body, `name="post_logout_redirect_uri"`) {
			t.Errorf("%v: want weftid's page with the problem and a sign-out form that goes nowhere else, got %s", req, r)
		}
		if strings.Contains(r.Header.Get("Content-Security-Policy"), "127.0.0.1") {
			t.Errorf("%v: the page allows the unregistered origin in form-action", req)
		}
		expectStatus(t, b.get("/dashboard"), http.StatusOK) // not signed out yet
	}
	// The button needs the CSRF token.
	expectStatus(t, b.postRaw("/oauth2/end_session/confirm", url.Values{"client_id": {app.ClientID}}, nil), http.StatusForbidden)
	// A forged redirect URI in the form is not followed either.
	r := b.post("/oauth2/end_session/confirm", url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {"https://evil.example/"}})
	expectRedirect(t, r, "/login?notice=signed_out")
	expectSignedOut(t, b, p, tok)
	checkEvent(t, e.lastEvent("user_signed_out"), "user_signed_out", u.ID, "")
}

// Without an id_token_hint (or with another user's) the user confirms; the confirmation page
// lets its form's redirect reach the registered URI (form-action), which gets the state.
func TestOIDCLogoutConfirmed(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), logoutApp())
	p, u, b, tok := e.tokensOf(app, "rex@example.com", "Rex")
	r := b.get(endSessionPath(url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st-9"}}))
	expectStatus(t, r, http.StatusOK)
	if strings.Contains(r.Body, `id="logout-problem"`) || !strings.Contains(r.Body, "Wiki asks you to sign out") {
		t.Errorf("confirmation page: %s", r)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9;") {
		t.Errorf("confirmation page CSP %q does not allow the app's origin in form-action", csp)
	}
	expectStatus(t, b.get("/dashboard"), http.StatusOK) // a GET alone signs nobody out
	r = b.post("/oauth2/end_session/confirm", url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st-9"}})
	expectRedirect(t, r, rpLoggedOut+"?state=st-9")
	expectSignedOut(t, b, p, tok)
	if ev := e.lastEvent("oauth2_user_tokens_revoked"); ev.Details["client_id"] != app.ClientID || *ev.UserID != u.ID {
		t.Errorf("oauth2_user_tokens_revoked %v", ev.Details)
	}

	// Another user's hint in this browser: confirm, never a silent sign-out of this user.
	_, _, _, tokA := e.tokensOf(app, "sam@example.com", "Sam")
	hintA, _ := tokA.Extra("id_token").(string)
	_, _, bB, _ := e.tokensOf(app, "tia@example.com", "Tia")
	r = bB.get(endSessionPath(url.Values{"id_token_hint": {hintA}, "post_logout_redirect_uri": {rpLoggedOut}}))
	expectStatus(t, r, http.StatusOK)
	expectStatus(t, bB.get("/dashboard"), http.StatusOK)

	// Nobody signed in here and no hint: back to the app at once; without a URI, a page.
	expectRedirect(t, e.newClient().get(endSessionPath(url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {rpLoggedOut}})), rpLoggedOut)
	r = e.newClient().get(endSessionPath(url.Values{}))
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "You are signed out of weftid.") {
		t.Errorf("end_session without anything: %s", r)
	}
}
