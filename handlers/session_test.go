package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("lee@example.com", "Lee", store.RoleUser, store.StatusActive)
	otherBrowser := e.newClient()
	otherBrowser.get("/login")

	form := func() url.Values { return url.Values{"email": {u.Email}, "password": {testPassword}} }
	own := func(c *client) string { return c.token() }
	none := func(*client) string { return "" }
	tests := []struct {
		name        string
		field       func(c *client) string // the _csrf field; "" leaves it out
		headerToken bool                   // send this browser's token as X-CSRF-Token
		origin      string
		want        int
	}{
		{"no token", none, false, "", http.StatusForbidden},
		{"wrong token", func(*client) string { return "d3Jvbmc" + strings.Repeat("A", 36) }, false, "", http.StatusForbidden},
		{"another browser's token", func(*client) string { return otherBrowser.token() }, false, "", http.StatusForbidden},
		{"token in the X-CSRF-Token header", none, true, "", http.StatusSeeOther},
		{"right token, same origin", own, false, baseURL, http.StatusSeeOther},
		{"right token, another site's origin", own, false, "https://evil.example", http.StatusForbidden},
		{"right token, opaque origin", own, false, "null", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.newClient()
			expectStatus(t, c.get("/login"), http.StatusOK)
			f := form()
			if tok := tt.field(c); tok != "" {
				f.Set("_csrf", tok)
			}
			h := http.Header{}
			if tt.headerToken {
				h.Set("X-CSRF-Token", c.token())
			}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			r := c.postRaw("/login", f, h)
			if r.Status != tt.want {
				t.Fatalf("status: got %d, want %d\n%s", r.Status, tt.want, r)
			}
			if tt.want == http.StatusSeeOther {
				if r.Location != "/login/verify" {
					t.Errorf("Location: got %q, want /login/verify", r.Location)
				}
				e.waitMail(u.Email)
				return
			}
			if !strings.Contains(r.Body, "You do not have access to this page.") {
				t.Errorf("403 is not the friendly page:\n%s", r)
			}
			if strings.Contains(r.Body, "CSRF token") || strings.Contains(r.Body, "cross-origin") {
				t.Errorf("403 page shows the internal reason:\n%s", r)
			}
			if c.cookieValue("weftid_signin") != "" {
				t.Error("a refused POST started a sign-in")
			}
		})
	}
	// Refused requests never reached the handler: no attempt was logged for them.
	if n := len(e.eventsOf("login_failed")); n != 0 {
		t.Errorf("login_failed events: got %d, want 0", n)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	users := map[store.Role]*client{}
	for _, role := range []store.Role{store.RoleUser, store.RoleAdmin, store.RoleSuperAdmin} {
		u := e.createUser(string(role)+"@example.com", "Person "+string(role), role, store.StatusActive)
		c := e.newClient()
		c.signIn(u.Email, testPassword)
		users[role] = c
	}
	signedOut := e.newClient()

	tests := []struct {
		who  string
		c    *client
		path string
		want int
	}{
		{"user", users[store.RoleUser], "/dashboard", 200},
		{"user", users[store.RoleUser], "/users", 403},
		{"user", users[store.RoleUser], "/events", 403},
		{"user", users[store.RoleUser], "/settings/security", 403},
		{"admin", users[store.RoleAdmin], "/dashboard", 200},
		{"admin", users[store.RoleAdmin], "/users", 200},
		{"admin", users[store.RoleAdmin], "/events", 200},
		{"admin", users[store.RoleAdmin], "/settings/security", 403},
		{"super admin", users[store.RoleSuperAdmin], "/dashboard", 200},
		{"super admin", users[store.RoleSuperAdmin], "/users", 200},
		{"super admin", users[store.RoleSuperAdmin], "/events", 200},
		{"super admin", users[store.RoleSuperAdmin], "/settings/security", 200},
		{"signed out", signedOut, "/dashboard", 303},
		{"signed out", signedOut, "/users", 303},
		{"signed out", signedOut, "/events", 303},
		{"signed out", signedOut, "/settings/security", 303},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.path, func(t *testing.T) {
			r := tt.c.get(tt.path)
			if r.Status != tt.want {
				t.Fatalf("got %d, want %d\n%s", r.Status, tt.want, r)
			}
			switch tt.want {
			case 303:
				if r.Location != "/login" {
					t.Errorf("Location: got %q, want /login", r.Location)
				}
			case 403:
				if !strings.Contains(r.Body, "You do not have access to this page.") || !strings.Contains(r.Body, "Back to the dashboard") {
					t.Errorf("403 is not the friendly page for a signed-in user:\n%s", r)
				}
			}
		})
	}

	// What each page shows that matters: the user list and the event log.
	usersPage := users[store.RoleAdmin].get("/users").Body
	for _, email := range []string{"user@example.com", "admin@example.com", "super_admin@example.com"} {
		if !strings.Contains(usersPage, email) {
			t.Errorf("/users does not list %s", email)
		}
	}
	const signedInRow = `<td><data value="user_signed_in">Signed in</data></td>`
	if ev := users[store.RoleAdmin].get("/events?type=user_signed_in").Body; strings.Count(ev, signedInRow) != 3 {
		t.Errorf("/events?type=user_signed_in: got %d rows, want 3", strings.Count(ev, signedInRow))
	}
	// The navigation offers only what the role may open.
	if body := users[store.RoleUser].get("/dashboard").Body; strings.Contains(body, `href="/users"`) || strings.Contains(body, `href="/settings/security"`) {
		t.Error("a plain user's navigation links to admin pages")
	}
	if body := users[store.RoleAdmin].get("/dashboard").Body; !strings.Contains(body, `href="/users"`) || strings.Contains(body, `href="/settings/security"`) {
		t.Error("an admin's navigation: want Users, not Settings")
	}
}

func TestSessionRotation(t *testing.T) {
	t.Run("a planted cookie is replaced", func(t *testing.T) {
		e := newEnv(t)
		u := e.createUser("max@example.com", "Max", store.RoleUser, store.StatusActive)
		c := e.newClient()
		planted := "planted-by-someone-else-" + strings.Repeat("p", 24)
		c.setCookie("weftid_session", planted)
		c.signIn(u.Email, testPassword)
		got := c.cookieValue("weftid_session")
		if got == "" || got == planted {
			t.Fatalf("session cookie after sign-in: got %q, want a new value", got)
		}
		attacker := e.newClient()
		attacker.setCookie("weftid_session", planted)
		expectRedirect(t, attacker.get("/dashboard"), "/login")
	})

	t.Run("an earlier session is ended", func(t *testing.T) {
		e := newEnv(t)
		u := e.createUser("ned@example.com", "Ned", store.RoleUser, store.StatusActive)
		c := e.newClient()
		c.signIn(u.Email, testPassword)
		old := c.cookieValue("weftid_session")
		expectStatus(t, c.get("/dashboard"), http.StatusOK) // a page with a _csrf field

		c.startSignIn(u.Email, testPassword)
		expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/dashboard")
		now := c.cookieValue("weftid_session")
		if now == "" || now == old {
			t.Fatalf("session cookie after signing in again: got %q, want different from %q", now, old)
		}
		expectStatus(t, c.get("/dashboard"), http.StatusOK)

		replay := e.newClient()
		replay.setCookie("weftid_session", old)
		expectRedirect(t, replay.get("/dashboard"), "/login")
	})
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("ola@example.com", "Ola", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	old := c.cookieValue("weftid_session")
	expectStatus(t, c.get("/dashboard"), http.StatusOK)

	r := c.post("/logout", nil)
	expectRedirect(t, r, "/login?notice=signed_out")
	if v := c.cookieValue("weftid_session"); v != "" {
		t.Errorf("session cookie after logout: got %q, want cleared", v)
	}
	page := c.get("/login?notice=signed_out")
	if !strings.Contains(page.Body, "You have signed out.") {
		t.Errorf("the sign-in page does not say the user signed out")
	}
	expectRedirect(t, c.get("/dashboard"), "/login")

	ev := e.lastEvent("user_signed_out")
	checkEvent(t, ev, "user_signed_out", u.ID, "")
	if ev.ActorID == nil || *ev.ActorID != u.ID {
		t.Errorf("user_signed_out actor: got %v, want %d", ev.ActorID, u.ID)
	}

	// The old value, replayed, is dead.
	replay := e.newClient()
	replay.setCookie("weftid_session", old)
	expectRedirect(t, replay.get("/dashboard"), "/login")

	// Logging out without CSRF is refused (a cross-site logout is not allowed either).
	c2 := e.newClient()
	c2.signIn(u.Email, testPassword)
	if r := c2.postRaw("/logout", url.Values{}, nil); r.Status != http.StatusForbidden {
		t.Errorf("logout without _csrf: got %d, want 403", r.Status)
	}
	expectStatus(t, c2.get("/dashboard"), http.StatusOK)
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("pia@example.com", "Pia", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	token := c.cookieValue("weftid_session")

	e.clock.Advance(14*24*time.Hour - time.Second)
	expectStatus(t, c.get("/dashboard"), http.StatusOK)

	e.clock.Advance(time.Second)
	// Replayed past its expiry (as a browser that ignores Expires would), the value is refused.
	late := e.newClient()
	late.setCookie("weftid_session", token)
	expectRedirect(t, late.get("/dashboard"), "/login")
}

func TestHomeAndLoginRedirects(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("quinn@example.com", "Quinn", store.RoleUser, store.StatusActive)
	c := e.newClient()
	expectRedirect(t, c.get("/"), "/login")
	c.signIn(u.Email, testPassword)
	expectRedirect(t, c.get("/"), "/dashboard")
	expectRedirect(t, c.get("/login"), "/dashboard")
}
