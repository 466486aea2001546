package handlers_test

// Tests of the SAML gate: a held request is answered only once its browser has finished every
// step of its sign-in (enrollment, second factors, passkeys, a forced password reset), and is
// dropped when its SP is removed or the browser signs out.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/weftid/weftid/store"
)

func TestSAMLGatedByEnrollment(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	e.setStrength("enhanced")
	c := e.toEnroll(u) // password and e-mail code done; enrollment pending; no session

	// The SSO URL (both bindings), and the continuation by GET and POST: nothing is issued,
	// the browser goes back to enrollment.
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("SSO while enrollment is pending: %s", r)
	}
	cont := r.Location
	for i := 0; i < 2; i++ {
		r = c.get(cont)
		expectRedirect(t, r, "/login/enroll")
		issuedNothing(t, r, "GET continuation while enrollment is pending")
		r = c.get(path) // replaying the SSO URL
		issuedNothing(t, r, "replaying the SSO URL while enrollment is pending")
		if r.Status == http.StatusSeeOther {
			issuedNothing(t, c.get(r.Location), "the replay's continuation")
		}
	}
	r = c.post(cont, nil)
	issuedNothing(t, r, "POST to the continuation while enrollment is pending")
	if r.Status == http.StatusOK {
		t.Errorf("POST to the continuation answered 200:\n%s", r)
	}
	_, postForm, _ := sp.start(saml.HTTPPostBinding)
	r = c.postRaw("/saml/sso", postForm, nil)
	issuedNothing(t, r, "POST binding while enrollment is pending")
	if r.Status == http.StatusSeeOther {
		r = c.get(r.Location)
		issuedNothing(t, r, "POST binding's continuation while enrollment is pending")
		expectRedirect(t, r, "/login/enroll")
	}
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d saml_assertion_issued events before enrollment", n)
	}
	noSession(t, c, "after the SSO attempts")

	// Enroll TOTP: the backup codes page continues to the newest held request... but the
	// tracked request the SP remembers is the first one; continue with the held one the sign-in
	// points at, which was made by the POST request above.
	enrollWithTOTP(t, e, c)
	page := c.get("/dashboard") // a session now
	expectStatus(t, page, http.StatusOK)
	// The first (Redirect) request still waits: its continuation answers now.
	p := postPage(t, c.get(cont))
	checkAssertion(t, sp.acs(p, spCookies), u)
	if n := len(e.eventsOf("saml_assertion_issued")); n != 1 {
		t.Errorf("%d saml_assertion_issued events after enrollment, want 1", n)
	}
}

func TestSAMLEnrollmentContinuesToRequest(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	e.setStrength("enhanced")
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	cont := r.Location
	expectRedirect(t, c.get(cont), "/login")
	c.startSignIn(u.Email, testPassword)
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/login/enroll")
	issuedNothing(t, c.get(cont), "continuation at enrollment")
	secret, _ := enrollTOTPPage(t, c, nil)
	r = c.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	// The backup codes page's way on is the continuation.
	if !strings.Contains(r.Body, `href="`+cont+`"`) {
		t.Fatalf("the backup codes page does not continue to %s:\n%s", cont, r)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)
}

func TestSAMLTOTPAndBackupSignInContinue(t *testing.T) {
	e, sp, _, _ := samlSetup(t)
	u, _, secret, codes := e.totpUser("hedy@example.com", "Hedy Lamarr")
	e.clock.Advance(30 * time.Second) // the set-up code is spent
	for _, method := range []string{"totp", "backup"} {
		c := e.newClient()
		path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
		cont := c.get(path).Location
		expectRedirect(t, c.get(cont), "/login")
		c.startSignIn(u.Email, testPassword)
		code := codes[0]
		if method == "totp" {
			code = e.totpAt(secret, 0)
		}
		expectRedirect(t, c.post("/login/verify", url.Values{"method": {method}, "code": {code}}), cont)
		checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)
		e.clock.Advance(30 * time.Second) // the next TOTP code
	}
}

func TestSAMLPasskeySignInsContinue(t *testing.T) {
	e, sp, _, _ := samlSetup(t)
	e.setStrength("enhanced")
	u := e.createUser("pia@example.com", "Pia", store.RoleUser, store.StatusActive)

	// Enhanced: enrolling a passkey finishes the sign-in at the held request.
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	c.startSignIn(u.Email, testPassword)
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/login/enroll")
	issuedNothing(t, c.get(cont), "continuation at enrollment")
	k := newSoftKey(t)
	r := c.postJSON("/login/enroll/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = c.postJSON("/login/enroll/passkey/finish?name=Laptop", k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != cont {
		t.Fatalf("enrolling a passkey leads to %v, want %s", got, cont)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)

	// A passkey sign-in from /login (no password): the same.
	b := e.newClient()
	path, _, spCookies = sp.start(saml.HTTPRedirectBinding)
	cont = b.get(path).Location
	expectRedirect(t, b.get(cont), "/login")
	expectStatus(t, b.get("/login"), http.StatusOK)
	k.count = 5
	r = passkeyLogin(t, b, k.get)
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != cont {
		t.Fatalf("a passkey sign-in leads to %v, want %s", got, cont)
	}
	checkAssertion(t, sp.acs(postPage(t, b.get(cont)), spCookies), u)

	// The return cookie was used once: the next sign-in in that browser goes to the dashboard.
	// (Signing out hands a LogoutRequest to the SP that took part: saml_logout_test.go.)
	if r := b.post("/logout", nil); r.Status != http.StatusOK || !strings.Contains(r.Body, `name="SAMLRequest"`) {
		t.Fatalf("signing out after a SAML sign-in: %s, want the logout page for the SP", r)
	}
	expectStatus(t, b.get("/login"), http.StatusOK)
	k.count = 6
	r = passkeyLogin(t, b, k.get)
	if got := jsonOf(t, r)["redirect"]; got != "/dashboard" {
		t.Errorf("the next passkey sign-in leads to %v, want /dashboard", got)
	}
}

func TestSAMLDroppedRequestSignsInToDashboard(t *testing.T) {
	e, sp, u, spID := samlSetup(t)
	c := e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	// The admin removes the SP meanwhile: its held requests go, and the sign-in ends on the
	// dashboard, not at a continuation that no longer leads anywhere.
	if err := e.store.DeleteSAMLServiceProvider(context.Background(), spID); err != nil {
		t.Fatal(err)
	}
	c.signIn(u.Email, testPassword)
	issuedNothing(t, c.get(cont), "the continuation of a removed SP")
}

func TestSAMLGatedByForcedPasswordReset(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	expectStatus(t, c.get("/login"), http.StatusOK)
	expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
	// At the reset step: the continuation and a replayed SSO URL lead back to it; nothing issued.
	r := c.get(cont)
	expectRedirect(t, r, "/login/reset-password")
	issuedNothing(t, r, "continuation at the forced reset")
	r = c.get(path)
	issuedNothing(t, r, "replayed SSO URL at the forced reset")
	expectRedirect(t, c.get(r.Location), "/login/reset-password")
	issuedNothing(t, c.post(cont, nil), "POST to the continuation at the forced reset")
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d assertions issued before the reset", n)
	}
	// The new password, then the code: the sign-in ends at the (newest) held request.
	expectRedirect(t, resetPassword(c, newPassword, newPassword), "/login/verify")
	r = c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("after the reset and the code: %s, want the continuation", r)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(r.Location)), spCookies), u)
}

// Signing out drops an application's request that waited for a sign-in: whoever signs in next
// in this browser lands on the dashboard.
func TestSignOutDropsTheWaitingRequest(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	c := e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	expectStatus(t, c.get("/login"), http.StatusOK)
	expectRedirect(t, c.post("/logout", nil), "/login?notice=signed_out")
	c.signIn(u.Email, testPassword) // ends on /dashboard, not at the continuation
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Errorf("%d assertions issued after signing out", n)
	}
}
