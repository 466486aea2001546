package handlers_test

// The harness of the forward-auth tests: a browser's side on a proxied app's host (its cookies
// there, which the proxy passes on), the proxy's questions to /forward-auth and /auth-request,
// and the whole sign-in for an app by redirects.

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wikiHost and chatHost are proxied apps' hosts in these tests.
const (
	wikiHost = "wiki.example.test"
	chatHost = "chat.example.test:8443"
)

// appSide is one browser as an app's host sees it: the cookies weftid set there (a client of its
// own, with the browser's address), sent by the proxy with each question.
type appSide struct {
	*client
	b     *client // the same browser on weftid's host
	host  string
	proto string
}

// at is browser b on an app's host, over http.
func (b *client) at(host string) *appSide {
	return &appSide{client: &client{t: b.t, env: b.env, ip: b.ip, jar: map[string]*http.Cookie{}}, b: b, host: host, proto: "http"}
}

// ask is the proxy asking endpoint (/forward-auth or /auth-request) about a request of method
// to uri on the app's host, with the browser's cookies there and extra headers.
func (a *appSide) ask(endpoint, method, uri string, extra http.Header) *response {
	a.t.Helper()
	h := http.Header{"X-Forwarded-Method": {method}, "X-Forwarded-Proto": {a.proto}, "X-Forwarded-Host": {a.host}, "X-Forwarded-Uri": {uri}}
	for k, vs := range extra {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	return a.do(http.MethodGet, endpoint, nil, h)
}

// check is a GET of uri through Caddy or Traefik (/forward-auth).
func (a *appSide) check(uri string) *response {
	a.t.Helper()
	return a.ask("/forward-auth", http.MethodGet, uri, nil)
}

// cookieName is the name of a weftid cookie on the app's host: with the host's port, if any.
func (a *appSide) cookieName(name string) string {
	if _, port, ok := strings.Cut(a.host, ":"); ok {
		name += "_" + port
	}
	if a.proto == "https" {
		name = "__Host-" + name
	}
	return name
}

// appURL is the address of uri on the app's host.
func (a *appSide) appURL(uri string) string { return a.proto + "://" + a.host + uri }

// registerProxyApp registers an app as admin through the pages and returns its id.
func registerProxyApp(t *testing.T, admin *client, name, host, prefix string) int64 {
	t.Helper()
	expectStatus(t, admin.get("/applications/proxy/new"), http.StatusOK)
	r := admin.post("/applications/proxy", url.Values{"name": {name}, "host": {host}, "path_prefix": {prefix}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/applications/proxy/") {
		t.Fatalf("register %s: %s", host, r)
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.Location, "/applications/proxy/"), "?notice=proxy_created"), 10, 64)
	if err != nil {
		t.Fatalf("register %s: %s", host, r)
	}
	return id
}

// toSignIn checks that r sends the browser to weftid's continuation for the app's uri, and
// returns that continuation's local path.
func (a *appSide) toSignIn(r *response, method, uri string) string {
	a.t.Helper()
	want := http.StatusFound
	if method != http.MethodGet && method != http.MethodHead {
		want = http.StatusSeeOther
	}
	if r.Status != want || !strings.HasPrefix(r.Location, baseURL+"/proxy/continue?") {
		a.t.Fatalf("got %s, want %d to %s/proxy/continue", r, want, baseURL)
	}
	u, _ := url.Parse(r.Location)
	if got := u.Query().Get("rd"); got != a.appURL(uri) {
		a.t.Errorf("rd = %q, want %q", got, a.appURL(uri))
	}
	return u.RequestURI()
}

// callbackOf checks that r (weftid's continuation) sends the browser to the app's callback with
// a code, and returns the callback's request URI on the app's host.
func (a *appSide) callbackOf(r *response) string {
	a.t.Helper()
	prefix := a.appURL("/.weftid/callback?code=")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, prefix) {
		a.t.Fatalf("got %s, want 303 to %s...", r, prefix)
	}
	return strings.TrimPrefix(r.Location, a.proto+"://"+a.host)
}

// proxySignIn takes the browser, not signed in to weftid, from a request for uri on the app's
// host through the sign-in (password and email code) and the callback, and returns the check
// that lets the request through.
func (a *appSide) proxySignIn(email, uri string) *response {
	a.t.Helper()
	cont := a.toSignIn(a.check(uri), http.MethodGet, uri)
	expectRedirect(a.t, a.b.get(cont), "/login")
	a.b.startSignIn(email, testPassword)
	code := a.env.waitCode(email)
	expectRedirect(a.t, a.b.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), cont)
	return a.finish(cont, uri)
}

// finish follows weftid's continuation for a browser signed in to weftid: the callback, then
// the request, which must pass.
func (a *appSide) finish(cont, uri string) *response {
	a.t.Helper()
	r := a.check(a.callbackOf(a.b.get(cont)))
	if r.Status != http.StatusFound || r.Location != a.appURL(uri) {
		a.t.Fatalf("callback: got %s, want 302 to %s", r, a.appURL(uri))
	}
	r = a.check(uri)
	expectStatus(a.t, r, http.StatusOK)
	return r
}

// expectIdentity checks the Remote-* headers of an answer that lets a request through.
func expectIdentity(t *testing.T, r *response, email, name, groups string) {
	t.Helper()
	for h, want := range map[string]string{"Remote-User": email, "Remote-Email": email, "Remote-Name": name, "Remote-Groups": groups} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
}

var proxyMessage = regexp.MustCompile(`<h1>([^<]*)</h1>`)

// expectProxyPage checks a refusal shown on the app's host: its status and heading.
func expectProxyPage(t *testing.T, r *response, status int, title string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status: got %d, want %d\n%s", r.Status, status, r)
	}
	if m := proxyMessage.FindStringSubmatch(r.Body); m == nil || m[1] != title {
		t.Errorf("page heading: got %q, want %q", m, title)
	}
	if r.Header.Get("Remote-User") != "" {
		t.Errorf("a refusal carries Remote-User %q", r.Header.Get("Remote-User"))
	}
}
