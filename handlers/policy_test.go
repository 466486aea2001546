package handlers_test

// The tenant authentication policy (docs/authentication-policy.md) through the real app:
// Settings > Security > Authentication. Sign-in under Enhanced, where e-mail codes no longer
// count and a user with nothing else must enroll a passkey or TOTP before the sign-in finishes:
// login_enroll_test.go and login_enhanced_test.go.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

const (
	authPolicyPath     = "/settings/security/authentication"
	msgAuthPolicySaved = "Saved. The policy applies to every new sign-in; existing sessions are not interrupted."
	msgAuthPolicyBad   = "Choose Baseline or Enhanced."
	msgNoPasskey       = "You have no passkey yet."
)

// The words of docs/authentication-policy.md the Authentication page must show, as written there.
var policyDocWords = []string{
	"Settings > Security > Authentication",
	"Baseline",
	"Enhanced",
	"Email one-time codes count as a valid second factor. Users can sign in with password plus email OTP, password plus TOTP, or a passkey.",
	"Email one-time codes are no longer acceptable. Every user must have either a TOTP authenticator or a passkey registered. Users with only email OTP are redirected to an enrollment page on next sign-in and cannot reach the dashboard until they enroll.",
	"The tenant authentication policy controls how strong a second factor WeftID requires.",
}

var strengthRadio = regexp.MustCompile(`<input[^>]*name="required_auth_strength"[^>]*>`)

// ---- helpers ----

// pageText is a page's visible text: tags gone, entities decoded, spaces collapsed.
func pageText(body string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(anyTag.ReplaceAllString(body, " ")), " "))
}

// checkedStrengths lists the values of the checked required_auth_strength radios, and all values.
func checkedStrengths(body string) (checked, all []string) {
	for _, in := range strengthRadio.FindAllString(body, -1) {
		m := regexp.MustCompile(`value="([^"]*)"`).FindStringSubmatch(in)
		if m == nil {
			continue
		}
		all = append(all, m[1])
		if regexp.MustCompile(`\schecked(\s|=|/|>)`).MatchString(in) {
			checked = append(checked, m[1])
		}
	}
	return checked, all
}

func expectChecked(t *testing.T, r *response, want string) {
	t.Helper()
	checked, all := checkedStrengths(r.Body)
	if !slices.Equal(all, []string{"baseline", "enhanced"}) {
		t.Errorf("required_auth_strength radios %q, want [baseline enhanced]", all)
	}
	if !slices.Equal(checked, []string{want}) {
		t.Errorf("checked required_auth_strength %q, want [%s]", checked, want)
	}
}

// setStrength stores the policy directly, as a test's starting point.
func (e *env) setStrength(strength string) {
	e.t.Helper()
	if err := e.store.SetAuthStrength(context.Background(), strength, e.clock.Now()); err != nil {
		e.t.Fatalf("SetAuthStrength(%s): %v", strength, err)
	}
}

// savePolicy saves the policy as a super admin does, through the page.
func savePolicy(t *testing.T, admin *client, strength string) {
	t.Helper()
	expectStatus(t, admin.get(authPolicyPath), http.StatusOK)
	expectRedirect(t, admin.post(authPolicyPath, url.Values{"required_auth_strength": {strength}}), authPolicyPath+"?notice=saved")
}

func TestAuthPolicySettingsPage(t *testing.T) {
	e := newEnv(t)
	sa, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	_, admin := e.signedIn("ada@example.com", "Ada", store.RoleAdmin)
	_, user := e.signedIn("uma@example.com", "Uma", store.RoleUser)

	if got := e.settings().RequiredAuthStrength; got != "baseline" {
		t.Fatalf("a new tenant's required_auth_strength is %q, want baseline", got)
	}

	// The page: Baseline checked by default, the document's words.
	r := super.get(authPolicyPath)
	expectStatus(t, r, http.StatusOK)
	expectChecked(t, r, "baseline")
	text := pageText(r.Body)
	for _, want := range policyDocWords {
		if !strings.Contains(text, want) {
			t.Errorf("the Authentication page does not say %q", want)
		}
	}
	if !strings.Contains(text, "Default.") && !strings.Contains(text, "(default)") {
		t.Error("the Authentication page does not say Baseline is the default")
	}
	if !strings.Contains(r.Body, `action="/settings/security/authentication"`) || !strings.Contains(r.Body, `>Save</button>`) {
		t.Error("no Save form posting to /settings/security/authentication")
	}
	expectNoAlert(t, r)
	// Reachable from Settings > Security.
	if ov := super.get("/settings/security"); !strings.Contains(ov.Body, `href="/settings/security/authentication"`) {
		t.Errorf("Settings > Security has no link to Authentication:\n%s", ov)
	}

	// Super admins only.
	for name, c := range map[string]*client{"admin": admin, "user": user} {
		if r := c.get(authPolicyPath); r.Status != http.StatusForbidden {
			t.Errorf("GET as %s: got %d, want 403", name, r.Status)
		}
		expectStatus(t, c.get("/dashboard"), http.StatusOK) // c.csrf is current
		if r := c.post(authPolicyPath, url.Values{"required_auth_strength": {"enhanced"}}); r.Status != http.StatusForbidden {
			t.Errorf("POST as %s: got %d, want 403", name, r.Status)
		}
	}
	anon := e.newClient()
	expectRedirect(t, anon.get(authPolicyPath), "/login")
	if e.settings().RequiredAuthStrength != "baseline" || len(e.eventsOf("tenant_auth_policy_updated")) != 0 {
		t.Fatal("an admin or a user changed the policy")
	}

	// CSRF: none, or another browser's token.
	expectStatus(t, super.get(authPolicyPath), http.StatusOK)
	if r := super.postRaw(authPolicyPath, url.Values{"required_auth_strength": {"enhanced"}}, nil); r.Status != http.StatusForbidden {
		t.Errorf("POST without _csrf: got %d, want 403", r.Status)
	}
	if r := super.postRaw(authPolicyPath, url.Values{"required_auth_strength": {"enhanced"}, "_csrf": {admin.token()}}, nil); r.Status != http.StatusForbidden {
		t.Errorf("POST with another browser's _csrf: got %d, want 403", r.Status)
	}
	if e.settings().RequiredAuthStrength != "baseline" || len(e.eventsOf("tenant_auth_policy_updated")) != 0 {
		t.Fatal("a POST without a valid CSRF token changed the policy")
	}

	// Invalid values: 422, nothing saved, nothing logged.
	for _, v := range []url.Values{{"required_auth_strength": {"strong"}}, {"required_auth_strength": {"Enhanced"}}, {}} {
		r := super.post(authPolicyPath, v)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectAlert(t, r, msgAuthPolicyBad)
	}
	if e.settings().RequiredAuthStrength != "baseline" || len(e.eventsOf("tenant_auth_policy_updated")) != 0 {
		t.Fatal("an invalid value changed the policy")
	}

	// Save Enhanced: 303 with the notice, stored, logged with actor and old/new.
	expectStatus(t, super.get(authPolicyPath), http.StatusOK)
	before := e.clock.Now()
	r = super.post(authPolicyPath, url.Values{"required_auth_strength": {"enhanced"}})
	expectRedirect(t, r, authPolicyPath+"?notice=saved")
	if got := e.settings().RequiredAuthStrength; got != "enhanced" {
		t.Fatalf("after saving Enhanced the store says %q", got)
	}
	page := super.get(r.Location)
	expectStatus(t, page, http.StatusOK)
	expectChecked(t, page, "enhanced")
	if !strings.Contains(pageText(page.Body), msgAuthPolicySaved) {
		t.Errorf("no notice %q after saving", msgAuthPolicySaved)
	}
	if ov := pageText(super.get("/settings/security").Body); !strings.Contains(ov, "Required authentication strength: Enhanced") {
		t.Errorf("Settings > Security does not show Enhanced: %q", ov)
	}
	evs := e.eventsOf("tenant_auth_policy_updated")
	if len(evs) != 1 {
		t.Fatalf("%d tenant_auth_policy_updated events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.ActorID == nil || *ev.ActorID != sa.ID {
		t.Errorf("tenant_auth_policy_updated actor %v, want %d", ev.ActorID, sa.ID)
	}
	if ev.At.Before(before) {
		t.Errorf("tenant_auth_policy_updated at %v, before the save (%v)", ev.At, before)
	}
	if got := fmt.Sprint(dig(ev.Details, "old", "required_auth_strength"), "->", dig(ev.Details, "new", "required_auth_strength")); got != "baseline->enhanced" {
		t.Errorf("tenant_auth_policy_updated details %v, want old baseline, new enhanced", ev.Details)
	}

	// The same value again: saved, nothing logged.
	r = super.post(authPolicyPath, url.Values{"required_auth_strength": {"enhanced"}})
	expectRedirect(t, r, authPolicyPath+"?notice=saved")
	if n := len(e.eventsOf("tenant_auth_policy_updated")); n != 1 {
		t.Errorf("saving the same value logged: %d events, want 1", n)
	}

	// And back to Baseline: logged the other way round.
	r = super.post(authPolicyPath, url.Values{"required_auth_strength": {"baseline"}})
	expectRedirect(t, r, authPolicyPath+"?notice=saved")
	if e.settings().RequiredAuthStrength != "baseline" {
		t.Error("Baseline was not saved")
	}
	evs = e.eventsOf("tenant_auth_policy_updated")
	if len(evs) != 2 || dig(evs[1].Details, "old", "required_auth_strength") != "enhanced" || dig(evs[1].Details, "new", "required_auth_strength") != "baseline" {
		t.Errorf("events after saving Baseline: %s", eventSummary(evs))
	}
	expectChecked(t, super.get(authPolicyPath), "baseline")
}

// ---- sign-in under Enhanced ----

// The policy applies to new sign-ins: a session from before the switch goes on.
func TestEnhancedKeepsExistingSessions(t *testing.T) {
	e := newEnv(t)
	_, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	u, c := e.signedIn("eve@example.com", "Eve", store.RoleAdmin) // e-mail codes only
	savePolicy(t, super, "enhanced")

	for _, path := range []string{"/dashboard", "/account/security", "/users"} {
		expectStatus(t, c.get(path), http.StatusOK)
	}
	expectStatus(t, super.get(authPolicyPath), http.StatusOK)
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 0 {
		t.Errorf("%d enrollments from merely using a session", n)
	}

	// Its next sign-in, though, goes through enrollment.
	expectRedirect(t, c.post("/logout", nil), "/login?notice=signed_out")
	_ = e.toEnroll(u)
}
