package handlers_test

// Per-application required strength: an app that requires Enhanced (or an OIDC request that asks
// for it with acr_values) under a Baseline tenant sends a session with only an email code
// through a step-up (TOTP, a passkey, or enrollment) before a code or an assertion is issued.

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crewjam/saml"
	"golang.org/x/oauth2"

	"github.com/weftid/weftid/store"
)

// enhancedApp is webApp requiring Enhanced.
func enhancedApp() url.Values {
	f := webApp()
	f.Set("name", "Payroll")
	f.Set("required_auth_strength", "enhanced")
	return f
}

// stepUpTo has the RP start an authorization in the signed-in browser b and expects the
// step-up's page (want), with nothing issued: not by the callback, not by the continuation.
func stepUpTo(t *testing.T, p *rp, b *client, want string, extra ...oauth2.AuthCodeOption) flow {
	t.Helper()
	f, r := p.authorize(b, extra...)
	expectRedirect(t, r, want)
	noCode(t, b.get(callbackPath(f.requestID)), "the callback during a step-up")
	r = b.get("/oauth2/continue?id=" + url.QueryEscape(f.requestID))
	noCode(t, r, "the continuation during a step-up")
	expectRedirect(t, r, want)
	expectStatus(t, b.get("/dashboard"), http.StatusOK) // the session stays until the step-up ends
	return f
}

// finishedStepUp checks the user_signed_in event of a step-up.
func finishedStepUp(t *testing.T, e *env, userID int64) {
	t.Helper()
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", userID, "")
	if ev.Details["step_up"] != true {
		t.Errorf("user_signed_in of the step-up: %v", ev.Details)
	}
}

func TestOIDCStepUp(t *testing.T) {
	e := newEnv(t) // Baseline
	admin := e.adminClient()
	payroll := registerApp(t, admin, enhancedApp())
	if page := admin.get("/applications/oidc/" + payroll.ClientID); !strings.Contains(page.Body, `value="enhanced" checked`) {
		t.Errorf("the app page does not show Enhanced as chosen")
	}
	wiki := registerApp(t, admin, webApp())
	p := e.newRP(payroll)

	t.Run("enrollment for a user with neither TOTP nor a passkey", func(t *testing.T) {
		u, b := e.signedIn("lee@example.com", "Lee", store.RoleUser)
		expectStrength(t, e, wiki, b, []string{"pwd", "email", "mfa"}, acrBaseline) // the Baseline app: no step-up
		f := stepUpTo(t, p, b, "/login/enroll")
		secret, _ := enrollTOTPPage(t, b, nil)
		r := b.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
		expectStatus(t, r, http.StatusOK)
		cont := "/oauth2/continue?id=" + url.QueryEscape(f.requestID)
		if !strings.Contains(r.Body, `href="`+strings.ReplaceAll(cont, "&", "&amp;")+`"`) {
			t.Errorf("the backup codes page does not continue to the app:\n%s", r.Body)
		}
		finishedStepUp(t, e, u.ID)
		tok := p.exchange(p.continueToRP(b, cont, f), f)
		if got := strengthOf(idTokenClaims(t, p, tok)); !got.is([]string{"pwd", "email", "otp", "mfa"}, acrEnhanced) {
			t.Errorf("after the step-up: amr %q acr %q", got.AMR, got.ACR)
		}
		// The session is Enhanced now: the next authorization goes straight to the code.
		expectStrength(t, e, payroll, b, []string{"pwd", "email", "otp", "mfa"}, acrEnhanced)
	})

	t.Run("TOTP added after signing in", func(t *testing.T) {
		u, b := e.signedIn("ned@example.com", "Ned", store.RoleUser)
		secret, _ := setUpTOTP(t, e, b)
		f := stepUpTo(t, p, b, "/login/verify")
		page := b.get("/login/verify")
		if strings.Contains(page.Body, `name="method" value="email"`) || !strings.Contains(page.Body, `name="method" value="totp"`) {
			t.Errorf("the step-up's verify page must take TOTP, not an email code:\n%s", page.Body)
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9;") {
			t.Errorf("the step-up's page CSP %q does not allow the app's origin in form-action", csp)
		}
		r := b.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
		expectStatus(t, r, http.StatusUnauthorized)
		r = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 1)}})
		expectRedirect(t, r, "/oauth2/continue?id="+url.QueryEscape(f.requestID))
		finishedStepUp(t, e, u.ID)
		tok := p.exchange(p.continueToRP(b, r.Location, f), f)
		if got := strengthOf(idTokenClaims(t, p, tok)); !got.is([]string{"pwd", "email", "otp", "mfa"}, acrEnhanced) {
			t.Errorf("after the step-up: amr %q acr %q", got.AMR, got.ACR)
		}
	})

	t.Run("passkey", func(t *testing.T) {
		u, b := e.signedIn("mia@example.com", "Mia", store.RoleUser)
		k := registerSoftKey(t, b, "Laptop")
		f := stepUpTo(t, p, b, "/login/verify")
		if page := b.get("/login/verify"); strings.Contains(page.Body, `name="method" value="email"`) {
			t.Errorf("the step-up offers an email code:\n%s", page.Body)
		}
		k.count = 1
		r := passkeyLoginAt(t, b, beginSecondFactor, k.get)
		expectStatus(t, r, http.StatusOK)
		if got := jsonOf(t, r)["redirect"]; got != "/oauth2/continue?id="+url.QueryEscape(f.requestID) {
			t.Fatalf("passkey step-up redirect %v", got)
		}
		finishedStepUp(t, e, u.ID)
		tok := p.exchange(p.continueToRP(b, "/oauth2/continue?id="+url.QueryEscape(f.requestID), f), f)
		if got := strengthOf(idTokenClaims(t, p, tok)); !got.is([]string{"pwd", "email", "hwk", "mfa"}, acrEnhanced) {
			t.Errorf("after the step-up: amr %q acr %q", got.AMR, got.ACR)
		}
	})

	t.Run("acr_values on a Baseline app", func(t *testing.T) {
		_, b := e.signedIn("ora@example.com", "Ora", store.RoleUser)
		pw := e.newRP(wiki)
		f, r := pw.authorize(b, oauth2.SetAuthURLParam("acr_values", acrBaseline))
		tok := pw.exchange(pw.codeFrom(b.get(localPath(t, r.Location)), f), f)
		if got := strengthOf(idTokenClaims(t, pw, tok)); got.ACR != acrBaseline {
			t.Errorf("acr_values baseline: acr %q", got.ACR)
		}
		stepUpTo(t, pw, b, "/login/enroll", oauth2.SetAuthURLParam("acr_values", "urn:other "+acrEnhanced))
	})

	t.Run("prompt=none cannot step up", func(t *testing.T) {
		_, b := e.signedIn("pat@example.com", "Pat", store.RoleUser)
		_, r := p.authorize(b, oauth2.SetAuthURLParam("prompt", "none"))
		expectAuthorizeErrorState(t, r, "login_required")
	})

	t.Run("a new sign-in enrolls before the app", func(t *testing.T) {
		u := e.createUser("quy@example.com", "Quy", store.RoleUser, store.StatusActive)
		b := e.newClient()
		f, r := p.authorize(b)
		expectRedirect(t, r, "/login")
		expectStatus(t, b.get("/login"), http.StatusOK)
		r = b.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}})
		expectRedirect(t, r, "/login/verify")
		if csp := b.get("/login/verify").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9;") {
			t.Errorf("the verify page of a sign-in for the app: CSP %q", csp)
		}
		r = postCode(b, e.waitCode(u.Email))
		expectRedirect(t, r, "/login/enroll")
		noSession(t, b, "after the email code for an Enhanced app")
		enrollWithTOTP(t, e, b)
		p.exchange(p.continueToRP(b, "/oauth2/continue?id="+url.QueryEscape(f.requestID), f), f)
	})
}

// expectAuthorizeErrorState is expectAuthorizeError for a request the RP made (its own state).
func expectAuthorizeErrorState(t *testing.T, r *response, code string) {
	t.Helper()
	u, err := url.Parse(r.Location)
	if err != nil || !strings.HasPrefix(r.Location, rpRedirect) || u.Query().Get("error") != code || u.Query().Get("iss") != baseURL || u.Query().Get("code") != "" {
		t.Errorf("want %s at the RP with iss, got %s", code, r)
	}
}

// A sign-in that waits for nothing, or for a SAML app, keeps form-action 'self' alone.
func TestSignInFormActionOnlyForOIDC(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	b := e.newClient()
	b.startSignIn(u.Email, testPassword)
	if csp := b.get("/login/verify").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("a plain sign-in's CSP %q", csp)
	}
	b = e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	r := b.get(path)
	r = b.get(r.Location)
	expectRedirect(t, r, "/login")
	b.startSignIn(u.Email, testPassword)
	if csp := b.get("/login/verify").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("a SAML sign-in's CSP %q", csp)
	}
}

// A SAML service provider that requires Enhanced: a session with only an email code steps up
// before the assertion, whose AuthnContextClassRef then says REFEDS MFA; a Baseline one says
// PasswordProtectedTransport.
func TestSAMLStepUp(t *testing.T) {
	e, sp, u, id := samlSetup(t)
	admin := e.newClient()
	admin.signIn("ada@example.com", testPassword)
	b := e.newClient()
	b.signIn(u.Email, testPassword)

	spPage := "/applications/saml/" + strconv.FormatInt(id, 10)
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	p := postPage(t, b.get(path))
	if got := classRef(assertionOf(t, sp, p)); got != "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport" {
		t.Errorf("Baseline SP: AuthnContextClassRef %q", got)
	}

	// The admin requires Enhanced of the SP.
	page := admin.get(spPage)
	expectStatus(t, page, http.StatusOK)
	r := admin.postMultipart(spPage, map[string]string{"name": "Wiki", "required_auth_strength": "enhanced"}, nil)
	expectRedirect(t, r, spPage+"?notice=saved")
	if ev := e.lastEvent("saml_sp_updated"); ev.Details["required_auth_strength"] != "enhanced" {
		t.Errorf("saml_sp_updated %v", ev.Details)
	}
	if page := admin.get(spPage); !strings.Contains(page.Body, `value="enhanced" checked`) {
		t.Error("the SP page does not show Enhanced as chosen")
	}

	path, _, cookies := sp.start(saml.HTTPRedirectBinding)
	r = b.get(path)
	expectRedirect(t, r, "/login/enroll")
	issuedNothing(t, r, "a Baseline session at an Enhanced SP")
	expectStatus(t, b.get("/dashboard"), http.StatusOK)
	secret, _ := enrollTOTPPage(t, b, nil)
	r = b.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	m := samlContinueLink.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("the backup codes page does not continue to the SP:\n%s", r.Body)
	}
	finishedStepUp(t, e, u.ID)
	p = postPage(t, b.get(m[1]))
	if got := classRef(assertionOf(t, sp, p)); got != "https://refeds.org/profile/mfa" {
		t.Errorf("Enhanced SP after the step-up: AuthnContextClassRef %q", got)
	}
	checkAssertion(t, sp.acs(p, cookies), u)
	if ev := e.lastEvent("saml_assertion_issued"); ev.Details["authn_context"] != "https://refeds.org/profile/mfa" {
		t.Errorf("saml_assertion_issued %v", ev.Details)
	}

	// IdP-initiated from the dashboard: a Baseline session steps up first, then opens it.
	c := e.newClient()
	v := e.createUser("vi@example.com", "Vi", store.RoleUser, store.StatusActive)
	c.signIn(v.Email, testPassword)
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	r = c.post("/saml/idp/"+strconv.FormatInt(id, 10), nil)
	issuedNothing(t, r, "IdP-initiated sign-on with a Baseline session")
	expectRedirect(t, r, "/login/enroll")
}

var samlContinueLink = regexp.MustCompile(`href="(/saml/continue/[^"]+)"`)

// assertionOf is the assertion of a response page, as the SP reads and checks it.
func assertionOf(t *testing.T, sp *testSP, p samlPost) *saml.Assertion {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(p.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	var resp saml.Response
	if err := xml.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return sp.assertion(p, resp.InResponseTo)
}

// classRef is the AuthnContextClassRef of an assertion.
func classRef(a *saml.Assertion) string {
	if len(a.AuthnStatements) == 0 || a.AuthnStatements[0].AuthnContext.AuthnContextClassRef == nil {
		return ""
	}
	return a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value
}
