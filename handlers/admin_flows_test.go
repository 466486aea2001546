package handlers_test

// Issue 14, items 4, 7 and 8: danger confirmations that name what happens to whom, the first-run
// checklist on the super admin's dashboard, and the policy previews before a stricter rule is
// saved.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

func TestDangerConfirmationsSayWhatHappens(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann Smith", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob Jones", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)

	r := admin.get(userURL(ann.ID, "danger"))
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "Ann's Danger tab", pageText(r.Body),
		"Reset two-step verification for Ann Smith (ann@example.com)? Their authenticator app and backup codes stop working at once; passkeys stay; they get an email.")
	bodyHas(t, "Ann's Danger tab", r.Body, `<summary role="button" class="danger outline">Reset two-step verification</summary>`,
		`<button type="submit" class="danger">Yes, reset two-step verification</button>`)

	// Bob has nothing to reset: the tab says so and offers no reset.
	r = admin.get(userURL(bob.ID, "danger"))
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "Bob's Danger tab", r.Body, `id="reset-mfa-nothing"`, "nothing to reset")
	bodyLacks(t, "Bob's Danger tab", r.Body, "Reset two-step verification</summary>", `action="`+userURL(bob.ID, "reset-mfa")+`"`)
	if strings.Contains(r.Body, `class="contrast"`) {
		t.Error("a danger action is still styled as contrast")
	}
}

// Enhanced from the page's form: first who will meet enrollment, then Confirm saves; Cancel
// (leaving) saves nothing.
func TestEnhancedPreviewBeforeSaving(t *testing.T) {
	e := newEnv(t)
	sam, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	e.plantTOTP(sam.ID)
	ann := e.createUser("ann@example.com", "Ann Smith", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob Jones", store.RoleUser, store.StatusActive)
	e.addPasskey(bob.ID, 1, "Phone")
	e.createUser("gone@example.com", "Gone", store.RoleUser, store.StatusInactive)
	_ = ann

	form := url.Values{"required_auth_strength": {"enhanced"}, "review": {"yes"}}
	expectStatus(t, super.get(authPolicyPath), http.StatusOK)
	r := super.post(authPolicyPath, form)
	expectStatus(t, r, http.StatusOK)
	text := pageText(r.Body)
	bodyHas(t, "the preview", text, "1 active user has neither TOTP nor a passkey.", "Ann Smith (ann@example.com)", "Confirm: require Enhanced", "Cancel")
	bodyLacks(t, "the preview", text, "Bob Jones", "Gone", "Sam (")
	bodyHas(t, "the preview", r.Body, `name="confirm" value="yes"`, `href="/settings/security/authentication"`)
	if e.settings().RequiredAuthStrength != "baseline" || len(e.eventsOf("tenant_auth_policy_updated")) != 0 {
		t.Fatal("the preview saved the policy")
	}
	// Cancel is a link back: the page shows the form with Baseline still checked.
	expectChecked(t, super.get(authPolicyPath), "baseline")

	form.Set("confirm", "yes")
	expectRedirect(t, super.post(authPolicyPath, form), authPolicyPath+"?notice=saved")
	if e.settings().RequiredAuthStrength != "enhanced" || len(e.eventsOf("tenant_auth_policy_updated")) != 1 {
		t.Fatal("Confirm did not save Enhanced once")
	}
	// Back to Baseline needs no preview.
	expectRedirect(t, super.post(authPolicyPath, url.Values{"required_auth_strength": {"baseline"}, "review": {"yes"}}), authPolicyPath+"?notice=saved")
}

// A stricter password rule from the page's form: first how many passwords it leaves weaker.
func TestPasswordRulePreviewBeforeSaving(t *testing.T) {
	e := newEnv(t)
	super0, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	ctx := context.Background()
	for _, u := range []store.User{super0, e.createUser("a@example.com", "A", store.RoleUser, store.StatusActive)} {
		if err := e.store.SetPassword(ctx, u.ID, store.NewPassword{Hash: u.PasswordHash, MinLength: 14, MinScore: 3}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	const path = "/settings/security/passwords"
	form := url.Values{"minimum_password_length": {"16"}, "minimum_strength_score": {"3"}, "review": {"yes"}}
	expectStatus(t, super.get(path), http.StatusOK)
	r := super.post(path, form)
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "the preview", pageText(r.Body), "2 passwords are weaker than the new rule: at least 16 characters", "Confirm: save the new rule")
	bodyHas(t, "the preview", r.Body, `name="confirm" value="yes"`, `name="minimum_password_length" value="16"`)
	if e.settings().MinimumPasswordLength != 14 || len(e.eventsOf("password_policy_updated")) != 0 {
		t.Fatal("the preview saved the rule")
	}
	form.Set("confirm", "yes")
	expectRedirect(t, super.post(path, form), path+"?notice=saved")
	if e.settings().MinimumPasswordLength != 16 || len(e.eventsOf("password_policy_updated")) != 1 {
		t.Fatal("Confirm did not save the rule once")
	}
	// Lowering it again asks nothing.
	expectRedirect(t, super.post(path, url.Values{"minimum_password_length": {"14"}, "minimum_strength_score": {"3"}, "review": {"yes"}}), path+"?notice=saved")
}
