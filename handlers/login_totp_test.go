package handlers_test

// The second-factor step with TOTP and backup codes (second_factors_test.go sets them up).

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

func TestTOTPSignIn(t *testing.T) {
	e := newEnv(t)
	u, _, secret, _ := e.totpUser("tom@example.com", "Tom")
	mails := e.codeMailsTo(u.Email)

	// The password step sends no mail and leads to the TOTP form.
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	page := c.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{"Two-step verification", `name="method" value="totp"`, `name="method" value="backup"`, "Use a backup code"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("verify page of a TOTP user lacks %q", want)
		}
	}
	for _, unwanted := range []string{`value="email"`, "/login/verify/resend", "Check your email", "Use a passkey instead"} {
		if strings.Contains(page.Body, unwanted) {
			t.Errorf("verify page of a TOTP user (no passkey) shows %q", unwanted)
		}
	}
	if n := len(e.eventsOf("email_code_sent")); n != 1 {
		t.Errorf("%d email_code_sent events, want 1 (the sign-in before TOTP was on)", n)
	}

	// The code that confirmed the setup, in the same step: a replay.
	r := c.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
	expectOTPRefused(t, e, c, r, u.ID, "wrong_code", "totp")

	// Next step: accepted, once.
	e.clock.Advance(auth.TOTPPeriod)
	code := e.totpAt(secret, 0)
	r = c.post("/login/verify", url.Values{"method": {"totp"}, "code": {code}})
	expectSignedInWith(t, e, c, r, u.ID, "password+totp")
	c2, r := e.verifyWith(u.Email, "totp", code)
	expectOTPRefused(t, e, c2, r, u.ID, "wrong_code", "totp")

	// Clock drift: the previous and the next step's codes, each newer than the last used.
	e.clock.Advance(2 * auth.TOTPPeriod)
	c3, r := e.verifyWith(u.Email, "totp", e.totpAt(secret, -1))
	expectSignedInWith(t, e, c3, r, u.ID, "password+totp")
	c4, r := e.verifyWith(u.Email, "totp", e.totpAt(secret, +1))
	expectSignedInWith(t, e, c4, r, u.ID, "password+totp")
	// Now the current step is older than the last used one.
	c5, r := e.verifyWith(u.Email, "totp", e.totpAt(secret, 0))
	expectOTPRefused(t, e, c5, r, u.ID, "wrong_code", "totp")

	// Two steps off either way: refused; the current code still works after them.
	e.clock.Advance(10 * auth.TOTPPeriod)
	c6 := e.newClient()
	c6.startSignIn(u.Email, testPassword)
	for _, off := range []int64{-2, 2, -3, 3} {
		r := c6.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, off)}})
		expectOTPRefused(t, e, c6, r, u.ID, "wrong_code", "totp")
	}
	r = c6.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
	expectSignedInWith(t, e, c6, r, u.ID, "password+totp")

	if got := e.codeMailsTo(u.Email); got != mails {
		t.Errorf("%d mails to a TOTP user during sign-ins, want none", got-mails)
	}
	if n := len(e.eventsOf("email_code_sent")); n != 1 {
		t.Errorf("%d email_code_sent events, want still 1", n)
	}
}

func TestTOTPSignInMethods(t *testing.T) {
	e := newEnv(t)
	u, _, secret, codes := e.totpUser("tom@example.com", "Tom")
	mails := e.codeMailsTo(u.Email)
	e.clock.Advance(auth.TOTPPeriod)

	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	// An e-mail code (there is none to have) and the passkey method (no passkey, and never by
	// form) are refused as methods this sign-in does not allow.
	r := c.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
	expectOTPRefused(t, e, c, r, u.ID, "method_not_allowed", "email_code")
	r = c.post("/login/verify", url.Values{"method": {"passkey"}, "code": {e.totpAt(secret, 0)}})
	expectOTPRefused(t, e, c, r, u.ID, "method_not_allowed", "passkey")
	r = c.post("/login/verify", url.Values{"method": {"sms"}, "code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusUnauthorized)
	expectAlert(t, r, msgOTPFailure)
	checkEvent(t, e.lastEvent("login_failed"), "login_failed", u.ID, "method_not_allowed")

	// Resend mails nothing and goes back to the form.
	expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify")
	if got := e.codeMailsTo(u.Email); got != mails {
		t.Errorf("resend for a TOTP user sent %d mails, want none", got-mails)
	}

	// No method field: a TOTP user's code is taken as TOTP.
	r = c.post("/login/verify", url.Values{"code": {e.totpAt(secret, 0)}})
	expectSignedInWith(t, e, c, r, u.ID, "password+totp")

	// A malformed backup code is a wrong code.
	c2, r := e.verifyWith(u.Email, "backup", "12")
	expectOTPRefused(t, e, c2, r, u.ID, "wrong_code", "backup_code")
	// A TOTP code in the backup form is not a backup code.
	e.clock.Advance(auth.TOTPPeriod)
	r = c2.post("/login/verify", url.Values{"method": {"backup"}, "code": {e.totpAt(secret, 0)}})
	expectOTPRefused(t, e, c2, r, u.ID, "wrong_code", "backup_code")
	// A backup code in the TOTP form is not a TOTP code.
	r = c2.post("/login/verify", url.Values{"method": {"totp"}, "code": {codes[0]}})
	expectOTPRefused(t, e, c2, r, u.ID, "wrong_code", "totp")
	if n := e.backupLeft(u.ID); n != 10 {
		t.Errorf("backup codes left %d, want 10 (none was used)", n)
	}
}

func TestPendingTOTPSignsInWithEmail(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("pia@example.com", "Pia", store.RoleUser)
	secret, _ := beginTOTP(t, c) // never confirmed
	e.clock.Advance(auth.TOTPPeriod)

	b := e.newClient()
	b.startSignIn(u.Email, testPassword)
	code := e.waitCode(u.Email)
	page := b.get("/login/verify")
	if !strings.Contains(page.Body, `value="email"`) || strings.Contains(page.Body, `value="totp"`) {
		t.Error("a user whose TOTP setup is pending is not asked for the e-mail code alone")
	}
	r := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
	expectCodeRefusedAt(t, e, b, r, msgCodeFailure, u.ID, "method_not_allowed", "totp")
	r = b.post("/login/verify", url.Values{"method": {"email"}, "code": {code}})
	expectSignedInWith(t, e, b, r, u.ID, "password+email_code")
}

// ---- backup codes ----

func TestBackupCodeSignIn(t *testing.T) {
	e := newEnv(t)
	u, acct, _, codes := e.totpUser("bea@example.com", "Bea")

	// Lower case without the dash, lower case with it, upper case with spaces.
	forms := []string{
		strings.ToLower(strings.ReplaceAll(codes[0], "-", "")),
		strings.ToLower(codes[1]),
		" " + strings.ReplaceAll(codes[2], "-", " ") + " ",
	}
	for i, typed := range forms {
		c, r := e.verifyWith(u.Email, "backup", typed)
		expectSignedInWith(t, e, c, r, u.ID, "password+backup_code")
		if got, want := e.backupLeft(u.ID), 9-i; got != want {
			t.Errorf("after using %q: %d codes left, want %d", typed, got, want)
		}
	}
	// Each works once, whatever the spelling. (The store keeps no used codes, so the event may
	// call a reused code reused or wrong; TestWrongBackupCodeReason covers the other direction.)
	for _, reused := range []string{codes[0], strings.ToLower(codes[1]), strings.ReplaceAll(codes[2], "-", "")} {
		c, r := e.verifyWith(u.Email, "backup", reused)
		expectOTPRefused(t, e, c, r, u.ID, "", "backup_code")
		if reason := e.lastEvent("login_failed").Details["reason"]; reason != "reused" && reason != "wrong_code" {
			t.Errorf("reused backup code logged as %v", reason)
		}
	}
	if !strings.Contains(acct.get("/account/security").Body, "7 of 10 backup codes left.") {
		t.Error("security page does not show 7 of 10 backup codes left")
	}

	// Another user's code does nothing for this one.
	other, _, _, otherCodes := e.totpUser("oli@example.com", "Oli")
	c, r := e.verifyWith(u.Email, "backup", otherCodes[0])
	expectOTPRefused(t, e, c, r, u.ID, "", "backup_code")
	if n := e.backupLeft(other.ID); n != 10 {
		t.Errorf("the other user's codes: %d left, want 10", n)
	}
}

// TestWrongBackupCodeReason: a backup code that was never issued is logged as a wrong code. An
// admin reading the event log must be able to tell someone guessing from someone reusing a code.
func TestWrongBackupCodeReason(t *testing.T) {
	e := newEnv(t)
	u, _, _, _ := e.totpUser("bea@example.com", "Bea")
	c, r := e.verifyWith(u.Email, "backup", "ZZZZ-ZZZZ")
	expectOTPRefused(t, e, c, r, u.ID, "wrong_code", "backup_code")
}

func TestTOTPThrottle(t *testing.T) {
	e := newEnv(t)
	u, _, secret, codes := e.totpUser("tho@example.com", "Tho")
	e.clock.Advance(auth.TOTPPeriod)
	right := e.totpAt(secret, 0)

	// 10 wrong codes over two sign-ins from two browsers.
	half := throttle.CodePerUser.Max() / 2
	for _, n := range []int{half, throttle.CodePerUser.Max() - half} {
		c := e.newClient()
		c.startSignIn(u.Email, testPassword)
		for range n {
			r := c.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.wrongTOTP(secret)}})
			expectOTPRefused(t, e, c, r, u.ID, "wrong_code", "totp")
		}
	}
	// Now even the right code, or a backup code, from a new browser is refused.
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	for _, try := range []url.Values{
		{"method": {"totp"}, "code": {right}},
		{"method": {"backup"}, "code": {codes[0]}},
	} {
		r := c.post("/login/verify", try)
		expectStatus(t, r, http.StatusTooManyRequests)
		expectAlert(t, r, msgThrottled)
		checkEvent(t, e.lastEvent("login_failed"), "login_failed", u.ID, "throttled")
	}
	if c.cookieValue("weftid_session") != "" {
		t.Error("a throttled code gave a session")
	}
	if n := e.backupLeft(u.ID); n != 10 {
		t.Errorf("a throttled backup code was used up: %d left", n)
	}
	if row, _ := e.totpOf(u.ID); row.LastStep >= auth.TOTPStep(e.clock.Now()) {
		t.Error("a throttled TOTP code was used up")
	}

	// After the window the right code works again.
	e.clock.Advance(throttle.CodePerUser.Window())
	c2, r := e.verifyWith(u.Email, "totp", e.totpAt(secret, 0))
	expectSignedInWith(t, e, c2, r, u.ID, "password+totp")
}

// ---- removing TOTP ----

// TestSecondFactorSuccessRestartsCount: as at sign-in (TestSignInSuccessResetsAccountCounter),
// the account's count of wrong guesses restarts when the owner proves themselves. Turning TOTP on
// with a right code, or removing it with the right password, is such a proof: the wrong codes
// or passwords typed before it must not leave the next sign-in one typo from the throttle.
func TestSecondFactorSuccessRestartsCount(t *testing.T) {
	t.Run("TOTP setup", func(t *testing.T) {
		e := newEnv(t)
		u, c := e.signedIn("ria@example.com", "Ria", store.RoleUser)
		secret, _ := beginTOTP(t, c)
		right := e.totpAt(secret, 0)
		for range throttle.CodePerUser.Max() - 1 {
			expectStatus(t, c.post("/account/security/totp", url.Values{"code": {e.wrongTOTP(secret)}}), http.StatusUnprocessableEntity)
		}
		expectStatus(t, c.post("/account/security/totp", url.Values{"code": {right}}), http.StatusOK)

		e.clock.Advance(auth.TOTPPeriod)
		b := e.newClient()
		b.startSignIn(u.Email, testPassword)
		r := b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.wrongTOTP(secret)}})
		expectOTPRefused(t, e, b, r, u.ID, "wrong_code", "totp")
		r = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
		expectSignedInWith(t, e, b, r, u.ID, "password+totp")
	})

	t.Run("TOTP removal", func(t *testing.T) {
		e := newEnv(t)
		u, c, _, _ := e.totpUser("ria@example.com", "Ria")
		for i := range throttle.PasswordPerAccount.Max() - 1 {
			expectStatus(t, c.post("/account/security/totp/remove", url.Values{"password": {fmt.Sprint("typo ", i)}}), http.StatusUnprocessableEntity)
		}
		expectRedirect(t, c.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security?notice=totp_removed")

		b := e.newClient()
		expectStatus(t, b.get("/login"), http.StatusOK)
		expectStatus(t, b.post("/login", url.Values{"email": {u.Email}, "password": {"one typo"}}), http.StatusUnauthorized)
		expectRedirect(t, b.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/verify")
	})
}
