package handlers_test

// Notices by mail through the real app: a sign-in from a browser the account was not used from
// before (once per browser), each second factor added or removed, and each new password.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

const (
	newSignInSubject = "New sign-in to your weftid account"
	firefoxOnLinux   = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
)

// noticesTo are the texts of the messages to addr with that subject, once the background work is
// done.
func (e *env) noticesTo(addr, subject string) []string {
	e.t.Helper()
	e.jobs.Wait()
	var out []string
	for _, m := range e.mail.Messages() {
		if m.Subject == subject && len(m.To) == 1 && strings.EqualFold(m.To[0], addr) {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestNewBrowserNoticeOncePerBrowser: the first sign-in ever tells nothing (every browser is new
// then), a browser that signed in before tells nothing, and each new browser tells once, with
// the time, its IP and its browser.
func TestNewBrowserNoticeOncePerBrowser(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("ada@example.com", "Ada", store.RoleUser, store.StatusActive)
	first := e.newClient()
	first.signIn(u.Email, testPassword)
	expectRedirect(t, first.post("/logout", nil), "/login?notice=signed_out")
	first.signIn(u.Email, testPassword)
	if n := len(e.noticesTo(u.Email, newSignInSubject)); n != 0 {
		t.Fatalf("%d new-browser notices after sign-ins from the first browser, want 0", n)
	}

	second := e.newClient()
	second.ua = firefoxOnLinux
	second.signIn(u.Email, testPassword)
	got := e.noticesTo(u.Email, newSignInSubject)
	if len(got) != 1 {
		t.Fatalf("%d notices after a new browser's sign-in, want 1", len(got))
	}
	bodyHas(t, "new-browser notice", got[0], "IP address: "+second.ip, "Browser: Firefox on Linux",
		"Time: "+e.clock.Now().Format("Monday 2 January 2006, 15:04 UTC"), "If it was not", baseURL+"/account/security")

	// The same browser again: nothing. Another new one: one more.
	expectRedirect(t, second.post("/logout", nil), "/login?notice=signed_out")
	second.signIn(u.Email, testPassword)
	if n := len(e.noticesTo(u.Email, newSignInSubject)); n != 1 {
		t.Errorf("%d notices after the second browser signed in again, want still 1", n)
	}
	e.clock.Advance(5 * time.Minute) // past the limit of code mails
	e.newClient().signIn(u.Email, testPassword)
	if n := len(e.noticesTo(u.Email, newSignInSubject)); n != 2 {
		t.Errorf("%d notices after a third browser, want 2", n)
	}
}

// TestFactorAndPasswordNotices: TOTP set up, backup codes renewed, TOTP removed, a passkey
// registered and deleted by the user or revoked by an admin, and the password changed: each is
// mailed to the user once, saying from where (and, for an admin, who).
func TestFactorAndPasswordNotices(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ada@example.com", "Ada", store.RoleUser)
	_, admin := e.signedIn("admin@example.com", "Grace", store.RoleAdmin)
	c.ua = firefoxOnLinux

	setUpTOTP(t, e, c)
	expectStatus(t, c.post("/account/security/backup-codes", nil), http.StatusOK)
	expectRedirect(t, c.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security?notice=totp_removed")
	registerSoftKey(t, c, "Laptop")
	registerSoftKey(t, c, "Phone")
	keys := e.passkeys(u.ID)
	expectRedirect(t, c.post("/account/passkeys/"+itoa(keys[0].ID)+"/delete", nil), "/account/security?notice=passkey_deleted")

	for subject, says := range map[string]string{
		"An authenticator app was set up for your weftid account":    "Browser: Firefox on Linux",
		"New backup codes for your weftid account":                   "IP address: " + c.ip,
		"The authenticator app was removed from your weftid account": "Browser: Firefox on Linux",
	} {
		if got := e.noticesTo(u.Email, subject); len(got) != 1 || !strings.Contains(got[0], says) {
			t.Errorf("notices %q: %q, want one that says %q", subject, got, says)
		}
	}

	// A new password, on Account > Password.
	next := "a new and rather long passphrase 4 ada"
	expectRedirect(t, c.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {next}, "confirm_password": {next}}),
		"/account/password?notice=changed")
	got := e.noticesTo(u.Email, "Your weftid password was changed")
	if len(got) != 1 {
		t.Fatalf("%d password notices, want 1", len(got))
	}
	bodyHas(t, "password notice", got[0], "IP address: "+c.ip, "Browser: Firefox on Linux", baseURL+"/password/forgot")

	// An admin revokes the other one (which signs the user out).
	expectRedirect(t, admin.post(userURL(u.ID, "passkeys/"+itoa(keys[1].ID)+"/revoke"), nil), userURL(u.ID, "profile?notice=passkey_revoked"))
	if got := e.noticesTo(u.Email, "A passkey was added to your weftid account"); len(got) != 2 || !strings.Contains(got[0]+got[1], "“Laptop”") {
		t.Errorf("notices of passkeys added: %q, want 2, one of Laptop", got)
	}
	removed := e.noticesTo(u.Email, "A passkey was removed from your weftid account")
	if len(removed) != 2 {
		t.Fatalf("%d notices of passkeys removed, want 2", len(removed))
	}
	byAdmin := strings.Join(removed, "\n")
	bodyHas(t, "passkey removal notices", byAdmin, "“Laptop”", "“Phone”", "An administrator did it: Grace (admin@example.com)", "IP address: "+admin.ip)
}

// TestForcedResetNotice: the new password a forced reset chose is told once the sign-in that
// stores it is finished, not when it is chosen.
func TestForcedResetNotice(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("user@example.com", "User", store.RoleUser, store.StatusActive)
	if err := e.store.RequirePasswordReset(t.Context(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
	expectRedirect(t, resetPassword(c, newPassword, newPassword), "/login/verify")
	code := e.waitCode(u.Email)
	if n := len(e.noticesTo(u.Email, "Your weftid password was changed")); n != 0 {
		t.Fatalf("%d password notices before the second factor, want 0", n)
	}
	expectRedirect(t, c.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), "/dashboard")
	if got := e.noticesTo(u.Email, "Your weftid password was changed"); len(got) != 1 || !strings.Contains(got[0], "IP address: "+c.ip) {
		t.Errorf("password notices after the sign-in: %q, want one from %s", got, c.ip)
	}
}
