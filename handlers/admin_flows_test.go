package handlers_test

// Issue 14, items 4, 7 and 8: danger confirmations that name what happens to whom, the first-run
// checklist on the super admin's dashboard, and the policy previews before a stricter rule is
// saved.

import (
	"net/http"
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
