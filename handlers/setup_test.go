package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// setupLink creates the one-time link and returns its path and query.
func (e *env) setupLink() string {
	e.t.Helper()
	link, err := account.CreateSetupLink(context.Background(), e.store, e.keys, baseURL, e.clock.Now())
	if err != nil {
		e.t.Fatalf("CreateSetupLink: %v", err)
	}
	if !strings.HasPrefix(link, baseURL+"/setup?token=") {
		e.t.Fatalf("CreateSetupLink: got %q, want %s/setup?token=...", link, baseURL)
	}
	return strings.TrimPrefix(link, baseURL)
}

func TestSetup(t *testing.T) {
	e := newEnv(t)
	path := e.setupLink()
	token := strings.TrimPrefix(path, "/setup?token=")
	c := e.newClient()
	page := c.get(path)
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, "at least 14 characters") {
		t.Errorf("the setup page does not give the length rule:\n%s", page)
	}

	const good = "a long enough super admin password"
	form := func(password, confirm string) url.Values {
		return url.Values{"token": {token}, "name": {"Pat Root"}, "email": {"Pat@Example.com"},
			"new_password": {password}, "confirm_password": {confirm}}
	}
	tests := []struct {
		name              string
		password, confirm string
		problem           string
	}{
		{"13 characters", "thirteen char", "thirteen char", "Password: At least 14 characters."},
		{"confirmation differs", good, good + "!", "The two passwords do not match."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := len([]rune(tt.password)); tt.name == "13 characters" && n != 13 {
				t.Fatalf("test data: %d characters", n)
			}
			r := c.post("/setup", form(tt.password, tt.confirm))
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status: got %d, want 422\n%s", r.Status, r)
			}
			got := alerts(r.Body)
			if len(got) != 1 || !strings.Contains(got[0], tt.problem) {
				t.Errorf("alert: got %q, want it to list %q", got, tt.problem)
			}
			if !strings.Contains(r.Body, `value="Pat Root"`) {
				t.Error("the form lost the name")
			}
			if n, _ := e.store.CountUsers(context.Background()); n != 0 {
				t.Errorf("users after a refused setup: %d, want 0", n)
			}
		})
	}

	r := c.post("/setup", form(good, good))
	expectRedirect(t, r, "/login?notice=setup_done")
	u, err := e.store.UserByEmail(context.Background(), "pat@example.com")
	if err != nil {
		t.Fatalf("the super admin was not created: %v", err)
	}
	if u.Role != store.RoleSuperAdmin || !u.Active() || u.Name != "Pat Root" {
		t.Errorf("created user: got role %q status %q name %q, want super_admin active Pat Root", u.Role, u.Status, u.Name)
	}
	if ok, err := auth.VerifyPassword(u.PasswordHash, good); err != nil || !ok {
		t.Errorf("the stored hash does not verify the password: ok=%v err=%v", ok, err)
	}
	ev := e.lastEvent("user_created")
	checkEvent(t, ev, "user_created", u.ID, "")
	if role, _ := ev.Details["role"].(string); role != "super_admin" {
		t.Errorf("user_created role: got %q, want super_admin", role)
	}
	if !strings.Contains(c.get("/login?notice=setup_done").Body, "Your super admin account is ready.") {
		t.Error("the sign-in page does not confirm the setup")
	}

	// The link worked once.
	expectStatus(t, c.get(path), http.StatusNotFound)
	c.get("/login")
	expectStatus(t, c.post("/setup", form(good, good)), http.StatusNotFound)
	if n, _ := e.store.CountUsers(context.Background()); n != 1 {
		t.Errorf("users: got %d, want 1", n)
	}

	// No more links once a user exists.
	link, err := account.CreateSetupLink(context.Background(), e.store, e.keys, baseURL, e.clock.Now())
	if err != nil || link != "" {
		t.Errorf("CreateSetupLink with a user: got %q, %v; want \"\", nil", link, err)
	}

	// And the super admin can sign in.
	admin := e.newClient()
	admin.signIn("pat@example.com", good)
	expectStatus(t, admin.get("/settings/security"), http.StatusOK)
}

func TestSetupLinkExpires(t *testing.T) {
	e := newEnv(t)
	path := e.setupLink()
	token := strings.TrimPrefix(path, "/setup?token=")
	c := e.newClient()
	e.clock.Advance(59 * time.Minute)
	expectStatus(t, c.get(path), http.StatusOK)
	e.clock.Advance(time.Minute)
	r := c.get(path)
	expectStatus(t, r, http.StatusNotFound)
	if !strings.Contains(r.Body, "There is nothing at this address.") {
		t.Errorf("expired link: not the friendly 404:\n%s", r)
	}
	c.get("/login")
	good := "a long enough super admin password"
	r = c.post("/setup", url.Values{"token": {token}, "name": {"Pat"}, "email": {"pat@example.com"},
		"new_password": {good}, "confirm_password": {good}})
	expectStatus(t, r, http.StatusNotFound)
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Errorf("users after an expired link: %d, want 0", n)
	}
}

func TestSetupOnlyNewestLinkWorks(t *testing.T) {
	e := newEnv(t)
	first := e.setupLink()
	second := e.setupLink()
	c := e.newClient()
	expectStatus(t, c.get(first), http.StatusNotFound)
	expectStatus(t, c.get(second), http.StatusOK)
	expectStatus(t, c.get("/setup"), http.StatusNotFound)
	expectStatus(t, c.get("/setup?token=made-up"), http.StatusNotFound)
}

func TestSetupThrottle(t *testing.T) {
	e := newEnv(t)
	path := e.setupLink()
	token := strings.TrimPrefix(path, "/setup?token=")
	c := e.newClient()
	c.get("/login")
	good := "a long enough super admin password"
	form := func(tok string) url.Values {
		return url.Values{"token": {tok}, "name": {"Pat"}, "email": {"pat@example.com"},
			"new_password": {good}, "confirm_password": {good}}
	}
	for i := 1; i <= 10; i++ {
		if r := c.post("/setup", form(fmt.Sprintf("guess-%d", i))); r.Status != http.StatusNotFound {
			t.Fatalf("guess %d: got %d, want 404", i, r.Status)
		}
	}
	r := c.post("/setup", form(token))
	expectFriendly(t, r, http.StatusTooManyRequests, "Too many requests.")
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Errorf("users: got %d, want 0", n)
	}
	// Another address is not affected.
	other := e.newClient()
	other.get(path)
	expectRedirect(t, other.post("/setup", form(token)), "/login?notice=setup_done")
}
