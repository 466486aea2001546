package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// proxyEnv is an environment with wikiHost registered (whole host) and chatHost (under /chat).
func proxyEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	admin := e.adminClient()
	registerProxyApp(t, admin, "Wiki", wikiHost, "")
	registerProxyApp(t, admin, "Chat", chatHost, "/chat")
	return e
}

func TestForwardAuthSignInByRedirects(t *testing.T) {
	e := proxyEnv(t)
	u := e.createUser("ada@example.com", "Ada Lovelace", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki := b.at(wikiHost)

	first := wiki.check("/page?x=1")
	binding := first.cookie("weftid_proxy_binding")
	if binding == nil || !binding.HttpOnly || binding.SameSite != http.SameSiteLaxMode || binding.Secure || binding.Domain != "" || binding.Path != "/" {
		t.Fatalf("binding cookie: got %+v, want host-only, HttpOnly, SameSite=Lax, Path=/, not Secure under http", binding)
	}
	if first.Header.Get("Cache-Control") != "no-store" || first.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("headers: Cache-Control %q, HSTS %q", first.Header.Get("Cache-Control"), first.Header.Get("Strict-Transport-Security"))
	}
	// A second anonymous request keeps the browser's binding (two tabs signing in at once).
	if again := wiki.check("/other"); again.cookie("weftid_proxy_binding") != nil {
		t.Errorf("the binding was replaced: %v", again.Cookies)
	}

	r := wiki.proxySignIn("ada@example.com", "/page?x=1")
	expectIdentity(t, r, "ada@example.com", "Ada Lovelace", "")
	session := wiki.cookieValue("weftid_proxy")
	if session == "" {
		t.Fatal("no proxy session cookie on the app's host")
	}
	if b.cookieValue("weftid_proxy") != "" {
		t.Error("the proxy session cookie was set on weftid's host")
	}
	checkEvent(t, e.lastEvent("proxy_session_created"), "proxy_session_created", u.ID, "")
	if got := e.lastEvent("proxy_session_created").Details["host"]; got != wikiHost {
		t.Errorf("proxy_session_created host = %v, want %s", got, wikiHost)
	}

	// nginx's auth_request gets the same answer, with any method.
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		expectIdentity(t, wiki.ask("/auth-request", m, "/edit", nil), "ada@example.com", "Ada Lovelace", "")
	}
	// The same browser, signed in to weftid, opens another app by redirects alone: no sign-in.
	chat := b.at(chatHost)
	cont := chat.toSignIn(chat.check("/chat/room"), http.MethodGet, "/chat/room")
	expectIdentity(t, chat.finish(cont, "/chat/room"), "ada@example.com", "Ada Lovelace", "")
	if len(e.eventsOf("user_signed_in")) != 2 { // the admin's and Ada's
		t.Errorf("user_signed_in events: %s", eventSummary(e.eventsOf("user_signed_in")))
	}
	// The wiki's cookie does not open the chat: a host's session is for its host alone.
	if chat.cookieValue("weftid_proxy_8443") == "" || chat.cookieValue("weftid_proxy_8443") == session {
		t.Fatalf("the chat's session cookie (named with its port): %q", chat.cookieValue("weftid_proxy_8443"))
	}
	chat.setCookie("weftid_proxy_8443", session)
	chat.toSignIn(chat.check("/chat/room"), http.MethodGet, "/chat/room")
}

func TestForwardAuthAnswersEveryStatus(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki, chat := b.at(wikiHost), b.at(chatHost)

	// Not signed in: a redirect to sign in (303 for a method other than GET and HEAD), or 401
	// for nginx, with no Location.
	wiki.toSignIn(wiki.ask("/forward-auth", http.MethodHead, "/", nil), http.MethodHead, "/")
	wiki.toSignIn(wiki.ask("/forward-auth", http.MethodPost, "/save", nil), http.MethodPost, "/save")
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		r := wiki.ask("/auth-request", m, "/", nil)
		if r.Status != http.StatusUnauthorized || r.Location != "" || r.Header.Get("Remote-User") != "" {
			t.Errorf("auth-request %s, not signed in: got %s, want 401 without Location", m, r)
		}
	}
	// weftid's own paths on an app's host go to /forward-auth (nginx's error_page) for nginx.
	expectStatus(t, wiki.ask("/auth-request", http.MethodGet, "/.weftid/callback?code=x", nil), http.StatusUnauthorized)
	expectProxyPage(t, wiki.check("/.weftid/nothing"), http.StatusNotFound, "Page not found")

	// Nothing registered at the address: 403, from both, signed in or not.
	unknown := b.at("other.example.test")
	expectProxyPage(t, unknown.check("/"), http.StatusForbidden, "Not a registered application")
	expectStatus(t, unknown.ask("/auth-request", http.MethodGet, "/", nil), http.StatusForbidden)
	for _, uri := range []string{"/", "/chatroom", "/chat/../admin", "/chat%2f..%2fadmin"} {
		expectProxyPage(t, chat.check(uri), http.StatusForbidden, "Not a registered application")
	}
	for _, uri := range []string{"/chat", "/chat/", "/chat/room?x=1", "/chat/a/../b"} {
		chat.toSignIn(chat.check(uri), http.MethodGet, uri)
	}
	// A request the proxy did not describe, or described wrongly.
	for name, h := range map[string]http.Header{
		"no host":        {"X-Forwarded-Host": {""}},
		"two hosts":      {"X-Forwarded-Host": {wikiHost + ", " + chatHost}},
		"a URL as host":  {"X-Forwarded-Host": {"http://" + wikiHost}},
		"other protocol": {"X-Forwarded-Proto": {"ftp"}},
		"relative URI":   {"X-Forwarded-Uri": {"page"}},
		"bad escape":     {"X-Forwarded-Uri": {"/%zz"}},
	} {
		r := wiki.ask("/forward-auth", http.MethodGet, "/", h)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: got %s, want 403", name, r)
		}
	}
	// The host is matched whatever its case, and with its port: chat's port is part of it.
	upper := b.at(strings.ToUpper(wikiHost))
	r := upper.check("/")
	if r.Status != http.StatusFound || !strings.Contains(r.Location, url.QueryEscape("http://"+wikiHost+"/")) {
		t.Errorf("upper-case host: got %s, want a redirect for %s", r, wikiHost)
	}
	expectProxyPage(t, b.at("chat.example.test").check("/chat"), http.StatusForbidden, "Not a registered application")

	// Signed in: 200 with the headers from both endpoints.
	expectIdentity(t, wiki.proxySignIn("ada@example.com", "/"), "ada@example.com", "Ada", "")
	expectIdentity(t, wiki.ask("/auth-request", http.MethodGet, "/", nil), "ada@example.com", "Ada", "")
}

func TestForwardAuthIgnoresSpoofedHeaders(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	e.createUser("root@example.com", "Root", store.RoleSuperAdmin, store.StatusActive)
	spoof := http.Header{"Remote-User": {"root@example.com"}, "Remote-Email": {"root@example.com"}, "Remote-Groups": {"admins"}, "Remote-Name": {"Root"}}

	// Anonymous: whatever it claims, it is sent to sign in, and nothing is answered in the headers.
	anon := e.newClient().at(wikiHost)
	r := anon.ask("/forward-auth", http.MethodGet, "/", spoof)
	anon.toSignIn(r, http.MethodGet, "/")
	if r.Header.Get("Remote-User") != "" {
		t.Errorf("Remote-User answered to an anonymous request: %q", r.Header.Get("Remote-User"))
	}
	expectStatus(t, anon.ask("/auth-request", http.MethodGet, "/", spoof), http.StatusUnauthorized)
	// A made-up session cookie is no session.
	anon.setCookie("weftid_proxy", strings.Repeat("A", 43))
	anon.toSignIn(anon.check("/"), http.MethodGet, "/")

	// Signed in: the headers say who signed in, not what the request claimed.
	wiki := e.newClient().at(wikiHost)
	wiki.proxySignIn("ada@example.com", "/")
	expectIdentity(t, wiki.ask("/forward-auth", http.MethodGet, "/", spoof), "ada@example.com", "Ada", "")
	expectIdentity(t, wiki.ask("/auth-request", http.MethodGet, "/", spoof), "ada@example.com", "Ada", "")
	// Forwarded headers describe the request: the wiki's cookie claimed for the chat's host is
	// the chat's to refuse.
	r = wiki.ask("/forward-auth", http.MethodGet, "/chat", http.Header{"X-Forwarded-Host": {chatHost}})
	if r.Status != http.StatusFound || r.Header.Get("Remote-User") != "" {
		t.Errorf("wiki's session at the chat's host: got %s, want a redirect to sign in", r)
	}
}
