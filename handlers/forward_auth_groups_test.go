package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// restrictedWiki registers wikiHost letting in only the members of group, and returns its id.
func restrictedWiki(t *testing.T, admin *client, group int64) int64 {
	t.Helper()
	expectStatus(t, admin.get("/applications/proxy/new"), http.StatusOK)
	r := admin.post("/applications/proxy", url.Values{"name": {"Wiki"}, "host": {wikiHost},
		"access": {"groups"}, "groups": {strconv.FormatInt(group, 10)}})
	id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.Location, "/applications/proxy/"), "?notice=proxy_created"), 10, 64)
	if r.Status != http.StatusSeeOther || err != nil {
		t.Fatalf("register the restricted wiki: %s (alerts %q)", r, alerts(r.Body))
	}
	return id
}

func TestForwardAuthLetsInOnlyTheAppsGroups(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	finance := createGroup(t, admin, "Finance")
	ops := createGroup(t, admin, "Ops, night shift")
	id := restrictedWiki(t, admin, finance)
	ev := e.lastEvent("proxy_app_created")
	if ev.Details["access"] != "groups" || fmt.Sprint(ev.Details["groups"]) != fmt.Sprintf("[%d]", finance) {
		t.Errorf("proxy_app_created details: %v", ev.Details)
	}
	bodyHas(t, "the app's page", admin.get(fmt.Sprintf("/applications/proxy/%d", id)).Body,
		`id="access-groups" type="radio" name="access" value="groups" checked`)
	grace := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	for _, g := range []int64{finance, ops} {
		expectStatus(t, admin.post(groupURL(g, "members"), url.Values{"email": {"grace@example.com"}}), http.StatusSeeOther)
	}

	// A member gets through, with her groups (a comma in a name is a space).
	wiki := e.newClient().at(wikiHost)
	expectIdentity(t, wiki.proxySignIn("grace@example.com", "/"), "grace@example.com", "Grace Hopper", "Finance,Ops  night shift")

	// Someone else signs in to weftid, and weftid's host refuses him with its no-access page:
	// no code is made.
	bobs := e.newClient().at(wikiHost)
	cont := bobs.toSignIn(bobs.check("/"), http.MethodGet, "/")
	expectRedirect(t, bobs.b.get(cont), "/login")
	bobs.b.startSignIn("bob@example.com", testPassword)
	expectRedirect(t, bobs.b.post("/login/verify", url.Values{"code": {e.waitCode("bob@example.com")}, "method": {"email"}}), cont)
	r := bobs.b.get(cont)
	expectDenied(t, r, "Wiki", "admin@example.com")
	e.expectAccessDenied(1, bob, "proxy", strconv.FormatInt(id, 10), "Wiki")
	// The dashboard links the app for those it lets in only.
	bodyHas(t, "Grace's dashboard", wiki.b.get("/dashboard").Body, `<a href="http://`+wikiHost+`/">Wiki</a>`)
	if body := bobs.b.get("/dashboard").Body; strings.Contains(body, wikiHost) {
		t.Error("Bob's dashboard links the wiki")
	}

	// Taken out of Finance, Grace's next request is refused at once, on the app's host, with a
	// page that says whom to ask; it is logged once, not at every request.
	expectStatus(t, admin.post(groupURL(finance, fmt.Sprintf("members/%d/remove", grace.ID)), nil), http.StatusSeeOther)
	for range 3 {
		r = wiki.check("/")
		expectProxyPage(t, r, http.StatusForbidden, "No access")
		bodyHas(t, "the refusal", r.Body, `<strong id="proxy-email">grace@example.com</strong>`, `href="mailto:admin@example.com"`, `href="/.weftid/logout"`)
	}
	expectStatus(t, wiki.ask("/auth-request", http.MethodGet, "/", nil), http.StatusForbidden)
	e.expectAccessDenied(2, grace, "proxy", strconv.FormatInt(id, 10), "Wiki")

	// Let everyone in: at once again.
	r = admin.post(fmt.Sprintf("/applications/proxy/%d", id), url.Values{"name": {"Wiki"}, "host": {wikiHost}, "access": {"everyone"}})
	expectRedirect(t, r, fmt.Sprintf("/applications/proxy/%d?notice=saved", id))
	if ev := e.lastEvent("proxy_app_updated"); fmt.Sprint(ev.Details["changed"]) != "[access]" || ev.Details["access"] != "everyone" {
		t.Errorf("proxy_app_updated details: %v", ev.Details)
	}
	expectIdentity(t, wiki.check("/"), "grace@example.com", "Grace Hopper", "Ops  night shift")

	// The user's Apps tab and the group's page know the proxied app.
	bodyHas(t, "Grace's Apps tab", admin.get(fmt.Sprintf("/users/%d/apps", grace.ID)).Body, "Wiki")
}

func TestProxyAppAccessForm(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	expectStatus(t, admin.get("/applications/proxy/new"), http.StatusOK)
	r := admin.post("/applications/proxy", url.Values{"name": {"Wiki"}, "host": {wikiHost}, "access": {"groups"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlertContains(t, r, "Choose at least one group that may sign in, or let everyone sign in.")
	// A deleted app's rule goes with it: the next app with its id (SQLite reuses it) lets everyone in.
	ops := createGroup(t, admin, "Ops")
	id := restrictedWiki(t, admin, ops)
	expectRedirect(t, admin.post(fmt.Sprintf("/applications/proxy/%d/delete", id), nil), "/applications?notice=proxy_deleted")
	again := registerProxyApp(t, admin, "Wiki", wikiHost, "")
	expectIDReusedOrRuleGone(t, e, "proxy", id, again)
	bodyHas(t, "the new app's page", admin.get(fmt.Sprintf("/applications/proxy/%d", again)).Body,
		`id="access-everyone" type="radio" name="access" value="everyone" checked`)
}
