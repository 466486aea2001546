package handlers_test

// Names and descriptions are plain text (auth.PlainText, auth.PlainLines): every form that
// takes one refuses control characters and text-direction characters with 422, in words, and
// keeps what was typed.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// The refusals, copied on purpose (see harness_test.go).
const (
	msgNameText        = "Names cannot contain control characters or text-direction characters."
	msgDescriptionText = "The description cannot contain control characters (line breaks aside) or text-direction characters."
)

// badNames are names each form must refuse: NUL, a C0 and a C1 control, a tab, a line break
// inside the name (around it, it is trimmed), and bidi overrides and isolates.
var badNames = []string{"Ada\x00Lovelace", "Ada\x1bLovelace", "Ada\u0085Lovelace", "Ada\tLovelace",
	"Ada\r\nLovelace", "Ada\u202eecalevoL", "Ada\u2067Lovelace"}

// refusedAsText checks a 422 that says msg and keeps the typed name (checked by its visible
// part when the typed one holds characters the page cannot carry as typed).
func refusedAsText(t *testing.T, what string, r *response, msg string) {
	t.Helper()
	if r.Status != http.StatusUnprocessableEntity {
		t.Errorf("%s: %s, want 422", what, r)
		return
	}
	expectAlertContains(t, r, msg)
	if !strings.Contains(r.Body, "Ada") {
		t.Errorf("%s: the form lost what was typed", what)
	}
}

func TestNamesArePlainText(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("root@example.com", "Rita Root", store.RoleSuperAdmin)
	pat := e.createUser("pat@example.com", "Pat", store.RoleUser, store.StatusActive)
	ops := createGroup(t, admin, "Ops")
	expectStatus(t, admin.get("/users/new"), http.StatusOK)
	events := len(e.events())

	for _, name := range badNames {
		what := func(form string) string { return fmt.Sprintf("%s %q", form, name) }
		r := admin.post("/users", url.Values{"name": {name}, "email": {"new@example.com"}, "role": {"user"}})
		refusedAsText(t, what("new user"), r, msgNameText)
		r = admin.post(userURL(pat.ID, "profile"), url.Values{"name": {name}, "email": {pat.Email}})
		refusedAsText(t, what("user profile"), r, msgNameText)
		r = admin.post("/account/profile", url.Values{"name": {name}})
		refusedAsText(t, what("own profile"), r, msgNameText)
		r = admin.post("/groups/new", url.Values{"name": {name}})
		refusedAsText(t, what("new group"), r, msgNameText)
		r = admin.post(groupURL(ops, ""), url.Values{"name": {name}, "description": {"kept"}})
		refusedAsText(t, what("group"), r, msgNameText)
		r = admin.post("/applications/proxy", url.Values{"name": {name}, "host": {"wiki.example.test"}})
		refusedAsText(t, what("proxied app"), r, msgNameText)
		r = admin.postMultipart("/applications/saml", map[string]string{"name": name, "metadata": "<x/>"}, nil)
		refusedAsText(t, what("SAML app"), r, msgNameText)
	}
	if n := len(e.events()); n != events {
		t.Errorf("refused names wrote %d events: %s", n-events, eventSummary(e.events()[events:]))
	}
	if n, _ := e.store.CountUsers(context.Background()); n != 2 {
		t.Errorf("users after the refusals: %d, want 2", n)
	}

	// A description may have line breaks, nothing else of the kind.
	for _, d := range []string{"one\x00two", "one\u202etwo", "one\ttwo", "one\x7ftwo"} {
		r := admin.post(groupURL(ops, ""), url.Values{"name": {"Ops"}, "description": {"Ada " + d}})
		refusedAsText(t, "group description", r, msgDescriptionText)
		r = admin.post("/groups/new", url.Values{"name": {"Ada"}, "description": {d}})
		refusedAsText(t, "new group's description", r, msgDescriptionText)
	}
	expectRedirect(t, admin.post(groupURL(ops, ""), url.Values{"name": {"Ops"}, "description": {"First line\r\nSecond line"}}),
		groupURL(ops, "")+"?notice=saved")

	// Names in other scripts, and the marks a language needs, are not control characters.
	expectRedirect(t, admin.post(userURL(pat.ID, "profile"), url.Values{"name": {"Zoë Ωμέγα \u200dمريم"}, "email": {pat.Email}}),
		userURL(pat.ID, "profile?notice=profile_saved"))
}

// The first super admin's name at /setup is refused the same way, and nothing is created.
func TestSetupNameIsPlainText(t *testing.T) {
	e := newEnv(t)
	path := e.setupLink()
	c := e.newClient()
	expectStatus(t, c.get(path), http.StatusOK)
	const good = "a long enough super admin password"
	r := c.post("/setup", url.Values{"token": {strings.TrimPrefix(path, "/setup?token=")}, "name": {"Ada\u202eLovelace"},
		"email": {"ada@example.com"}, "new_password": {good}, "confirm_password": {good}})
	refusedAsText(t, "setup", r, msgNameText)
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Errorf("users after a refused setup: %d, want 0", n)
	}
}
