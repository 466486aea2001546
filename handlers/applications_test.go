package handlers_test

// The Applications pages: registering, editing and removing OIDC clients, key rotation.

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/weftid/weftid/store"
)

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
