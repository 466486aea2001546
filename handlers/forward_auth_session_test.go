package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// signedInAtWiki is a user signed in to weftid and to the wiki in one browser, with an admin.
func signedInAtWiki(t *testing.T, o envOptions) (*env, *client, store.User, *appSide) {
	t.Helper()
	e := newEnvWith(t, o)
	admin := e.adminClient()
	registerProxyApp(t, admin, "Wiki", wikiHost, "")
	registerProxyApp(t, admin, "Chat", chatHost, "/chat")
	u := e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	wiki := e.newClient().at(wikiHost)
	wiki.proxySignIn("ada@example.com", "/")
	return e, admin, u, wiki
}

// expectSignedOutOfApp checks that the app's next request is sent to sign in again, and that the
// dead cookie is removed.
func expectSignedOutOfApp(t *testing.T, a *appSide, uri, why string) {
	t.Helper()
	r := a.check(uri)
	if r.Status != http.StatusFound || r.Header.Get("Remote-User") != "" {
		t.Fatalf("%s: got %s, want a redirect to sign in", why, r)
	}
	if c := r.cookie(a.cookieName("weftid_proxy")); c == nil || c.Value != "" {
		t.Errorf("%s: the dead session cookie stays: %v", why, r.Cookies)
	}
	expectStatus(t, a.ask("/auth-request", http.MethodGet, uri, nil), http.StatusUnauthorized)
}

func TestForwardAuthEndsWithTheWeftidSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(e *env, admin *client, u store.User, wiki *appSide)
	}{
		{"sign out in weftid", func(e *env, _ *client, _ store.User, wiki *appSide) {
			expectRedirect(t, wiki.b.post("/logout", nil), "/login?notice=signed_out")
		}},
		{"sign out everywhere", func(e *env, admin *client, u store.User, _ *appSide) {
			expectStatus(t, admin.post(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil), http.StatusSeeOther)
		}},
		{"deactivation", func(e *env, admin *client, u store.User, _ *appSide) {
			expectStatus(t, admin.post(fmt.Sprintf("/users/%d/deactivate", u.ID), nil), http.StatusSeeOther)
		}},
		{"forced reset", func(e *env, admin *client, u store.User, _ *appSide) {
			expectStatus(t, admin.post(fmt.Sprintf("/users/%d/force-password-reset", u.ID), nil), http.StatusSeeOther)
		}},
		{"user deletion", func(e *env, admin *client, u store.User, _ *appSide) {
			expectStatus(t, admin.post(fmt.Sprintf("/users/%d/delete", u.ID), url.Values{"confirm_email": {u.Email}}), http.StatusSeeOther)
		}},
		{"password change", func(e *env, _ *client, _ store.User, wiki *appSide) {
			// Another browser changes the password: this one's sessions end.
			other := e.newClient()
			other.signIn("ada@example.com", testPassword)
			expectStatus(t, other.get("/account/password"), http.StatusOK)
			r := other.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {"another long passphrase 7391"}, "confirm_password": {"another long passphrase 7391"}})
			expectStatus(t, r, http.StatusSeeOther)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, admin, u, wiki := signedInAtWiki(t, envOptions{})
			expectStatus(t, wiki.check("/"), http.StatusOK) // the answer is cached now
			tc.end(e, admin, u, wiki)
			// At once, on this instance: no clock moves.
			expectSignedOutOfApp(t, wiki, "/", tc.name)
		})
	}
}

func TestForwardAuthTellsANewNameAtOnce(t *testing.T) {
	_, admin, u, wiki := signedInAtWiki(t, envOptions{})
	expectIdentity(t, wiki.check("/"), "ada@example.com", "Ada", "")
	r := admin.post(fmt.Sprintf("/users/%d/profile", u.ID), url.Values{"name": {"Ada King"}, "email": {u.Email}})
	expectStatus(t, r, http.StatusSeeOther)
	expectIdentity(t, wiki.check("/"), "ada@example.com", "Ada King", "")
	// A new address ends the user's sessions (services/account): the app's too.
	r = admin.post(fmt.Sprintf("/users/%d/profile", u.ID), url.Values{"name": {"Ada King"}, "email": {"ada.king@example.com"}})
	expectStatus(t, r, http.StatusSeeOther)
	expectSignedOutOfApp(t, wiki, "/", "a new address")
}

func TestForwardAuthLogoutSignsOutOfWeftid(t *testing.T) {
	e, _, u, wiki := signedInAtWiki(t, envOptions{})
	chat := wiki.b.at(chatHost)
	chat.finish(chat.toSignIn(chat.check("/chat"), http.MethodGet, "/chat"), "/chat")

	r := wiki.check("/.weftid/logout")
	if r.Status != http.StatusFound || r.Location != baseURL+"/login?notice=signed_out" {
		t.Fatalf("logout: got %s, want 302 to weftid's signed-out page", r)
	}
	if c := r.cookie("weftid_proxy"); c == nil || c.Value != "" {
		t.Errorf("logout kept the cookie: %v", r.Cookies)
	}
	ev := e.lastEvent("user_signed_out")
	checkEvent(t, ev, "user_signed_out", u.ID, "")
	if ev.Details["via"] != "proxy_logout" || ev.Details["host"] != wikiHost {
		t.Errorf("user_signed_out details: %v", ev.Details)
	}
	// weftid's session ended, and with it the browser's session at the other app.
	expectRedirect(t, wiki.b.get("/dashboard"), "/login")
	expectSignedOutOfApp(t, chat, "/chat", "logout at the wiki, then the chat")
	// Signing out again, or without a session, just goes to the signed-out page.
	r = wiki.check("/.weftid/logout")
	if r.Status != http.StatusFound || r.Location != baseURL+"/login?notice=signed_out" {
		t.Errorf("second logout: got %s", r)
	}
	if n := len(e.eventsOf("user_signed_out")); n != 1 {
		t.Errorf("user_signed_out events: %d, want 1", n)
	}
}

func TestForwardAuthCacheDelayIsBounded(t *testing.T) {
	db := storetest.DB(t)
	e, _, u, wiki := signedInAtWiki(t, envOptions{db: db})
	expectStatus(t, wiki.check("/"), http.StatusOK)
	// Another instance on the same database signs the user out everywhere: this one hears
	// nothing of it, and its cached answer stands for at most 15 seconds.
	ctx := context.Background()
	other := storetest.OpenAt(t, db)
	if _, err := other.DeleteUserSessions(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(14 * time.Second)
	expectStatus(t, wiki.check("/"), http.StatusOK)
	e.clock.Advance(time.Second)
	expectSignedOutOfApp(t, wiki, "/", "15 seconds after another instance ended the session")
}

func TestForwardAuthAfterForcedReset(t *testing.T) {
	e, admin, u, wiki := signedInAtWiki(t, envOptions{})
	expectStatus(t, admin.post(fmt.Sprintf("/users/%d/force-password-reset", u.ID), nil), http.StatusSeeOther)

	// The app sends the browser to sign in; the new password comes before the app opens.
	cont := wiki.toSignIn(wiki.check("/doc"), http.MethodGet, "/doc")
	b := wiki.b
	expectRedirect(t, b.get(cont), "/login")
	expectRedirect(t, b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {testPassword}}), "/login/reset-password")
	expectStatus(t, b.get(cont), http.StatusSeeOther) // nothing is issued meanwhile
	if n := len(e.eventsOf("proxy_session_created")); n != 1 {
		t.Fatalf("a code was issued before the reset: %d proxy sessions", n)
	}
	r := b.get("/login/reset-password")
	expectStatus(t, r, http.StatusOK)
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://"+wikiHost+";") {
		t.Errorf("the reset page's CSP does not let its form lead to the app: %s", csp)
	}
	next := "a brand new passphrase 5521"
	expectRedirect(t, b.post("/login/reset-password", url.Values{"new_password": {next}, "confirm_password": {next}}), "/login/verify")
	code := e.waitCode("ada@example.com")
	expectRedirect(t, b.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), cont)
	expectIdentity(t, wiki.finish(cont, "/doc"), "ada@example.com", "Ada", "")
	if e.user(u.ID).PasswordResetRequired {
		t.Error("the user is still flagged")
	}
}

func TestSignInPagesLetOnlyTheirAppInFormAction(t *testing.T) {
	e := proxyEnv(t)
	e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	b := e.newClient()
	wiki := b.at(wikiHost)
	cont := wiki.toSignIn(wiki.check("/"), http.MethodGet, "/")
	expectRedirect(t, b.get(cont), "/login")
	want := "form-action 'self' http://" + wikiHost + ";"
	if csp := b.get("/login").Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("/login CSP: %s, want %s", csp, want)
	}
	b.startSignIn("ada@example.com", testPassword)
	if csp := b.get("/login/verify").Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Errorf("/login/verify CSP: %s, want %s", csp, want)
	}
	// A sign-in for no app, and every other page, keep form-action 'self' alone.
	other := e.newClient()
	other.startSignIn("ada@example.com", testPassword)
	for _, c := range []*client{other} {
		if csp := c.get("/login/verify").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
			t.Errorf("CSP of a sign-in for no app: %s", csp)
		}
	}
	if csp := b.get("/password/forgot").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("CSP of another page during the sign-in: %s", csp)
	}
}
