package handlers_test

// The user detail page (/users/{id}/profile, /danger, /events) through the real app: its tabs
// as whole pages and as htmx fragments, revoking one passkey, resetting two-step verification,
// and who may do what (an admin cannot touch a super admin).

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// The user detail messages, copied on purpose (see harness_test.go).
const (
	msgNoticeMFAReset       = "Two-step verification was reset. The user was told by email."
	msgNoticeMFAUnmailed    = "Two-step verification was reset, but the email to the user could not be sent. Tell them yourself."
	msgNoticePasskeyRevoked = "The passkey was revoked."
	mfaResetSubject         = "Your two-step verification was reset"
)

var (
	userTabsNav   = regexp.MustCompile(`(?s)<nav id="user-tabs"[^>]*>.*?</nav>`)
	currentTab    = regexp.MustCompile(`<a [^>]*aria-current="page"[^>]*>([^<]*)</a>`)
	tabLink       = regexp.MustCompile(`<a [^>]*>`)
	noticeElement = regexp.MustCompile(`(?s)<p class="notice" role="status">(.*?)</p>`)
)

// ---- helpers ----

// plantTOTP gives a user a confirmed authenticator and 10 backup codes, straight in the store
// (the secret is a stand-in: these tests never check a code).
func (e *env) plantTOTP(userID int64) {
	e.t.Helper()
	ctx, now := context.Background(), e.clock.Now()
	if err := e.store.PutPendingTOTP(ctx, userID, []byte("sealed secret"), now); err != nil {
		e.t.Fatalf("PutPendingTOTP: %v", err)
	}
	if err := e.store.ConfirmTOTP(ctx, userID, 1, now); err != nil {
		e.t.Fatalf("ConfirmTOTP: %v", err)
	}
	hashes := make([][]byte, 10)
	for i := range hashes {
		hashes[i] = []byte(fmt.Sprintf("backup-%d-%d", userID, i))
	}
	if err := e.store.ReplaceBackupCodes(ctx, userID, hashes, now); err != nil {
		e.t.Fatalf("ReplaceBackupCodes: %v", err)
	}
}

// activeTab is the label of the tab #user-tabs marks current ("" when none or no tab bar).
func activeTab(t *testing.T, body string) string {
	t.Helper()
	nav := userTabsNav.FindString(body)
	if nav == "" {
		return ""
	}
	all := currentTab.FindAllStringSubmatch(nav, -1)
	if len(all) != 1 {
		t.Errorf("tab bar marks %d tabs current, want 1:\n%s", len(all), nav)
		return ""
	}
	return all[0][1]
}

// notices are the texts of the page's notices.
func notices(body string) []string {
	var out []string
	for _, m := range noticeElement.FindAllStringSubmatch(body, -1) {
		out = append(out, pageText(m[1]))
	}
	return out
}

func userURL(id int64, rest string) string { return fmt.Sprintf("/users/%d/%s", id, rest) }

func bodyHas(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func bodyLacks(t *testing.T, what, body string, bads ...string) {
	t.Helper()
	for _, b := range bads {
		if strings.Contains(body, b) {
			t.Errorf("%s contains %q", what, b)
		}
	}
}

// ---- tests ----

func TestUserDetailTabs(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann Example", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)
	e.addPasskey(ann.ID, 1, "Work laptop")
	if err := e.store.AddEvent(context.Background(), store.Event{At: e.clock.Now(), Type: "login_failed", UserID: &ann.ID, IP: "198.51.100.9"}); err != nil {
		t.Fatal(err)
	}

	expectRedirect(t, admin.get(fmt.Sprintf("/users/%d", ann.ID)), userURL(ann.ID, "profile"))

	tabs := []struct {
		slug, label string
		panel       []string // what only this tab's panel shows
	}{
		{"profile", "Profile", []string{`<h2 id="passkeys-heading">Passkeys</h2>`, "Work laptop", ">Revoke</summary>", "Set up"}},
		{"danger", "Danger", []string{">Reset two-step verification</summary>", `action="` + userURL(ann.ID, "reset-mfa") + `"`, `action="` + userURL(ann.ID, "deactivate") + `"`}},
		{"events", "Events", []string{"login_failed", "198.51.100.9"}},
		{"groups", "Groups", []string{`id="user-no-groups"`}},
		{"apps", "Apps", []string{`id="user-no-apps"`}},
	}
	for _, tab := range tabs {
		t.Run(tab.slug, func(t *testing.T) {
			path := userURL(ann.ID, tab.slug)

			// A reload or a link: the whole page, this tab open.
			r := admin.get(path)
			expectStatus(t, r, http.StatusOK)
			bodyHas(t, "page", r.Body, "<html", "<h1>Ann Example</h1>", `<div id="user-tab-panel">`)
			bodyHas(t, "page", r.Body, tab.panel...)
			if got := activeTab(t, r.Body); got != tab.label {
				t.Errorf("current tab: got %q, want %q", got, tab.label)
			}
			if v := r.Header.Get("Vary"); !strings.Contains(v, "HX-Request") {
				t.Errorf("Vary: got %q, want HX-Request in it", v)
			}
			for _, other := range tabs {
				if other.slug != tab.slug {
					bodyLacks(t, "page", r.Body, other.panel[0])
				}
			}
			// Every tab is a real link that htmx upgrades to swap only the panel.
			nav := userTabsNav.FindString(r.Body)
			for _, other := range tabs {
				href := userURL(ann.ID, other.slug)
				var link string
				for _, l := range tabLink.FindAllString(nav, -1) {
					if strings.Contains(l, `href="`+href+`"`) {
						link = l
					}
				}
				for _, attr := range []string{`hx-get="` + href + `"`, `hx-target="#user-tab-panel"`, `hx-push-url="true"`, `hx-swap="innerHTML"`} {
					if !strings.Contains(link, attr) {
						t.Errorf("tab link to %s %q lacks %s", other.slug, link, attr)
					}
				}
			}

			// htmx following a tab link: only the panel, and the tab bar out of band.
			f := admin.htmxGet(path)
			expectStatus(t, f, http.StatusOK)
			bodyLacks(t, "fragment", f.Body, "<html", "<body", `id="user-tab-panel"`, "<h1>", `aria-label="Main"`)
			bodyHas(t, "fragment", f.Body, tab.panel...)
			bodyHas(t, "fragment", f.Body, `<nav id="user-tabs" aria-label="User sections" hx-swap-oob="true">`,
				"<title>Ann Example · "+tab.label+" · weftid</title>")
			if got := activeTab(t, f.Body); got != tab.label {
				t.Errorf("fragment's current tab: got %q, want %q", got, tab.label)
			}

			// A boosted link and a history restore after a reload want the whole page.
			for _, h := range [][]string{{"HX-Boosted", "true"}, {"HX-History-Restore-Request", "true"}} {
				r := admin.htmxGet(path, h...)
				expectStatus(t, r, http.StatusOK)
				bodyHas(t, h[0]+" page", r.Body, "<html", `<div id="user-tab-panel">`)
			}
		})
	}

	t.Run("unknown user", func(t *testing.T) {
		for _, p := range []string{"/users/999999/profile", "/users/999999/danger", "/users/999999/events", "/users/99999999999999999999/profile"} {
			expectStatus(t, admin.get(p), http.StatusNotFound)
		}
		expectStatus(t, admin.htmxGet("/users/999999/danger"), http.StatusNotFound)
	})

	t.Run("not for users", func(t *testing.T) {
		_, plain := e.signedIn("plain@example.com", "Pat Plain", store.RoleUser)
		for _, tab := range tabs {
			expectStatus(t, plain.get(userURL(ann.ID, tab.slug)), http.StatusForbidden)
		}
		anon := e.newClient()
		expectRedirect(t, anon.get(userURL(ann.ID, "profile")), "/login")
	})
}

func TestUserProfileFactors(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)

	r := admin.get(userURL(bob.ID, "profile"))
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "profile without factors", r.Body, `<td id="user-totp">Not set up</td>`, `<td id="user-backup-codes">0</td>`, "No passkeys.")
	bodyHas(t, "profile", r.Body, "bob@example.com", "User", "Active")

	e.plantTOTP(bob.ID)
	e.addPasskey(bob.ID, 7, "Phone")
	e.addPasskey(bob.ID, 8, "Key <b>ring</b>")
	r = admin.get(userURL(bob.ID, "profile"))
	bodyHas(t, "profile with factors", r.Body, `<td id="user-totp">Set up</td>`, `<td id="user-backup-codes">10</td>`,
		"<td>Phone</td>", "<td>Key &lt;b&gt;ring&lt;/b&gt;</td>", "<td>never</td>")
	if n := strings.Count(r.Body, ">Revoke</summary>"); n != 2 {
		t.Errorf("Revoke buttons: got %d, want 2", n)
	}
	// The role form offers what an admin may give: not super admin.
	bodyHas(t, "role form", r.Body, `action="`+userURL(bob.ID, "role")+`"`, `value="admin"`)
	bodyLacks(t, "role form", r.Body, `value="super_admin"`)
}

func TestUserDetailCSRF(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)
	key := e.addPasskey(ann.ID, 1, "Phone")
	admin.get(userURL(ann.ID, "danger"))

	for _, p := range []string{userURL(ann.ID, "reset-mfa"), userURL(ann.ID, fmt.Sprintf("passkeys/%d/revoke", key.ID))} {
		// No token, a wrong one, and the right one from another site.
		expectStatus(t, admin.postRaw(p, url.Values{}, nil), http.StatusForbidden)
		expectStatus(t, admin.postRaw(p, url.Values{"_csrf": {"forged"}}, nil), http.StatusForbidden)
		expectStatus(t, admin.postRaw(p, url.Values{"_csrf": {admin.token()}}, http.Header{"Origin": {"https://evil.example"}}), http.StatusForbidden)
	}
	if !e.totpOn(ann.ID) || len(e.passkeys(ann.ID)) != 1 {
		t.Error("a request without a valid CSRF token changed the user")
	}
	// The token as htmx sends it, in the header, works.
	r := admin.postRaw(userURL(ann.ID, "reset-mfa"), url.Values{}, http.Header{"X-CSRF-Token": {admin.token()}})
	expectRedirect(t, r, userURL(ann.ID, "danger?notice=mfa_reset"))
}

func TestUserDangerTab(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	gone := e.createUser("gone@example.com", "Gone", store.RoleUser, store.StatusInactive)
	e.plantTOTP(gone.ID) // something to reset: without it the tab offers no reset (admin_flows_test.go)

	// An inactive user can be reactivated, not deactivated.
	r := admin.get(userURL(gone.ID, "danger"))
	bodyHas(t, "inactive user's Danger tab", r.Body, `action="`+userURL(gone.ID, "reactivate")+`"`, "Reactivate user</summary>")
	bodyLacks(t, "inactive user's Danger tab", r.Body, `action="`+userURL(gone.ID, "deactivate")+`"`)
	// Each action waits behind a confirmation: the button is inside a closed <details>.
	for _, action := range []string{"reset-mfa", "reactivate"} {
		re := regexp.MustCompile(`(?s)<details[^>]*>\s*<summary[^>]*>[^<]*</summary>\s*<form method="post" action="` + regexp.QuoteMeta(userURL(gone.ID, action)) + `"`)
		if !re.MatchString(r.Body) {
			t.Errorf("%s is not behind a confirmation", action)
		}
	}
	// No admin may deactivate themselves: the page does not offer it.
	r = admin.get(userURL(adminUser.ID, "danger"))
	bodyLacks(t, "own Danger tab", r.Body, `action="`+userURL(adminUser.ID, "deactivate")+`"`)
	bodyHas(t, "own Danger tab", r.Body, "You cannot deactivate your own account.")

	// Notices are fixed texts chosen by the query; anything else shows nothing and is not echoed.
	wants := map[string]string{
		"deactivated":  "The user was deactivated. They cannot sign in, and their sessions have ended.",
		"reactivated":  "The user was reactivated. They can sign in again.",
		"role_changed": "The role was changed.",
	}
	for key, want := range wants {
		for _, tab := range []string{"danger", "profile"} {
			r := admin.get(userURL(gone.ID, tab+"?notice="+key))
			if got := notices(r.Body); len(got) != 1 || got[0] != want {
				t.Errorf("%s?notice=%s: got %q, want [%q]", tab, key, got, want)
			}
		}
	}
	r = admin.get(userURL(gone.ID, "danger?notice=%3Cscript%3Ealert(1)%3C/script%3E"))
	if got := notices(r.Body); len(got) != 0 {
		t.Errorf("unknown notice shows %q", got)
	}
	bodyLacks(t, "page with an unknown notice", r.Body, "alert(1)")
}

func TestUserEventsTab(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := e.store.InTx(ctx, func(tx *store.Tx) error {
		for i := range 60 { // about Ann, by the admin
			if err := tx.AddEvent(ctx, store.Event{At: at.Add(time.Duration(i) * time.Minute), Type: "user_role_changed", ActorID: &adminUser.ID, UserID: &ann.ID, Details: map[string]any{"n": i}}); err != nil {
				return err
			}
		}
		// By Ann, about Bob; and one that is not about Ann at all.
		if err := tx.AddEvent(ctx, store.Event{At: at.Add(2 * time.Hour), Type: "mfa_reset_by_admin", ActorID: &ann.ID, UserID: &bob.ID}); err != nil {
			return err
		}
		return tx.AddEvent(ctx, store.Event{At: at.Add(3 * time.Hour), Type: "login_failed", UserID: &bob.ID, IP: "203.0.113.99"})
	})
	if err != nil {
		t.Fatal(err)
	}
	rowID := regexp.MustCompile(`<tr id="event-(\d+)">`)

	r := admin.get(userURL(ann.ID, "events"))
	expectStatus(t, r, http.StatusOK)
	rows := rowID.FindAllStringSubmatch(r.Body, -1)
	if len(rows) != 50 {
		t.Fatalf("first page: %d rows, want 50", len(rows))
	}
	bodyHas(t, "Events tab", r.Body, "mfa_reset_by_admin", "bob@example.com", `<dt>N</dt><dd>59</dd>`)
	bodyLacks(t, "Events tab", r.Body, "203.0.113.99")
	last := rows[len(rows)-1][1]
	more := userURL(ann.ID, "events?before="+last)
	bodyHas(t, "Events tab", r.Body, `<tr id="events-more">`, `href="`+more+`"`, `hx-get="`+more+`"`, `hx-target="#events-more"`, `hx-swap="outerHTML"`)

	// "Load more" with htmx: just the next rows, and no further button on the last page.
	f := admin.htmxGet(more)
	expectStatus(t, f, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(f.Body), "<tr") {
		t.Errorf("Load more fragment does not start with a row: %.200s", f.Body)
	}
	bodyLacks(t, "Load more fragment", f.Body, "<html", "<table", "events-more", `id="user-tabs"`)
	if n := len(rowID.FindAllString(f.Body, -1)); n != 11 {
		t.Errorf("second page: %d rows, want 11", n)
	}
	bodyHas(t, "Load more fragment", f.Body, `<dt>N</dt><dd>0</dd>`)

	// Without JavaScript the same link opens the Events tab at the next page.
	p := admin.get(more)
	bodyHas(t, "next page", p.Body, "<html", `<div id="user-tab-panel">`, `<dt>N</dt><dd>0</dd>`)
	if got := activeTab(t, p.Body); got != "Events" {
		t.Errorf("current tab on the next page: %q", got)
	}
}

// An admin demoted while a user's page is open clicks a tab: htmx swaps no error answer, so
// the 403 must tell htmx to load the page, which says why, instead of doing nothing.
func TestDemotedAdminTabClickShowsTheRefusal(t *testing.T) {
	e := newEnv(t)
	admin, ac := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	u := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	path := fmt.Sprintf("/users/%d/danger", u.ID)
	expectStatus(t, ac.get(path), http.StatusOK)
	if err := e.store.SetUserRole(context.Background(), admin.ID, store.RoleUser, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := ac.do(http.MethodGet, path, nil, http.Header{"HX-Request": {"true"}})
	expectStatus(t, r, http.StatusForbidden)
	if got := r.Header.Get("HX-Redirect"); got != path {
		t.Errorf("HX-Redirect %q, want %q", got, path)
	}
	// The page itself (no htmx) is the plain 403, with no redirect to loop on.
	r = ac.get(path)
	expectStatus(t, r, http.StatusForbidden)
	if got := r.Header.Get("HX-Redirect"); got != "" {
		t.Errorf("a full page load got HX-Redirect %q", got)
	}
}
