package handlers_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

func TestProxyAppsRegistry(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	id := registerProxyApp(t, admin, "  Team wiki ", "Wiki.Example.Test:8443", "/docs/")

	r := admin.get(fmt.Sprintf("/applications/proxy/%d?notice=proxy_created", id))
	expectStatus(t, r, http.StatusOK)
	for _, want := range []string{`value="Team wiki"`, `value="wiki.example.test:8443"`, `value="/docs"`, "The proxied app is registered.", baseURL + "/forward-auth", baseURL + "/auth-request"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("app page lacks %q", want)
		}
	}
	ev := e.lastEvent("proxy_app_created")
	if ev.Details["host"] != "wiki.example.test:8443" || ev.Details["path_prefix"] != "/docs" || ev.Details["name"] != "Team wiki" {
		t.Errorf("proxy_app_created details: %v", ev.Details)
	}
	list := admin.get("/applications")
	if !strings.Contains(list.Body, "Team wiki") || !strings.Contains(list.Body, "wiki.example.test:8443/docs") {
		t.Errorf("the Applications page does not list the app:\n%s", list)
	}

	// Saved without a change: nothing written.
	before := len(e.events())
	r = admin.post(fmt.Sprintf("/applications/proxy/%d", id), url.Values{"name": {"Team wiki"}, "host": {"wiki.example.test:8443"}, "path_prefix": {"/docs"}})
	expectRedirect(t, r, fmt.Sprintf("/applications/proxy/%d?notice=saved", id))
	if len(e.events()) != before {
		t.Errorf("an unchanged save wrote %s", eventSummary(e.events()[before:]))
	}
	r = admin.post(fmt.Sprintf("/applications/proxy/%d", id), url.Values{"name": {"Wiki"}, "host": {"wiki.example.test"}, "path_prefix": {""}})
	expectRedirect(t, r, fmt.Sprintf("/applications/proxy/%d?notice=saved", id))
	ev = e.lastEvent("proxy_app_updated")
	if fmt.Sprint(ev.Details["changed"]) != "[name host path_prefix]" || ev.Details["previous_host"] != "wiki.example.test:8443" || ev.Details["previous_path_prefix"] != "/docs" {
		t.Errorf("proxy_app_updated details: %v", ev.Details)
	}

	// Another app at the same host with a prefix is another app; the same host and prefix is taken.
	registerProxyApp(t, admin, "Wiki admin", "wiki.example.test", "/admin")
	r = admin.post("/applications/proxy", url.Values{"name": {"Again"}, "host": {"WIKI.example.test"}, "path_prefix": {"/"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlertContains(t, r, "Another proxied app has this host and path prefix.")

	expectRedirect(t, admin.post(fmt.Sprintf("/applications/proxy/%d/delete", id), nil), "/applications?notice=proxy_deleted")
	if ev := e.lastEvent("proxy_app_deleted"); ev.Details["host"] != "wiki.example.test" || *ev.ActorID == 0 {
		t.Errorf("proxy_app_deleted: %+v", ev)
	}
	expectStatus(t, admin.get(fmt.Sprintf("/applications/proxy/%d", id)), http.StatusNotFound)
	expectStatus(t, admin.post(fmt.Sprintf("/applications/proxy/%d/delete", id), nil), http.StatusNotFound)
	expectStatus(t, admin.post(fmt.Sprintf("/applications/proxy/%d", id), url.Values{"name": {"x"}, "host": {"x.example.test"}}), http.StatusNotFound)

	// Only admins.
	user := e.newClient()
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	user.signIn("ada@example.com", testPassword)
	expectStatus(t, user.get("/applications/proxy/new"), http.StatusForbidden)
	expectStatus(t, user.post("/applications/proxy", url.Values{"name": {"x"}, "host": {"x.example.test"}}), http.StatusForbidden)
}

// expectAlertContains checks that the page's alert says want, among its problems.
func expectAlertContains(t *testing.T, r *response, want string) {
	t.Helper()
	for _, a := range alerts(r.Body) {
		if strings.Contains(a, want) {
			return
		}
	}
	t.Errorf("alerts %q lack %q", alerts(r.Body), want)
}

func TestProxyAppFormRefusals(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	const host = "Enter the host as the browser shows it, without https:// or a path: wiki.example.com, or wiki.example.com:8443 with its port."
	const prefix = "Enter a path prefix that starts with /, like /wiki, made of letters, digits and - . _ ~ / (no ?, #, %, spaces, . or .. segments), or leave it empty for the whole host."
	for _, tc := range []struct {
		name, host, prefix, want string
	}{
		{"", "wiki.example.test", "", "Enter a name of at most 100 characters."},
		{strings.Repeat("n", 101), "wiki.example.test", "", "Enter a name of at most 100 characters."},
		{"W", "", "", host},
		{"W", "https://wiki.example.test", "", host},
		{"W", "wiki.example.test/docs", "", host},
		{"W", "wiki..example.test", "", host},
		{"W", "-wiki.example.test", "", host},
		{"W", "wiki_1.example.test", "", host},
		{"W", "user@wiki.example.test", "", host},
		{"W", "wiki.example.test:0", "", "The port after the host must be a number from 1 to 65535."},
		{"W", "wiki.example.test:70000", "", "The port after the host must be a number from 1 to 65535."},
		{"W", "wiki.example.test:", "", "The port after the host must be a number from 1 to 65535."},
		{"W", "localhost:8080", "", "This is weftid's own address: a proxied app needs a host of its own."},
		{"W", "wiki.example.test", "wiki", prefix},
		{"W", "wiki.example.test", "/a/../b", prefix},
		{"W", "wiki.example.test", "/a//b", prefix},
		{"W", "wiki.example.test", "/a?b", prefix},
		{"W", "wiki.example.test", "/a%20b", prefix},
		{"W", "wiki.example.test", "/.weftid", "Paths under /.weftid/ belong to weftid on every protected host."},
		{"W", "wiki.example.test", "/.weftid/x", "Paths under /.weftid/ belong to weftid on every protected host."},
	} {
		r := admin.post("/applications/proxy", url.Values{"name": {tc.name}, "host": {tc.host}, "path_prefix": {tc.prefix}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%q %q %q: got %s, want 422", tc.name, tc.host, tc.prefix, r)
			continue
		}
		expectAlertContains(t, r, tc.want)
		// The form comes back as typed.
		if !strings.Contains(r.Body, `value="`+html.EscapeString(strings.TrimSpace(tc.host))+`"`) {
			t.Errorf("%q: the host field lost what was typed", tc.host)
		}
	}
	// Every problem at once.
	r := admin.post("/applications/proxy", url.Values{"name": {""}, "host": {"x y"}, "path_prefix": {"nope"}})
	if got := alerts(r.Body); len(got) != 1 || !strings.Contains(got[0], "name") || !strings.Contains(got[0], "host") || !strings.Contains(got[0], "path prefix") {
		t.Errorf("alerts: %q", got)
	}
	// Hosts that are fine: IP addresses, with ports, IPv6.
	for _, h := range []string{"10.0.0.5", "10.0.0.5:8080", "[::1]:8443", "a-b.c9.example.test"} {
		registerProxyApp(t, admin, "App "+h, h, "")
	}
	if n := len(e.eventsOf("proxy_app_created")); n != 4 {
		t.Errorf("proxy_app_created events: %d, want 4", n)
	}
}
