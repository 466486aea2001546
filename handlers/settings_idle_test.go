package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

const msgIdleSaved = "Saved. The next check applies the setting within 15 minutes."

// TestIdleUsersSettings: Settings > Security > Idle users is off by default; a setting that
// deactivates someone is previewed (who, how many) before it is saved; saving logs the old and
// new values; only super admins may.
func TestIdleUsersSettings(t *testing.T) {
	e := newEnv(t)
	sleeper := e.createUser("sleeper@example.com", "Sleeper", store.RoleUser, store.StatusActive)
	e.clock.Advance(40 * 24 * time.Hour)
	_, root := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)

	r := root.get("/settings/security/idle-users")
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "idle users page", r.Body, `<option value="0" selected>Off</option>`, `<option value="90">After 90 days without a sign-in</option>`,
		`href="/settings/security/idle-users" aria-current="page"`)
	bodyHas(t, "idle users page", pageText(r.Body), "Last check None yet", "Next check None: the setting is off")
	bodyHas(t, "overview", pageText(root.get("/settings/security").Body), "Deactivate idle users: Off")

	// 90 days: nobody is that idle, so it is saved at once.
	expectRedirect(t, root.post("/settings/security/idle-users", url.Values{"review": {"yes"}, "idle_deactivation_days": {"90"}}),
		"/settings/security/idle-users?notice=saved")
	if got := notices(root.get("/settings/security/idle-users?notice=saved").Body); len(got) != 1 || got[0] != msgIdleSaved {
		t.Errorf("notice %q, want %q", got, msgIdleSaved)
	}
	// 30 days would deactivate the sleeper (added 40 days ago, never signed in): preview first.
	r = root.post("/settings/security/idle-users", url.Values{"review": {"yes"}, "idle_deactivation_days": {"30"}})
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "preview", pageText(r.Body), "Confirm: 1 user will be deactivated", "Sleeper (sleeper@example.com), last sign-in: Never")
	if st, _ := e.store.Settings(t.Context()); st.IdleDeactivationDays != 90 {
		t.Fatalf("the preview saved %d days", st.IdleDeactivationDays)
	}
	expectRedirect(t, root.post("/settings/security/idle-users", url.Values{"review": {"yes"}, "confirm": {"yes"}, "idle_deactivation_days": {"30"}}),
		"/settings/security/idle-users?notice=saved")
	evs := e.eventsOf("idle_deactivation_policy_updated")
	if len(evs) != 2 || evs[1].Details["old"].(map[string]any)["idle_deactivation_days"] != float64(90) ||
		evs[1].Details["new"].(map[string]any)["idle_deactivation_days"] != float64(30) {
		t.Errorf("idle_deactivation_policy_updated: %s", eventSummary(evs))
	}
	bodyHas(t, "overview", pageText(root.get("/settings/security").Body), "Deactivate idle users: after 30 days without a sign-in")
	if !e.user(sleeper.ID).Active() {
		t.Error("saving deactivated someone: the job does that")
	}

	// Refusals: a value that is not an option, an admin, a plain post without a token.
	r = root.post("/settings/security/idle-users", url.Values{"idle_deactivation_days": {"45"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Choose Off, or 30, 60, 90 or 180 days.")
	expectStatus(t, admin.get("/settings/security/idle-users"), http.StatusForbidden)
	expectStatus(t, admin.post("/settings/security/idle-users", url.Values{"idle_deactivation_days": {"0"}}), http.StatusForbidden)
	expectStatus(t, root.postRaw("/settings/security/idle-users", url.Values{"idle_deactivation_days": {"0"}}, nil), http.StatusForbidden)
	if st, _ := e.store.Settings(t.Context()); st.IdleDeactivationDays != 30 {
		t.Errorf("a refused post changed the setting to %d", st.IdleDeactivationDays)
	}
	if strings.Contains(root.get("/settings/security/idle-users").Body, "None: the setting is off") {
		t.Error("the page says the setting is off")
	}
}
