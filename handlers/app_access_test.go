package handlers_test

// Application access through the real app, with a real relying party (golang.org/x/oauth2 and
// go-oidc) and a real service provider (crewjam/saml's samlsp): a user outside an application's
// groups gets no code and no assertion, a page that says so, and no dashboard entry; added to a
// group, their next sign-in goes through, with the groups claim and attribute; taken out again,
// the next one is refused.

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

var accessReturn = regexp.MustCompile(`<a id="access-return" href="([^"]*)"`)

// expectDenied checks the no-access page: 403, the application named, the admins to ask, and
// nothing issued. It returns the "Back to" link ("" when there is none).
func expectDenied(t *testing.T, r *response, app string, admins ...string) string {
	t.Helper()
	expectStatus(t, r, http.StatusForbidden)
	bodyHas(t, "the no-access page", r.Body, "<h1>No access to "+app+"</h1>", `id="access-denied"`)
	for _, a := range admins {
		bodyHas(t, "the no-access page", r.Body, `href="mailto:`+a+`"`)
	}
	issuedNothing(t, r, "the no-access page")
	noCode(t, r, "the no-access page")
	if m := accessReturn.FindStringSubmatch(r.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// expectAccessDenied checks the newest app_access_denied event.
func (e *env) expectAccessDenied(n int, u store.User, kind, appID, name string) {
	e.t.Helper()
	evs := e.eventsOf("app_access_denied")
	if len(evs) != n {
		e.t.Fatalf("%d app_access_denied events, want %d", len(evs), n)
	}
	ev := evs[n-1]
	checkEvent(e.t, ev, "app_access_denied", u.ID, "")
	if ev.Details["app_kind"] != kind || ev.Details["app_id"] != appID || ev.Details["app"] != name {
		e.t.Errorf("app_access_denied details %v, want %s %s %s", ev.Details, kind, appID, name)
	}
}

// rpError reads an error answer sent to the RP's redirect URI.
func rpError(t *testing.T, loc string, f flow) url.Values {
	t.Helper()
	if !strings.HasPrefix(loc, rpRedirect+"?") {
		t.Fatalf("%q is not the RP's redirect URI", loc)
	}
	u, _ := url.Parse(loc)
	q := u.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Get("error_description") == "" || q.Get("iss") != baseURL || q.Has("code") {
		t.Errorf("RP answer %v: want error=access_denied, the state, a description, iss %s, no code", q, baseURL)
	}
	return q
}

func TestOIDCAppRestrictedToGroups(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	ops := createGroup(t, admin, "Ops")
	dev := createGroup(t, admin, "Dev")
	form := webApp()
	form.Set("access", "groups")
	form.Add("groups", fmt.Sprint(ops))
	app := registerApp(t, admin, form)
	if ev := e.lastEvent("oauth2_client_created"); ev.Details["access"] != "groups" || fmt.Sprint(ev.Details["groups"]) != fmt.Sprintf("[%d]", ops) {
		t.Errorf("oauth2_client_created details %v, want access groups [%d]", ev.Details, ops)
	}
	page := admin.get("/applications/oidc/" + app.ClientID)
	bodyHas(t, "the app's page", page.Body, `id="access-groups" type="radio" name="access" value="groups" checked`,
		fmt.Sprintf(`name="groups" value="%d" checked`, ops))

	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	p := e.newRP(app, gooidc.ScopeOpenID, "profile", "email", "groups")

	// Signing in first, then the app: the no-access page, whose way back tells the RP.
	b := e.newClient()
	b.signIn(bob.Email, testPassword)
	bodyLacks(t, "bob's dashboard", b.get("/dashboard").Body, "https://wiki.example.com/")
	f, r := p.authorize(b)
	back := expectDenied(t, r, "Wiki", "admin0@example.com")
	rpError(t, back, f)
	noCode(t, b.get(callbackPath(f.requestID)), "the callback of a refused request")
	e.expectAccessDenied(1, bob, "oidc", app.ClientID, "Wiki")
	if n := len(e.eventsOf("oauth2_authorized")); n != 0 {
		t.Errorf("%d oauth2_authorized events, want 0", n)
	}

	// prompt=none may show no page: the RP is told at once.
	f, r = p.authorize(b, oauth2.SetAuthURLParam("prompt", "none"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("prompt=none refused: %s, want 303 to the RP", r)
	}
	rpError(t, r.Location, f)
	e.expectAccessDenied(2, bob, "oidc", app.ClientID, "Wiki")

	// A browser that signs in for the app: the sign-in completes, the app is refused.
	b2 := e.newClient()
	f, r = p.authorize(b2)
	expectRedirect(t, r, "/login")
	b2.startSignIn(bob.Email, testPassword)
	r = b2.post("/login/verify", url.Values{"code": {e.waitCode(bob.Email)}, "method": {"email"}})
	expectRedirect(t, r, "/oauth2/continue?id="+url.QueryEscape(f.requestID))
	rpError(t, expectDenied(t, b2.get(r.Location), "Wiki"), f)
	e.expectAccessDenied(3, bob, "oidc", app.ClientID, "Wiki")

	// In Ops (and Dev): the next sign-in gets a code, and the claim names both groups.
	for _, g := range []int64{ops, dev} {
		expectRedirect(t, admin.post(groupURL(g, "members"), url.Values{"email": {bob.Email}}), groupURL(g, "")+"?notice=member_added")
	}
	f, r = p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	var claims struct {
		Groups []string `json:"groups"`
	}
	idt, err := p.verifier.Verify(p.ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Claims(&claims) != nil || !slices.Equal(claims.Groups, []string{"Dev", "Ops"}) {
		t.Errorf("ID token groups %q (%v), want [Dev Ops]", claims.Groups, err)
	}
	ui, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok))
	claims.Groups = nil
	if err != nil || ui.Claims(&claims) != nil || !slices.Equal(claims.Groups, []string{"Dev", "Ops"}) {
		t.Errorf("userinfo groups %q (%v), want [Dev Ops]", claims.Groups, err)
	}
	bodyHas(t, "bob's dashboard", b.get("/dashboard").Body, `<a href="https://wiki.example.com/">Wiki</a>`)

	// Out of Ops: the next sign-in is refused, though Dev remains.
	expectRedirect(t, admin.post(groupURL(ops, fmt.Sprintf("members/%d/remove", bob.ID)), nil), groupURL(ops, "")+"?notice=member_removed")
	f, r = p.authorize(b)
	rpError(t, expectDenied(t, r, "Wiki"), f)
	e.expectAccessDenied(4, bob, "oidc", app.ClientID, "Wiki")

	// Everyone again: bob is let in.
	form.Set("access", "everyone")
	expectStatus(t, admin.get("/applications/oidc/"+app.ClientID), http.StatusOK)
	expectRedirect(t, admin.post("/applications/oidc/"+app.ClientID, form), "/applications/oidc/"+app.ClientID+"?notice=saved")
	f, _ = p.authorize(b)
	p.codeFrom(b.get(callbackPath(f.requestID)), f)
}

func TestOIDCGroupsScopeAndDiscovery(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	r := e.newClient().get("/.well-known/openid-configuration")
	var d struct {
		Scopes []string `json:"scopes_supported"`
		Claims []string `json:"claims_supported"`
	}
	if err := json.Unmarshal([]byte(r.Body), &d); err != nil || !slices.Contains(d.Scopes, "groups") || !slices.Contains(d.Claims, "groups") {
		t.Errorf("discovery scopes %q claims %q (%v): want groups in both", d.Scopes, d.Claims, err)
	}
	// Without the groups scope there is no groups claim; with it and no group, an empty list.
	for _, tc := range []struct {
		scopes []string
		want   string
	}{
		{[]string{gooidc.ScopeOpenID, "email"}, "absent"},
		{[]string{gooidc.ScopeOpenID, "groups"}, "[]"},
	} {
		p := e.newRP(app, tc.scopes...)
		u := e.createUser(fmt.Sprintf("u%d@example.com", len(tc.scopes[1])), "U", store.RoleUser, store.StatusActive)
		b := e.newClient()
		b.signIn(u.Email, testPassword)
		f, _ := p.authorize(b)
		tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
		idt, _ := p.verifier.Verify(p.ctx, tok.Extra("id_token").(string))
		var all map[string]json.RawMessage
		idt.Claims(&all)
		got := "absent"
		if v, ok := all["groups"]; ok {
			got = string(v)
		}
		if got != tc.want {
			t.Errorf("scopes %q: ID token groups %s, want %s", tc.scopes, got, tc.want)
		}
	}
}

// registerRestrictedSP registers the SP through the admin form, letting in only group.
func registerRestrictedSP(t *testing.T, admin *client, sp *testSP, group int64) int64 {
	t.Helper()
	expectStatus(t, admin.get("/applications/saml/new"), http.StatusOK)
	r := admin.postMultipart("/applications/saml", map[string]string{
		"name": "Wiki", "metadata": string(sp.metadata), "access": "groups", "groups": fmt.Sprint(group),
	}, nil)
	var id int64
	if _, err := fmt.Sscanf(r.Location, "/applications/saml/%d?notice=created", &id); err != nil || r.Status != http.StatusSeeOther {
		t.Fatalf("registering the SP: %s (alerts %q)", r, alerts(r.Body))
	}
	return id
}

func TestSAMLAppRestrictedToGroups(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	ops := createGroup(t, admin, "Ops")
	dev := createGroup(t, admin, "Dev")
	sp := e.newTestSP("sp.example.test")
	id := registerRestrictedSP(t, admin, sp, ops)
	if ev := e.lastEvent("saml_sp_created"); ev.Details["access"] != "groups" {
		t.Errorf("saml_sp_created details %v, want access groups", ev.Details)
	}
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	idp := fmt.Sprintf("/saml/idp/%d", id)

	// A request that waits for the sign-in: the sign-in completes, no assertion.
	c := e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	cont := r.Location
	expectRedirect(t, c.get(cont), "/login")
	c.startSignIn(u.Email, testPassword)
	expectRedirect(t, c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}}), cont)
	if back := expectDenied(t, c.get(cont), "Wiki", "ada@example.com"); back != "" {
		t.Errorf("the SAML no-access page has a way back %q: SAML gets nothing", back)
	}
	e.expectAccessDenied(1, u, "saml", fmt.Sprint(id), "Wiki")

	// Signed in: neither the dashboard nor a new request, nor IdP-initiated sign-on, lets in.
	bodyLacks(t, "grace's dashboard", c.get("/dashboard").Body, `action="`+idp+`"`)
	path, _, _ = sp.start(saml.HTTPRedirectBinding)
	expectDenied(t, c.get(path), "Wiki")
	expectDenied(t, c.post(idp, nil), "Wiki")
	e.expectAccessDenied(3, u, "saml", fmt.Sprint(id), "Wiki")
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d assertions issued, want 0", n)
	}

	// In Ops and Dev: the next request gets an assertion with both groups, one value each.
	expectStatus(t, admin.get(userURL(u.ID, "groups")), http.StatusOK)
	for _, g := range []int64{ops, dev} {
		expectRedirect(t, admin.post(userURL(u.ID, "groups"), url.Values{"group": {fmt.Sprint(g)}}), userURL(u.ID, "groups?notice=group_added"))
	}
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	claims := sp.acs(postPage(t, c.get(path)), spCookies)
	checkAssertion(t, claims, u)
	if got := claims.GetAttributes()["groups"]; !slices.Equal(got, []string{"Dev", "Ops"}) {
		t.Errorf("groups attribute %q, want [Dev Ops]", got)
	}
	bodyHas(t, "grace's dashboard", c.get("/dashboard").Body, `action="`+idp+`"`)
	checkAssertion(t, sp.acs(postPage(t, c.post(idp, nil)), nil), u)

	// The group deleted: the app lets nobody in, and its page says so.
	expectRedirect(t, admin.post(groupURL(ops, "delete"), nil), "/groups?notice=deleted")
	bodyHas(t, "the SP's page", admin.get(fmt.Sprintf("/applications/saml/%d", id)).Body, `id="access-nobody"`)
	expectDenied(t, c.post(idp, nil), "Wiki")
	e.expectAccessDenied(4, u, "saml", fmt.Sprint(id), "Wiki")
}

// TestDeletedAppForgetsItsAccess: a service provider registered after a restricted one was
// deleted, with the same id (SQLite reuses it), lets everyone in.
func TestDeletedAppForgetsItsAccess(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	ops := createGroup(t, admin, "Ops")
	old := registerRestrictedSP(t, admin, e.newTestSP("old.example.test"), ops)
	expectRedirect(t, admin.post(fmt.Sprintf("/applications/saml/%d/delete", old), nil), "/applications/saml?notice=deleted")
	sp := e.newTestSP("new.example.test")
	id := registerSP(t, admin, "New", sp.metadata, false)
	expectIDReusedOrRuleGone(t, e, "saml", old, id)
	bodyHas(t, "the new SP's page", admin.get(fmt.Sprintf("/applications/saml/%d", id)).Body,
		`id="access-everyone" type="radio" name="access" value="everyone" checked`)
	u, c := e.signedIn("grace@example.com", "Grace Hopper", store.RoleUser)
	checkAssertion(t, sp.acs(postPage(t, c.post(fmt.Sprintf("/saml/idp/%d", id), nil)), nil), u)
}

// expectIDReusedOrRuleGone checks the premise of a test that a deleted app's access rule goes
// with it: SQLite gives the next app the deleted one's id, so the new app would meet the old
// rule if it were left. PostgreSQL never gives an id twice, so no new app can meet it; there,
// what must hold is that none of it is left.
func expectIDReusedOrRuleGone(t *testing.T, e *env, kind string, old, again int64) {
	t.Helper()
	switch {
	case again == old:
	case !store.IsPostgresURL(e.db):
		t.Fatalf("the new app got id %d, not the deleted one's %d: the test proves nothing", again, old)
	default:
		if n := rows(t, storetest.RawDB(t, e.db), `SELECT count(*) FROM app_access WHERE app_kind = ? AND app_id = ?`, kind, fmt.Sprint(old)); n != 0 {
			t.Errorf("%d access rules of the deleted %s app %d are left", n, kind, old)
		}
	}
}

// TestAccessRefusedBeforeStepUp: an app that requires Enhanced and lets in only Ops refuses a
// user outside Ops at once, without asking them to step up first; once in Ops, the same
// session is sent through the step-up.
func TestAccessRefusedBeforeStepUp(t *testing.T) {
	e := newEnv(t) // Baseline
	admin := e.adminClient()
	ops := createGroup(t, admin, "Ops")
	form := enhancedApp()
	form.Set("access", "groups")
	form.Add("groups", fmt.Sprint(ops))
	p := e.newRP(registerApp(t, admin, form))
	u, b := e.signedIn("lee@example.com", "Lee", store.RoleUser)

	f, r := p.authorize(b)
	rpError(t, expectDenied(t, r, "Payroll"), f)
	if n := len(e.eventsOf("app_access_denied")); n != 1 {
		t.Errorf("%d app_access_denied events, want 1", n)
	}
	expectRedirect(t, admin.post(groupURL(ops, "members"), url.Values{"email": {u.Email}}), groupURL(ops, "")+"?notice=member_added")
	stepUpTo(t, p, b, "/login/enroll")
}
