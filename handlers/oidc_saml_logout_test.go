package handlers_test

// An OpenID Connect app's RP-initiated logout ends the weftid session, so the SAML service
// providers of that session are told too, before the browser returns to the app.

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/crewjam/saml"
)

// The same browser is signed in to an OIDC app and to a SAML SP (a real crewjam one). The OIDC
// app's logout, with a hint or confirmed on weftid's page, sends the SP its LogoutRequest first
// and lands on the app's post-logout URI with its state after the SP answers; with no SAML
// participant the browser goes to the app at once.
func TestOIDCLogoutTellsSAMLApps(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, logoutApp())
	sp := e.newLogoutSP("sp.example.test", saml.HTTPPostBinding)
	registerSP(t, admin, "Team wiki", sp.metadata, false)

	for _, confirmed := range []bool{false, true} {
		email := map[bool]string{false: "una@example.com", true: "vera@example.com"}[confirmed]
		p, u, b, tok := e.tokensOf(app, email, "Una")
		index := sp.signInAt(b).GetAttributes().Get("SessionIndex")

		var r *response
		if confirmed {
			q := url.Values{"client_id": {app.ClientID}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st-c"}}
			expectStatus(t, b.get(endSessionPath(q)), http.StatusOK)
			r = b.post("/oauth2/end_session/confirm", q)
		} else {
			hint, _ := tok.Extra("id_token").(string)
			r = b.get(endSessionPath(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st-c"}}))
		}
		expectSignedOut(t, b, p, tok) // weftid's session and the app's tokens ended first
		req := sp.receiveLogoutRequest(logoutPage(t, r))
		if req.NameID == nil || req.NameID.Value != u.Email || req.SessionIndex == nil || req.SessionIndex.Value != index {
			t.Errorf("confirmed %v: the SP's LogoutRequest names %+v / %+v, want %s / %s", confirmed, req.NameID, req.SessionIndex, u.Email, index)
		}
		r = sp.respond(b, req, "")
		expectRedirect(t, r, rpLoggedOut+"?state=st-c")
		if ev := e.lastEvent("saml_logout"); ev.UserID == nil || *ev.UserID != u.ID {
			t.Errorf("confirmed %v: the last saml_logout event %+v is not the user's", confirmed, ev)
		}
	}

	// No SAML participant: straight back to the app.
	p, _, b, tok := e.tokensOf(app, "wren@example.com", "Wren")
	hint, _ := tok.Extra("id_token").(string)
	expectRedirect(t, b.get(endSessionPath(url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"st-d"}})),
		rpLoggedOut+"?state=st-d")
	expectSignedOut(t, b, p, tok)
}

// An RP logout that ends at weftid's page while a service provider of the session could not be
// told (its metadata has no logout service) says so, as Sign out does.
func TestOIDCLogoutPartialSAML(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	legacy := e.newLogoutSP("legacy.example.test")
	registerSP(t, admin, "Legacy", legacy.metadata, false)
	_, _, b, tok := e.tokensOf(app, "yan@example.com", "Yan")
	legacy.signInAt(b)
	hint, _ := tok.Extra("id_token").(string)
	expectRedirect(t, b.get(endSessionPath(url.Values{"id_token_hint": {hint}})), "/login?notice=signed_out_partial")
}
