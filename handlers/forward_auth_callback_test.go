package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// codeFor takes a browser already signed in to weftid, without its session on the app's host,
// to the app's callback and returns the callback's URI there (with its code), unused.
func (a *appSide) codeFor(uri string) string {
	a.t.Helper()
	a.mu.Lock()
	delete(a.jar, a.cookieName("weftid_proxy"))
	a.mu.Unlock()
	return a.callbackOf(a.b.get(a.toSignIn(a.check(uri), http.MethodGet, uri)))
}

// expectProxyCodeRefused checks a refused callback and its login_failed event.
func expectProxyCodeRefused(t *testing.T, e *env, r *response, problem string) {
	t.Helper()
	expectProxyPage(t, r, http.StatusForbidden, "This sign-in link does not work")
	if c := r.cookie("weftid_proxy"); c != nil && c.Value != "" {
		t.Errorf("a refused callback set a session: %v", r.Cookies)
	}
	ev := e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", 0, "proxy_code")
	if ev.Details["problem"] != problem {
		t.Errorf("login_failed problem = %v, want %s", ev.Details["problem"], problem)
	}
}

func TestForwardAuthRefusesBadCodes(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki := b.at(wikiHost)
	wiki.proxySignIn("ada@example.com", "/")

	// Replayed: a code works once.
	first := wiki.codeFor("/")
	expectStatus(t, wiki.check(first), http.StatusFound)
	expectProxyCodeRefused(t, e, wiki.check(first), "unknown")

	// Forged, and malformed.
	expectProxyCodeRefused(t, e, wiki.check("/.weftid/callback?code="+strings.Repeat("x", 43)), "unknown")
	expectProxyCodeRefused(t, e, wiki.check("/.weftid/callback?code=short"), "malformed")
	expectProxyCodeRefused(t, e, wiki.check("/.weftid/callback"), "malformed")

	// Expired: a minute at most.
	late := wiki.codeFor("/")
	e.clock.Advance(time.Minute)
	expectProxyCodeRefused(t, e, wiki.check(late), "expired")

	// For another host: the chat's code does not work on the wiki, and is spent by trying.
	chat := b.at(chatHost)
	chatCode := chat.codeFor("/chat")
	expectProxyCodeRefused(t, e, wiki.check(chatCode), "other_host")
	expectProxyCodeRefused(t, e, chat.check(chatCode), "unknown")

	// Made for another browser: a code that leaked (or was pushed into another browser to sign
	// it in as someone else) does not work without the binding cookie of the browser it was
	// made for.
	stolen := wiki.codeFor("/")
	thief := e.newClient().at(wikiHost)
	expectProxyCodeRefused(t, e, thief.check(stolen), "other_browser")
	thief.check("/") // the thief's own binding cookie
	stolen = wiki.codeFor("/")
	expectProxyCodeRefused(t, e, thief.check(stolen), "other_browser")
	thief.toSignIn(thief.check("/"), http.MethodGet, "/")

	// A code whose weftid session ended meanwhile.
	ended := wiki.codeFor("/")
	expectRedirect(t, b.post("/logout", nil), "/login?notice=signed_out")
	expectProxyCodeRefused(t, e, wiki.check(ended), "unknown") // the session's codes went with it
}

func TestForwardAuthThrottlesCodeGuesses(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki := b.at(wikiHost)
	wiki.proxySignIn("ada@example.com", "/")
	good := wiki.codeFor("/")

	for i := 0; i < 30; i++ {
		expectStatus(t, wiki.check("/.weftid/callback?code="+strings.Repeat("g", 43)), http.StatusForbidden)
	}
	r := wiki.check("/.weftid/callback?code=" + strings.Repeat("g", 43))
	expectProxyPage(t, r, http.StatusTooManyRequests, "Slow down")
	// A good code from a throttled address waits too, and stays good.
	expectStatus(t, wiki.check(good), http.StatusTooManyRequests)
	if n := len(e.eventsOf("login_failed")); n != 31 { // 30 guesses and the window's first refusal
		t.Errorf("login_failed events: %d, want 31", n)
	}
	// Another address is not held back.
	other := e.newClient()
	other.ip = "198.51.100.7"
	expectProxyCodeRefused(t, e, other.at(wikiHost).check("/.weftid/callback?code="+strings.Repeat("g", 43)), "unknown")

	e.clock.Advance(16 * time.Minute)
	expectProxyCodeRefused(t, e, wiki.check(good), "expired")
}

func TestProxyContinueRefusesOtherAddresses(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki := b.at(wikiHost)
	wiki.proxySignIn("ada@example.com", "/")
	cont, _ := url.Parse(wiki.toSignIn(b.at(wikiHost).check("/x"), http.MethodGet, "/x"))
	binding := cont.Query().Get("b")

	for name, q := range map[string]url.Values{
		"another site":       {"rd": {"http://evil.example/"}, "b": {binding}},
		"weftid itself":      {"rd": {baseURL + "/dashboard"}, "b": {binding}},
		"no path":            {"rd": {"http://" + wikiHost}, "b": {binding}},
		"user in the URL":    {"rd": {"http://x@" + wikiHost + "/"}, "b": {binding}},
		"another scheme":     {"rd": {"javascript://" + wikiHost + "/"}, "b": {binding}},
		"a relative address": {"rd": {"/dashboard"}, "b": {binding}},
		"outside the prefix": {"rd": {"http://" + chatHost + "/other"}, "b": {binding}},
		"no binding":         {"rd": {"http://" + wikiHost + "/"}},
		"a short binding":    {"rd": {"http://" + wikiHost + "/"}, "b": {"abcd"}},
	} {
		r := b.get("/proxy/continue?" + q.Encode())
		if r.Status != http.StatusBadRequest || r.Location != "" || !strings.Contains(r.Body, "This sign-in link is not for an application weftid protects.") {
			t.Errorf("%s: got %s, want the 400 page", name, r)
		}
		// Nor is a browser that is not signed in sent to sign in for it.
		if r := e.newClient().get("/proxy/continue?" + q.Encode()); r.Status != http.StatusBadRequest {
			t.Errorf("%s, not signed in: got %s, want 400", name, r)
		}
	}
	if n := len(e.eventsOf("proxy_session_created")); n != 1 {
		t.Errorf("proxy_session_created events: %d, want 1", n)
	}
}

func TestProxyCodesTravelOnlyOverHTTPS(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "https://id.example.test"})
	admin := e.adminClient()
	registerProxyApp(t, admin, "Wiki", wikiHost, "")
	registerProxyApp(t, admin, "Dev", "dev.localhost:3000", "")

	// Over https every cookie on the app's host is Secure and __Host- prefixed.
	wiki := admin.at(wikiHost)
	wiki.proto = "https"
	r := wiki.check("/")
	if bc := r.cookie("__Host-weftid_proxy_binding"); bc == nil || !bc.Secure || !bc.HttpOnly || bc.Domain != "" {
		t.Errorf("binding cookie under https: %+v", r.Cookies)
	}
	if !strings.HasPrefix(r.Location, "https://id.example.test/proxy/continue?") {
		t.Fatalf("got %s, want a redirect to weftid's continuation", r)
	}
	cont, _ := url.Parse(r.Location)
	r = admin.get(cont.RequestURI())
	back := wiki.callbackOf(r)
	r = wiki.check(back)
	if sc := r.cookie("__Host-weftid_proxy"); r.Status != http.StatusFound || sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("callback under https: %s, cookies %+v", r, r.Cookies)
	}
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("weftid sent HSTS for the app's host")
	}
	expectStatus(t, wiki.check("/"), http.StatusOK)

	// A plain-http app on a real host would carry the code in the clear: no code for it.
	plain := admin.at(wikiHost)
	cont, _ = url.Parse(plain.check("/").Location)
	expectStatus(t, admin.get(cont.RequestURI()), http.StatusBadRequest)
	// On loopback it may (development).
	dev := admin.at("dev.localhost:3000")
	cont, _ = url.Parse(dev.check("/").Location)
	dev.callbackOf(admin.get(cont.RequestURI()))
}
