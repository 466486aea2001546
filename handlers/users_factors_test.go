package handlers_test

// An admin's changes to another user's factors: revoking a passkey, resetting two-step
// verification, and the super admin rule.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

func TestRevokeUserPasskey(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann Example", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)
	lost := e.addPasskey(ann.ID, 1, "Lost laptop")
	kept := e.addPasskey(ann.ID, 2, "Phone")
	bobs := e.addPasskey(bob.ID, 3, "Bob's key")
	admin.get(userURL(ann.ID, "profile"))

	r := admin.post(userURL(ann.ID, fmt.Sprintf("passkeys/%d/revoke", lost.ID)), nil)
	expectRedirect(t, r, userURL(ann.ID, "profile?notice=passkey_revoked"))

	ps := e.passkeys(ann.ID)
	if len(ps) != 1 || ps[0].ID != kept.ID {
		t.Fatalf("passkeys after revoking one: got %+v, want only %q", ps, kept.Name)
	}
	if !e.totpOn(ann.ID) || e.backupLeft(ann.ID) != 10 {
		t.Errorf("TOTP on %v, backup codes %d after a revoke; want true, 10", e.totpOn(ann.ID), e.backupLeft(ann.ID))
	}
	ev := e.lastEvent("passkey_revoked")
	checkEvent(t, ev, "passkey_revoked", ann.ID, "")
	if ev.ActorID == nil || *ev.ActorID != adminUser.ID {
		t.Errorf("passkey_revoked actor: got %v, want the admin %d", ev.ActorID, adminUser.ID)
	}
	if ev.Details["name"] != "Lost laptop" || ev.Details["by"] != "admin" || ev.Details["passkey_id"] != float64(lost.ID) {
		t.Errorf("passkey_revoked details: got %v", ev.Details)
	}

	page := admin.get(userURL(ann.ID, "profile?notice=passkey_revoked"))
	if got := notices(page.Body); len(got) != 1 || got[0] != msgNoticePasskeyRevoked {
		t.Errorf("notices: got %q, want [%q]", got, msgNoticePasskeyRevoked)
	}
	bodyLacks(t, "profile after the revoke", page.Body, "Lost laptop")

	// Gone already, another user's passkey, no such user: 404, and nothing changes.
	for _, p := range []string{
		userURL(ann.ID, fmt.Sprintf("passkeys/%d/revoke", lost.ID)),
		userURL(ann.ID, fmt.Sprintf("passkeys/%d/revoke", bobs.ID)),
		userURL(999999, fmt.Sprintf("passkeys/%d/revoke", kept.ID)),
	} {
		expectStatus(t, admin.post(p, nil), http.StatusNotFound)
	}
	if len(e.passkeys(ann.ID)) != 1 || len(e.passkeys(bob.ID)) != 1 {
		t.Errorf("passkeys after refused revokes: Ann %d, Bob %d; want 1, 1", len(e.passkeys(ann.ID)), len(e.passkeys(bob.ID)))
	}
	if n := len(e.eventsOf("passkey_revoked")); n != 1 {
		t.Errorf("passkey_revoked events: got %d, want 1", n)
	}
}

// msgNothingToReset refuses to reset the two-step verification of a user who has none, copied
// on purpose (see harness_test.go).
const msgNothingToReset = "This user has no authenticator app and no backup codes, so there is nothing to reset. Passkeys are revoked one by one on the Profile tab."

func TestResetUserMFA(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann Example", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)
	e.addPasskey(ann.ID, 1, "Phone")
	admin.get(userURL(ann.ID, "danger"))

	r := admin.post(userURL(ann.ID, "reset-mfa"), nil)
	expectRedirect(t, r, userURL(ann.ID, "danger?notice=mfa_reset"))

	if _, ok := e.totpOf(ann.ID); ok {
		t.Error("TOTP still stored after the reset")
	}
	if n := e.backupLeft(ann.ID); n != 0 {
		t.Errorf("backup codes after the reset: got %d, want 0", n)
	}
	if n := len(e.passkeys(ann.ID)); n != 1 {
		t.Errorf("passkeys after the reset: got %d, want 1 (a reset keeps them)", n)
	}
	ev := e.lastEvent("mfa_reset_by_admin")
	checkEvent(t, ev, "mfa_reset_by_admin", ann.ID, "")
	if ev.ActorID == nil || *ev.ActorID != adminUser.ID {
		t.Errorf("mfa_reset_by_admin actor: got %v, want the admin %d", ev.ActorID, adminUser.ID)
	}
	if ev.Details["totp"] != true || ev.Details["backup_codes"] != 10.0 {
		t.Errorf("mfa_reset_by_admin details: got %v", ev.Details)
	}

	msg := e.waitSubject(ann.Email, mfaResetSubject)
	bodyHas(t, "mail", msg.Text, "Ann Example", "reset by an administrator", "admin@example.com", "If you did not ask for this, contact them.")

	page := admin.get(userURL(ann.ID, "danger?notice=mfa_reset"))
	if got := notices(page.Body); len(got) != 1 || got[0] != msgNoticeMFAReset {
		t.Errorf("notices: got %q, want [%q]", got, msgNoticeMFAReset)
	}
	if r := admin.get(userURL(ann.ID, "profile")); !strings.Contains(r.Body, `<td id="user-totp">Not set up</td>`) {
		t.Error("the profile still says TOTP is set up")
	}

	t.Run("mail fails", func(t *testing.T) {
		e.plantTOTP(ann.ID)
		e.mail.FailNext(1000)
		defer e.mail.FailNext(0)
		r := admin.post(userURL(ann.ID, "reset-mfa"), nil)
		expectRedirect(t, r, userURL(ann.ID, "danger?notice=mfa_reset_unmailed"))
		if e.totpOn(ann.ID) || e.backupLeft(ann.ID) != 0 {
			t.Error("the reset did not stand when the mail failed")
		}
		if n := len(e.eventsOf("mfa_reset_by_admin")); n != 2 {
			t.Errorf("mfa_reset_by_admin events: got %d, want 2", n)
		}
		page := admin.get(userURL(ann.ID, "danger?notice=mfa_reset_unmailed"))
		if got := notices(page.Body); len(got) != 1 || got[0] != msgNoticeMFAUnmailed {
			t.Errorf("notices: got %q, want [%q]", got, msgNoticeMFAUnmailed)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		expectStatus(t, admin.post("/users/999999/reset-mfa", nil), http.StatusNotFound)
	})

	// Nothing to reset (no TOTP, no backup codes; passkeys are not reset): refused with 409 as a
	// forced reset of a user without a password is, and nothing is logged or mailed.
	t.Run("nothing to reset", func(t *testing.T) {
		bob := e.createUser("bob@example.com", "Bob Jones", store.RoleUser, store.StatusActive)
		e.addPasskey(bob.ID, 7, "Bob's key")
		bobs := e.newClient()
		bobs.signIn(bob.Email, testPassword)
		events, mails := len(e.events()), e.mailsTo(bob.Email)
		r := admin.post(userURL(bob.ID, "reset-mfa"), nil)
		expectStatus(t, r, http.StatusConflict)
		expectAlert(t, r, msgNothingToReset)
		if !strings.Contains(r.Body, fmt.Sprintf(`href="/users/%d/profile"`, bob.ID)) {
			t.Error("the refusal has no way back to the user")
		}
		if n := len(e.events()); n != events {
			t.Errorf("a refused reset wrote %s", eventSummary(e.events()[events:]))
		}
		if n := e.mailsTo(bob.Email); n != mails {
			t.Errorf("mails to Bob after a refused reset: %d, want %d", n, mails)
		}
		if len(e.passkeys(bob.ID)) != 1 {
			t.Error("a refused reset took Bob's passkey")
		}
		expectStatus(t, bobs.get("/account/profile"), http.StatusOK) // his session stands
	})
}

// An admin sees a super admin's page but cannot change their factors or status; a super admin can.
func TestUserDetailSuperAdminRule(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	superUser, super := e.signedIn("root@example.com", "Sam Super", store.RoleSuperAdmin)
	boss := e.createUser("boss@example.com", "Bea Boss", store.RoleSuperAdmin, store.StatusActive)
	e.plantTOTP(boss.ID)
	key := e.addPasskey(boss.ID, 1, "Boss key")
	revoke := userURL(boss.ID, fmt.Sprintf("passkeys/%d/revoke", key.ID))

	// The admin: the profile shows the passkey but no Revoke; Danger explains instead of buttons.
	r := admin.get(userURL(boss.ID, "profile"))
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "admin's view of a super admin", r.Body, "Boss key", `<td id="user-totp">Set up</td>`)
	bodyLacks(t, "admin's view of a super admin", r.Body, "Revoke</summary>", revoke, `action="`+userURL(boss.ID, "role")+`"`)
	r = admin.get(userURL(boss.ID, "danger"))
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "admin's Danger tab of a super admin", r.Body, `id="danger-not-allowed"`, "Only a super admin can")
	bodyLacks(t, "admin's Danger tab of a super admin", r.Body, "<form method=\"post\" action=\"/users/", "Reset two-step verification</summary>")

	// ...and the server refuses what the page does not offer.
	expectStatus(t, admin.post(userURL(boss.ID, "reset-mfa"), nil), http.StatusForbidden)
	expectStatus(t, admin.post(revoke, nil), http.StatusForbidden)
	if !e.totpOn(boss.ID) || e.backupLeft(boss.ID) != 10 || len(e.passkeys(boss.ID)) != 1 {
		t.Fatal("an admin changed a super admin's factors")
	}
	if n := len(e.eventsOf("mfa_reset_by_admin")) + len(e.eventsOf("passkey_revoked")); n != 0 {
		t.Errorf("%d events for refused changes", n)
	}

	// A super admin may act on another super admin.
	r = super.get(userURL(boss.ID, "profile"))
	bodyHas(t, "super admin's view", r.Body, ">Revoke</summary>", revoke, `value="super_admin"`)
	r = super.get(userURL(boss.ID, "danger"))
	bodyHas(t, "super admin's Danger tab", r.Body, ">Reset two-step verification</summary>", `action="`+userURL(boss.ID, "deactivate")+`"`)
	expectRedirect(t, super.post(revoke, nil), userURL(boss.ID, "profile?notice=passkey_revoked"))
	expectRedirect(t, super.post(userURL(boss.ID, "reset-mfa"), nil), userURL(boss.ID, "danger?notice=mfa_reset"))
	if e.totpOn(boss.ID) || len(e.passkeys(boss.ID)) != 0 {
		t.Error("a super admin's reset and revoke did not take")
	}
	if ev := e.lastEvent("mfa_reset_by_admin"); ev.ActorID == nil || *ev.ActorID != superUser.ID {
		t.Errorf("mfa_reset_by_admin actor: got %v, want %d", ev.ActorID, superUser.ID)
	}
	e.waitSubject(boss.Email, mfaResetSubject)

	// A plain user may do none of it.
	_, plain := e.signedIn("plain@example.com", "Pat Plain", store.RoleUser)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	e.plantTOTP(ann.ID)
	expectStatus(t, plain.post(userURL(ann.ID, "reset-mfa"), nil), http.StatusForbidden)
	if !e.totpOn(ann.ID) {
		t.Error("a plain user reset someone's TOTP")
	}
}
