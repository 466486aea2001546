package handlers_test

// Sign-in under the Enhanced policy: which second factors count, no way around enrollment,
// leaving and resuming it, and going back to Baseline.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// A user who had TOTP or a passkey before Enhanced signs in as before; an e-mail code posted by
// them is refused.
func TestEnhancedUsersWithSecondFactors(t *testing.T) {
	e := newEnv(t)
	tu, _, secret, _ := e.totpUser("tom@example.com", "Tom")
	pu, pc := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	k := registerSoftKey(t, pc, "Phone")
	e.setStrength("enhanced")
	e.clock.Advance(auth.TOTPPeriod)

	t.Run("TOTP", func(t *testing.T) {
		mails := e.codeMailsTo(tu.Email)
		c := e.newClient()
		c.startSignIn(tu.Email, testPassword)
		r := c.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
		expectCodeRefusedAt(t, e, c, r, msgOTPFailure, tu.ID, "method_not_allowed", "email_code")
		expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify")
		r = c.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
		expectSignedInWith(t, e, c, r, tu.ID, "password+totp")
		if e.codeMailsTo(tu.Email) != mails {
			t.Error("a TOTP user was mailed a code under Enhanced")
		}
	})
	t.Run("passkey", func(t *testing.T) {
		mails := e.codeMailsTo(pu.Email)
		c := e.newClient()
		c.startSignIn(pu.Email, testPassword)
		r := c.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
		expectCodeRefused(t, e, c, r, msgCodeFailure, pu.ID, "method_not_allowed")
		k.count = 1
		expectPasskeySignedIn(t, e, c, passkeyLoginAt(t, c, beginSecondFactor, k.get), pu.ID, "password+passkey")
		if e.codeMailsTo(pu.Email) != mails {
			t.Error("a passkey user was mailed a code under Enhanced")
		}
	})
	t.Run("a code sent under Baseline, posted under Enhanced", func(t *testing.T) {
		e.setStrength("baseline")
		c := e.newClient()
		c.startSignIn(pu.Email, testPassword) // Baseline: the passkey user is mailed a code
		code := e.waitCode(pu.Email)
		e.setStrength("enhanced")
		r := postCode(c, code)
		expectCodeRefused(t, e, c, r, msgCodeFailure, pu.ID, "method_not_allowed")
	})
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 0 {
		t.Errorf("%d enrollments for users who had a second factor", n)
	}
}

// Nothing at the enrollment step yields a session without enrolling.
func TestEnhancedNoBypass(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("bo@example.com", "Bo", store.RoleAdmin, store.StatusActive)
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	code := e.waitCode(u.Email)
	expectRedirect(t, postCode(c, code), "/login/enroll")
	expectStatus(t, c.get("/login/enroll"), http.StatusOK)
	mails := e.codeMailsTo(u.Email)

	check := func(when string) {
		t.Helper()
		noSession(t, c, when)
		if n := e.signedInEvents(u.ID); n != 0 {
			t.Fatalf("%s: user_signed_in logged without enrollment", when)
		}
		expectRedirect(t, c.get("/dashboard"), "/login/enroll")
	}

	// The second-factor step again, with every method.
	for _, form := range []url.Values{
		{"method": {"email"}, "code": {code}},
		{"method": {"email"}, "code": {"000000"}},
		{"method": {"totp"}, "code": {"123456"}},
		{"method": {"backup"}, "code": {"ABCD-EFGH"}},
		{"method": {"passkey"}},
		{"code": {code}},
	} {
		expectRedirect(t, c.post("/login/verify", form), "/login/enroll")
		check("POST /login/verify " + form.Encode())
	}
	// A new code.
	expectRedirect(t, c.post("/login/verify/resend", nil), "/login/enroll")
	if e.codeMailsTo(u.Email) != mails {
		t.Error("a code was mailed at the enrollment step")
	}
	check("resend")
	// The passkey as second factor: the user has none.
	expectJSONError(t, c.postJSON(beginSecondFactor, "{}"), http.StatusBadRequest, msgNoPasskey)
	check("passkey begin for the second factor")
	// A whole passkey sign-in with a made-up assertion.
	expectStatus(t, c.postJSON(beginWhole, "{}"), http.StatusOK)
	r := c.postJSON("/login/passkey/finish", `{"id":"eA","rawId":"eA","type":"public-key","response":{}}`)
	if r.Status != http.StatusUnauthorized {
		t.Errorf("a made-up assertion: got %d, want 401", r.Status)
	}
	check("a made-up passkey assertion")
	// Enroll endpoints out of order: a TOTP code with no setup begun, a passkey finish with no
	// ceremony begun.
	r = c.post("/login/enroll/totp", url.Values{"code": {"123456"}})
	if r.Status == http.StatusOK {
		t.Errorf("a TOTP code with no setup begun: %s", r)
	}
	check("TOTP code without a setup")
	r = c.postJSON("/login/enroll/passkey/finish", newSoftKey(t).create(map[string]any{"publicKey": map[string]any{"challenge": "AAAA", "user": map[string]any{"id": "AAAA"}}}))
	if r.Status == http.StatusOK {
		t.Errorf("a passkey finish with no ceremony begun: %s", r)
	}
	check("passkey finish without begin")
	// The enrollment posts carry CSRF like every other.
	if r := c.postRaw("/login/enroll/totp", url.Values{"code": {"123456"}}, nil); r.Status != http.StatusForbidden {
		t.Errorf("POST /login/enroll/totp without _csrf: got %d, want 403", r.Status)
	}
	if r := c.do(http.MethodPost, "/login/enroll/passkey/begin", strings.NewReader("{}"), http.Header{"Content-Type": {"application/json"}}); r.Status != http.StatusForbidden {
		t.Errorf("POST /login/enroll/passkey/begin without X-CSRF-Token: got %d, want 403", r.Status)
	}
	// The account's own pages for second factors are closed.
	expectRedirect(t, c.post("/account/security/totp/setup", nil), "/login/enroll")
	if r := c.postJSON("/account/passkeys/begin", "{}"); r.Status != http.StatusSeeOther || r.Location != "/login/enroll" {
		t.Errorf("/account/passkeys/begin at the enrollment step: %s", r)
	}
	check("account pages")
	// Another sign-in from the start: password and a new code, and enrollment again.
	expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/verify")
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/login/enroll")
	check("a second sign-in")
	// Enrollment does not replace the e-mail code: after the password alone it is not open.
	early := e.newClient()
	early.startSignIn(u.Email, testPassword)
	e.waitCode(u.Email)
	expectRedirect(t, early.get("/login/enroll"), "/login/verify")
	expectRedirect(t, early.get("/login/enroll?path=passkey"), "/login/verify")
	expectRedirect(t, early.get("/login/enroll/totp"), "/login/verify")
	expectRedirect(t, early.post("/login/enroll/totp", url.Values{"code": {"123456"}}), "/login/verify")
	if r := early.postJSON("/login/enroll/passkey/begin", "{}"); r.Status != http.StatusBadRequest {
		t.Errorf("passkey enrollment begun after the password alone: %s", r)
	}
	if _, pending := e.totpOf(u.ID); pending {
		t.Error("a TOTP secret was made for a sign-in that has not given its e-mail code")
	}
	expectRedirect(t, early.get("/dashboard"), "/login")
	noSession(t, early, "enrollment before the code")
	// A query string or a header does not change the policy for one sign-in.
	for _, path := range []string{"/login/enroll?skip=1", "/login/enroll?policy=baseline", "/dashboard?baseline=1"} {
		r := c.get(path)
		if r.Status == http.StatusSeeOther && r.Location != "/login/enroll" {
			t.Errorf("GET %s: %s", path, r)
		}
	}
	check("query strings")
}

// Leaving the enrollment step and coming back resumes it; "Cancel and sign out" ends it.
func TestEnhancedLeaveResumeAndCancel(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("lea@example.com", "Lea", store.RoleUser, store.StatusActive)
	c := e.toEnroll(u)
	secret, _ := enrollTOTPPage(t, c, nil)

	// Away for a while, and back: the same step, the same pending key.
	e.clock.Advance(5 * time.Minute)
	expectRedirect(t, c.get("/login"), "/login/enroll")
	expectRedirect(t, c.get("/dashboard"), "/login/enroll")
	expectStatus(t, c.get("/login/enroll"), http.StatusOK)
	if again, _ := enrollTOTPPage(t, c, nil); again != secret {
		t.Error("coming back made a new TOTP key")
	}

	// Cancel and sign out: the form on the page, then /login shows the form.
	page := c.get("/login/enroll")
	expectStatus(t, page, http.StatusOK)
	signin := c.cookieValue("weftid_signin")
	if signin == "" {
		t.Fatal("no sign-in cookie at the enrollment step")
	}
	expectRedirect(t, c.post("/logout", nil), "/login?notice=signed_out")
	if c.cookieValue("weftid_signin") != "" {
		t.Error("the sign-in cookie survived Cancel and sign out")
	}
	r := c.get("/login")
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, `action="/login"`) {
		t.Error("/login after cancelling shows no sign-in form")
	}
	expectRedirect(t, c.get("/dashboard"), "/login")
	expectRedirect(t, c.get("/login/enroll"), "/login?notice=expired")
	noSession(t, c, "after cancelling")

	// And the next sign-in starts over at the password, then enrollment.
	c2 := e.toEnroll(u)
	_ = c2

	// The sign-in is over on the server too: its cookie, put back, does not resume it.
	t.Run("cancelled sign-in is gone on the server", func(t *testing.T) {
		c.setCookie("weftid_signin", signin)
		if r := c.get("/login"); r.Status != http.StatusOK {
			t.Errorf("the cancelled sign-in's cookie, put back, resumes it: GET /login %s", r)
		}
		if r := c.get("/login/enroll"); r.Status == http.StatusOK {
			t.Error("the cancelled sign-in's cookie, put back, opens the enrollment page again")
		}
	})

	// Past the sign-in's lifetime the step is gone and /login starts over.
	e.clock.Advance(auth.SignInTTL)
	expectStatus(t, c2.get("/login"), http.StatusOK)
	expectRedirect(t, c2.get("/login/enroll"), "/login?notice=expired")
	expectRedirect(t, c2.get("/dashboard"), "/login")
}

// Back to Baseline: e-mail codes count again.
func TestBaselineAgainAfterEnhanced(t *testing.T) {
	e := newEnv(t)
	_, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	savePolicy(t, super, "enhanced")
	u := e.createUser("bea@example.com", "Bea", store.RoleUser, store.StatusActive)
	pending := e.toEnroll(u)

	savePolicy(t, super, "baseline")
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	r := postCode(c, e.waitCode(u.Email))
	expectSignedInWith(t, e, c, r, u.ID, "password+email_code")
	expectStatus(t, c.get("/dashboard"), http.StatusOK)

	// The policy is read at every step: the sign-in that was waiting at enrollment has done
	// everything Baseline asks, so it finishes.
	r = pending.get("/login/enroll")
	expectRedirect(t, r, "/dashboard")
	if pending.cookieValue("weftid_session") == "" {
		t.Error("the pending sign-in did not finish under Baseline")
	}
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 0 {
		t.Errorf("%d enrollment events under Baseline", n)
	}
}

// The block is per sign-in: an enrolled user meets it again only after a reset of their
// two-step verification leaves them with no passkey.
func TestEnhancedEnrollmentAfterReset(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	ctx := context.Background()

	t.Run("TOTP only: enrollment again", func(t *testing.T) {
		u := e.createUser("tia@example.com", "Tia", store.RoleUser, store.StatusActive)
		enrollWithTOTP(t, e, e.toEnroll(u))
		if _, err := e.store.DeleteTOTP(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(auth.TOTPPeriod)
		c := e.toEnroll(u)
		expectStatus(t, c.get("/login/enroll"), http.StatusOK)
		// And it can enroll again, this time with a passkey.
		enrollWithPasskey(t, c, "Key")
		checkEnrolledEvent(t, e, u.ID, "passkey")
	})

	t.Run("a passkey left: no enrollment", func(t *testing.T) {
		u := e.createUser("pam@example.com", "Pam", store.RoleUser, store.StatusActive)
		c := e.toEnroll(u)
		enrollWithTOTP(t, e, c)
		k := registerSoftKey(t, c, "Phone")
		if _, err := e.store.DeleteTOTP(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(auth.TOTPPeriod)
		mails := e.codeMailsTo(u.Email)
		b := e.newClient()
		b.startSignIn(u.Email, testPassword)
		page := b.get("/login/verify")
		expectStatus(t, page, http.StatusOK)
		if strings.Contains(page.Body, `value="email"`) || !strings.Contains(page.Body, `data-passkey="signin"`) {
			t.Errorf("after the reset, with a passkey left, the code page:\n%s", page)
		}
		k.count = 1
		expectPasskeySignedIn(t, e, b, passkeyLoginAt(t, b, beginSecondFactor, k.get), u.ID, "password+passkey")
		if e.codeMailsTo(u.Email) != mails {
			t.Error("mailed a code to a user with a passkey under Enhanced")
		}
	})
}

// Two sign-ins of one e-mail-only user wait at enrollment; one of them enrolls. The other has
// still given nothing but the password and an e-mail code, which under Enhanced is not
// acceptable anywhere: it must not finish on the strength of the enrollment made elsewhere
// (it may go on with the new factor at /login/verify, or enroll one of its own).
func TestEnhancedPendingSignInDoesNotRideAnotherEnrollment(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("ida@example.com", "Ida", store.RoleUser, store.StatusActive)
	a := e.toEnroll(u)
	b := e.toEnroll(u)
	secret := enrollWithTOTP(t, e, a)

	r := b.get("/login/enroll")
	if r.Status == http.StatusSeeOther && r.Location == "/dashboard" || b.cookieValue("weftid_session") != "" {
		t.Errorf("a sign-in that gave only the password and an e-mail code finished under Enhanced because another browser enrolled: GET /login/enroll %s", r)
	}
	if r := b.get("/dashboard"); r.Status == http.StatusOK {
		t.Errorf("GET /dashboard opened for the sign-in that never enrolled")
	}
	// With the new factor it may finish.
	if b.cookieValue("weftid_session") == "" {
		e.clock.Advance(auth.TOTPPeriod)
		if r := b.get("/login/verify"); r.Status == http.StatusOK {
			r = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
			expectSignedInWith(t, e, b, r, u.ID, "password+totp")
		}
	}
	if n := e.signedInEvents(u.ID); n != 2 {
		t.Errorf("%d user_signed_in events, want 2", n)
	}
}
