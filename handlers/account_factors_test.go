package handlers_test

// Account > Security: backup codes, removing TOTP, renaming and deleting passkeys.

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

func TestRegenerateBackupCodes(t *testing.T) {
	e := newEnv(t)
	u, acct, _, old := e.totpUser("reg@example.com", "Reg")
	c, r := e.verifyWith(u.Email, "backup", old[0])
	expectSignedInWith(t, e, c, r, u.ID, "password+backup_code")
	if !strings.Contains(acct.get("/account/security").Body, "9 of 10 backup codes left.") {
		t.Error("security page does not show 9 of 10 backup codes left")
	}

	r = acct.post("/account/security/backup-codes", nil)
	expectStatus(t, r, http.StatusOK)
	fresh := backupCodesOf(t, r)
	if len(fresh) != 10 {
		t.Fatalf("%d new codes, want 10", len(fresh))
	}
	for _, code := range fresh {
		if !backupCodeForm.MatchString(code) {
			t.Errorf("new code %q is not XXXX-XXXX", code)
		}
		if slices.Contains(old, code) {
			t.Errorf("new set repeats old code %q", code)
		}
	}
	checkEvent(t, e.lastEvent("mfa_backup_codes_regenerated"), "mfa_backup_codes_regenerated", u.ID, "")
	if !strings.Contains(acct.get("/account/security").Body, "10 of 10 backup codes left.") {
		t.Error("security page does not show 10 of 10 after regenerating")
	}

	// An old code that was never used stops working; a new one works.
	c, r = e.verifyWith(u.Email, "backup", old[5])
	expectOTPRefused(t, e, c, r, u.ID, "", "backup_code")
	c, r = e.verifyWith(u.Email, "backup", fresh[5])
	expectSignedInWith(t, e, c, r, u.ID, "password+backup_code")
	if n := e.backupLeft(u.ID); n != 9 {
		t.Errorf("%d codes left, want 9", n)
	}

	// Without TOTP there is nothing to regenerate.
	nu, nc := e.signedIn("nobody@example.com", "No TOTP", store.RoleUser)
	r = nc.post("/account/security/backup-codes", nil)
	expectStatus(t, r, http.StatusConflict)
	expectAlert(t, r, msgCodesNeedTOTP)
	if n := e.backupLeft(nu.ID); n != 0 {
		t.Errorf("user without TOTP got %d backup codes", n)
	}
	// Nor with a setup that is only pending.
	beginTOTP(t, nc)
	expectStatus(t, nc.post("/account/security/backup-codes", nil), http.StatusConflict)
	if n := e.backupLeft(nu.ID); n != 0 {
		t.Errorf("user with a pending setup got %d backup codes", n)
	}
	if n := len(e.eventsOf("mfa_backup_codes_regenerated")); n != 1 {
		t.Errorf("%d mfa_backup_codes_regenerated events, want 1", n)
	}
}

func TestRemoveTOTP(t *testing.T) {
	t.Run("with the password", func(t *testing.T) {
		e := newEnv(t)
		u, acct, _, codes := e.totpUser("rob@example.com", "Rob")

		for _, form := range []url.Values{
			{"password": {"not my password"}},
			{},
			{"password": {""}, "code": {""}},
			{"password": {testPassword + strings.Repeat("x", 1024)}}, // over the input limit: never hashed
		} {
			r := acct.post("/account/security/totp/remove", form)
			expectStatus(t, r, http.StatusUnprocessableEntity)
			expectAlert(t, r, msgRemoveRefused)
			if !e.totpOn(u.ID) {
				t.Fatalf("TOTP turned off by %v", form)
			}
		}
		if n := len(e.eventsOf("mfa_totp_removed")); n != 0 {
			t.Errorf("%d mfa_totp_removed events after refusals", n)
		}

		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security?notice=totp_removed")
		checkEvent(t, e.lastEvent("mfa_totp_removed"), "mfa_totp_removed", u.ID, "")
		if _, ok := e.totpOf(u.ID); ok {
			t.Error("the TOTP row is still there")
		}
		if n := e.backupLeft(u.ID); n != 0 {
			t.Errorf("%d backup codes left after removing TOTP, want 0", n)
		}
		r := acct.get("/account/security?notice=totp_removed")
		if !strings.Contains(r.Body, msgTOTPRemoved) || !strings.Contains(r.Body, "Set up TOTP") {
			t.Error("security page after removal lacks the notice or the setup button")
		}

		// The next sign-in uses the e-mail code again; backup codes are no longer a way in.
		mails := e.codeMailsTo(u.Email)
		c := e.newClient()
		c.startSignIn(u.Email, testPassword)
		code := e.waitCode(u.Email)
		if got := e.codeMailsTo(u.Email); got != mails+1 {
			t.Errorf("%d mails at sign-in after removal, want 1", got-mails)
		}
		r = c.post("/login/verify", url.Values{"method": {"backup"}, "code": {codes[0]}})
		expectCodeRefusedAt(t, e, c, r, msgCodeFailure, u.ID, "method_not_allowed", "backup_code")
		expectSignedInWith(t, e, c, postCode(c, code), u.ID, "password+email_code")

		// Removing again: nothing to remove.
		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security")
		if n := len(e.eventsOf("mfa_totp_removed")); n != 1 {
			t.Errorf("%d mfa_totp_removed events, want 1", n)
		}
	})

	t.Run("with a current code", func(t *testing.T) {
		e := newEnv(t)
		u, acct, secret, _ := e.totpUser("rob@example.com", "Rob")
		// The code that turned TOTP on was used: replaying it is refused.
		r := acct.post("/account/security/totp/remove", url.Values{"code": {e.totpAt(secret, 0)}})
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectAlert(t, r, msgRemoveRefused)
		// So is a code two steps away, and a wrong one.
		e.clock.Advance(auth.TOTPPeriod)
		for _, bad := range []string{e.totpAt(secret, 2), e.wrongTOTP(secret), "abc"} {
			expectStatus(t, acct.post("/account/security/totp/remove", url.Values{"code": {bad}}), http.StatusUnprocessableEntity)
		}
		if !e.totpOn(u.ID) {
			t.Fatal("TOTP turned off by a refused code")
		}
		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"code": {e.totpAt(secret, 0)}}), "/account/security?notice=totp_removed")
		checkEvent(t, e.lastEvent("mfa_totp_removed"), "mfa_totp_removed", u.ID, "")
		if e.totpOn(u.ID) || e.backupLeft(u.ID) != 0 {
			t.Error("TOTP or backup codes left after removal with a code")
		}
	})

	t.Run("a code used at sign-in cannot remove it", func(t *testing.T) {
		e := newEnv(t)
		u, acct, secret, _ := e.totpUser("rob@example.com", "Rob")
		e.clock.Advance(auth.TOTPPeriod)
		code := e.totpAt(secret, 0)
		c, r := e.verifyWith(u.Email, "totp", code)
		expectSignedInWith(t, e, c, r, u.ID, "password+totp")
		expectStatus(t, acct.post("/account/security/totp/remove", url.Values{"code": {code}}), http.StatusUnprocessableEntity)
		if !e.totpOn(u.ID) {
			t.Error("a replayed code removed TOTP")
		}
	})

	t.Run("guesses are throttled", func(t *testing.T) {
		e := newEnv(t)
		u, acct, _, _ := e.totpUser("rob@example.com", "Rob")
		for i := range throttle.PasswordPerAccount.Max() {
			if r := acct.post("/account/security/totp/remove", url.Values{"password": {fmt.Sprint("guess ", i)}}); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d: status %d, want 422", i+1, r.Status)
			}
		}
		r := acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}})
		expectStatus(t, r, http.StatusTooManyRequests)
		expectAlert(t, r, msgThrottled)
		if !e.totpOn(u.ID) {
			t.Error("TOTP removed while throttled")
		}
	})
}

func TestPasskeyRenameDelete(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	other, oc := e.signedIn("oz@example.com", "Oz", store.RoleUser)
	p := e.addPasskey(u.ID, 1, "Laptop")
	op := e.addPasskey(other.ID, 2, "Oz's key")
	path := func(p store.Passkey, action string) string {
		return fmt.Sprintf("/account/passkeys/%d/%s", p.ID, action)
	}

	expectStatus(t, c.get("/account/security"), http.StatusOK)
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {"  Work laptop  "}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != "Work laptop" {
		t.Errorf("name after rename %q, want %q", got, "Work laptop")
	}
	ev := e.lastEvent("passkey_renamed")
	checkEvent(t, ev, "passkey_renamed", u.ID, "")
	if ev.Details["name"] != "Work laptop" {
		t.Errorf("passkey_renamed name %v", ev.Details["name"])
	}
	// Empty names become "Passkey"; long ones are cut at 100 characters.
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {"   "}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != "Passkey" {
		t.Errorf("blank rename gave %q, want Passkey", got)
	}
	long := strings.Repeat("é", 150)
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {long}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != strings.Repeat("é", 100) {
		t.Errorf("long rename kept %d characters, want 100", len([]rune(got)))
	}

	// Someone else's passkey, or none: 404 and nothing changes.
	renamed := len(e.eventsOf("passkey_renamed"))
	for _, target := range []string{path(op, "rename"), "/account/passkeys/9999/rename", "/account/passkeys/abc/rename"} {
		expectStatus(t, c.post(target, url.Values{"name": {"Mine now"}}), http.StatusNotFound)
	}
	for _, target := range []string{path(op, "delete"), "/account/passkeys/9999/delete", "/account/passkeys/abc/delete"} {
		expectStatus(t, c.post(target, nil), http.StatusNotFound)
	}
	if ps := e.passkeys(other.ID); len(ps) != 1 || ps[0].Name != "Oz's key" {
		t.Errorf("other user's passkeys after refused calls: %+v", ps)
	}
	if n := len(e.eventsOf("passkey_renamed")); n != renamed {
		t.Errorf("refused renames logged %d events", n-renamed)
	}
	if n := len(e.eventsOf("passkey_revoked")); n != 0 {
		t.Errorf("refused deletes logged %d events", n)
	}

	// Delete by the owner.
	expectRedirect(t, c.post(path(p, "delete"), nil), "/account/security?notice=passkey_deleted")
	if ps := e.passkeys(u.ID); len(ps) != 0 {
		t.Errorf("passkeys after delete: %+v", ps)
	}
	ev = e.lastEvent("passkey_revoked")
	checkEvent(t, ev, "passkey_revoked", u.ID, "")
	if ev.Details["name"] != strings.Repeat("é", 100) {
		t.Errorf("passkey_revoked name %v", ev.Details["name"])
	}
	expectStatus(t, c.post(path(p, "delete"), nil), http.StatusNotFound)
	if !strings.Contains(c.get("/account/security?notice=passkey_deleted").Body, "The passkey was deleted.") {
		t.Error("no notice after delete")
	}
	// The other user may still manage theirs.
	expectStatus(t, oc.get("/account/security"), http.StatusOK)
	expectRedirect(t, oc.post(path(op, "delete"), nil), "/account/security?notice=passkey_deleted")
}
