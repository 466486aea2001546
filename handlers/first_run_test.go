package handlers_test

// The first-run checklist on a super admin's dashboard (issue 14, item 7), and the address
// setup leaves for the first sign-in.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// checklistItem says whether the dashboard's checklist item id is there and ticked.
func checklistItem(body, id string) (shown, done bool) {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return false, false
	}
	end := strings.Index(body[i:], "</li>")
	return true, strings.Contains(body[i:i+end], "Done:")
}

func TestFirstRunChecklist(t *testing.T) {
	e := newEnv(t)
	sam, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	expect := func(what string, want map[string]bool) {
		t.Helper()
		r := super.get("/dashboard")
		expectStatus(t, r, http.StatusOK)
		for id, done := range want {
			shown, got := checklistItem(r.Body, id)
			if !shown || got != done {
				t.Errorf("%s: %s shown %v, ticked %v; want ticked %v", what, id, shown, got, done)
			}
		}
	}
	// The test server sends mail by SMTP; nothing else is done yet.
	expect("fresh", map[string]bool{"check-second-factor": false, "check-mail": true, "check-invite": false, "check-app": false})
	r := super.get("/dashboard")
	bodyHas(t, "the checklist", r.Body, `href="/account/security"`, `href="/users/new"`, `href="/applications"`, `action="/dashboard/checklist/dismiss"`)

	e.plantTOTP(sam.ID)
	e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	if err := e.store.CreateOAuthClient(context.Background(), store.OAuthClient{ClientID: "app", Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	expect("all done", map[string]bool{"check-second-factor": true, "check-mail": true, "check-invite": true, "check-app": true})

	// Not for admins or users; they cannot dismiss it either.
	_, admin := e.signedIn("ada@example.com", "Ada", store.RoleAdmin)
	if r := admin.get("/dashboard"); strings.Contains(r.Body, `id="first-run"`) {
		t.Error("an admin sees the first-run checklist")
	}
	expectStatus(t, admin.post("/dashboard/checklist/dismiss", url.Values{}), http.StatusForbidden)

	// Dismiss: CSRF required, then gone for good.
	super.get("/dashboard")
	if r := super.postRaw("/dashboard/checklist/dismiss", url.Values{}, nil); r.Status != http.StatusForbidden {
		t.Errorf("dismiss without CSRF: got %d, want 403", r.Status)
	}
	expectRedirect(t, super.post("/dashboard/checklist/dismiss", url.Values{}), "/dashboard")
	if r := super.get("/dashboard"); strings.Contains(r.Body, `id="first-run"`) {
		t.Error("the checklist is still shown after dismissing it")
	}
}

// After setup, /login has the new super admin's address filled in, once.
func TestSetupFillsInTheSignInAddress(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	path := e.setupLink()
	c.get(path)
	good := "quiet river lantern 1937"
	form := url.Values{"token": {strings.TrimPrefix(path, "/setup?token=")}, "email": {"Pat@Example.com"}, "name": {"Pat Root"},
		"new_password": {good}, "confirm_password": {good}}
	expectRedirect(t, c.post("/setup", form), "/login?notice=setup_done")
	if r := c.get("/login?notice=setup_done"); !strings.Contains(r.Body, `value="pat@example.com"`) {
		t.Errorf("the sign-in page does not fill in the address:\n%s", r.Body)
	}
	if r := c.get("/login"); strings.Contains(r.Body, `value="pat@example.com"`) {
		t.Error("the address is filled in again on a later visit")
	}
}
