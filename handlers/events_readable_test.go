package handlers_test

// The event log as a person reads it: labels instead of type names, the type filter under
// headings, details as "key: value" lines, times a script can localise, and the user filter
// taking part of a name or address.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func TestEventLogReadable(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	at := time.Date(2026, 3, 1, 12, 0, 5, 0, time.UTC)
	ids := e.addEvents(
		store.Event{At: at, Type: store.EventUserRoleChanged, ActorID: &adminUser.ID, UserID: &ann.ID,
			Details: map[string]any{"old": "user", "new": "admin", "empty": ""}},
		store.Event{At: at.Add(time.Minute), Type: store.EventPasskeyRegistered, ActorID: &ann.ID, UserID: &ann.ID,
			Details: map[string]any{"passkey_id": 7, "name": "Work laptop"}},
		store.Event{At: at.Add(2 * time.Minute), Type: store.EventLoginFailed, UserID: &ann.ID},
	)
	r := admin.get("/events?user=ann@example.com")
	expectStatus(t, r, http.StatusOK)
	if got := listedEvents(t, r.Body); !slices.Equal(got, []int64{ids[2], ids[1], ids[0]}) {
		t.Fatalf("lists %v", got)
	}

	// Each row names its type in words, keeping the type itself as the machine-readable value.
	bodyHas(t, "labels", r.Body,
		`<data value="user_role_changed">Role changed</data>`,
		`<data value="passkey_registered">Passkey added</data>`,
		`<data value="login_failed">Sign-in failed</data>`)

	// Details are key: value lines (no raw JSON, no empty values); an event without any has none.
	bodyHas(t, "details", r.Body,
		`<dt>New</dt><dd>admin</dd>`, `<dt>Old</dt><dd>user</dd>`,
		`<dt>Name</dt><dd>Work laptop</dd>`, `<dt>Passkey ID</dt><dd>7</dd>`)
	_, rows, _ := strings.Cut(r.Body, `<tbody id="event-rows">`)
	bodyLacks(t, "details", rows, "&#34;", "{", "<dt>Empty</dt>", "<code>")
	if n := strings.Count(r.Body, `<dl class="event-details">`); n != 2 {
		t.Errorf("%d detail lists, want 2 (the failed sign-in has no details)", n)
	}

	// Times: UTC in the text (for a page without JavaScript), RFC 3339 for localtime.js.
	bodyHas(t, "times", r.Body,
		`<time datetime="2026-03-01T12:00:05Z" data-local>2026-03-01 12:00:05 UTC</time>`)
	if !strings.Contains(r.Body, `src="/assets/localtime.`) {
		t.Error("the page does not load localtime.js")
	}

	// The type filter: options under headings, labelled, valued with the type names.
	body := admin.get("/events?type=mfa_reset_by_admin").Body
	groups := map[string]string{}
	for _, g := range typeGroups.FindAllStringSubmatch(body, -1) {
		groups[g[1]] = g[2]
	}
	for group, option := range map[string]string{
		"Sign-in":          `<option value="user_signed_in">Signed in</option>`,
		"Passwords":        `<option value="password_changed">Password changed</option>`,
		"Second factors":   `<option value="mfa_reset_by_admin" selected>Two-step verification reset</option>`,
		"Devices":          `<option value="device_removed">Device removed</option>`,
		"Users and policy": `<option value="user_role_changed">Role changed</option>`,
		"Applications":     `<option value="oauth2_client_created">OpenID Connect app added</option>`,
	} {
		if !strings.Contains(groups[group], option) {
			t.Errorf("the type filter's %q heading lacks %s", group, option)
		}
	}
	if strings.Contains(body, `">user_signed_in</option>`) {
		t.Error("the type filter shows a type name as its label")
	}
}

// The user filter takes part of a name or address, in any case: the events those users did or
// that were done to them. A whole address is that user alone; the CSV export follows the page.
func TestEventLogUserFilterByPart(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann Smith", store.RoleUser, store.StatusActive)
	joann := e.createUser("joann@example.org", "Jo Brown", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob Jones", store.RoleUser, store.StatusActive)
	ids := e.addEvents(
		store.Event{At: day(1), Type: store.EventLoginFailed, UserID: &ann.ID},                           // 0: about Ann
		store.Event{At: day(2), Type: store.EventMFAResetByAdmin, ActorID: &ann.ID, UserID: &bob.ID},     // 1: by Ann
		store.Event{At: day(3), Type: store.EventLoginFailed, UserID: &joann.ID},                         // 2: about Jo
		store.Event{At: day(4), Type: store.EventPasskeyRevoked, ActorID: &bob.ID, UserID: &bob.ID},      // 3: Bob alone
		store.Event{At: day(5), Type: store.EventUserRoleChanged, ActorID: &joann.ID, UserID: &joann.ID}, // 4: by and about Jo
	)
	pick := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []int64
	}{
		{"user=ann", pick(4, 2, 1, 0)},                  // Ann Smith and joann@
		{"user=%20SMITH%20", pick(1, 0)},                // a name, in another case
		{"user=example.org", pick(4, 2)},                // part of an address
		{"user=ann@example.com", pick(1, 0)},            // a whole address: not joann@ too
		{"user=ANN@example.COM", pick(1, 0)},            // in another case
		{"user=@example.org", pick(4, 2)},               // no such address: part of one
		{"user=jones&type=mfa_reset_by_admin", pick(1)}, // done to Bob
	} {
		r := admin.get("/events?" + tt.query + "&to=2026-03-31")
		expectStatus(t, r, http.StatusOK)
		expectNoAlert(t, r)
		if got := listedEvents(t, r.Body); !slices.Equal(got, tt.want) {
			t.Errorf("/events?%s lists %v, want %v", tt.query, got, tt.want)
		}
		// The export of the same filter has the same events.
		var exported []int64
		for _, row := range exportCSV(t, admin, tt.query+"&to=2026-03-31") {
			id, _ := strconv.ParseInt(row[0], 10, 64)
			exported = append(exported, id)
		}
		if !slices.Equal(exported, tt.want) {
			t.Errorf("/events.csv?%s exports %v, want %v", tt.query, exported, tt.want)
		}
	}

	// The form keeps the text as typed (trimmed) and the export link carries it.
	r := admin.get("/events?user=%20Smith%20")
	bodyHas(t, "filtered by name", r.Body, `name="user" value="Smith"`, `href="/events.csv?user=Smith"`)

	// Text nobody's name or address contains: nothing, and a message saying so.
	r = admin.get("/events?user=zebra")
	expectAlert(t, r, "No user's name or email address contains that.")
	if got := listedEvents(t, r.Body); len(got) != 0 {
		t.Errorf("no match lists %v", got)
	}
	if rows := exportCSV(t, admin, "user=zebra"); len(rows) != 0 {
		t.Errorf("no match exports %d rows", len(rows))
	}
	// A LIKE wildcard is a character like any other.
	if got := listedEvents(t, admin.get("/events?user=%25").Body); len(got) != 0 {
		t.Errorf("user=%% lists %v", got)
	}
}
