package handlers_test

// The tenant authentication policy (docs/authentication-policy.md) through the real app:
// Settings > Security > Authentication, and sign-in under Enhanced, where e-mail codes no longer
// count and a user with nothing else must enroll a passkey or TOTP before the sign-in finishes.

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
	"time"

	"github.com/weftid/weftid/auth"
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

// noSession fails when the client holds a session cookie.
func noSession(t *testing.T, c *client, when string) {
	t.Helper()
	if v := c.cookieValue("weftid_session"); v != "" {
		t.Fatalf("%s: the browser has a session cookie, want none before enrollment", when)
	}
}

// signedInEvents counts the user_signed_in events of a user.
func (e *env) signedInEvents(id int64) int {
	n := 0
	for _, ev := range e.eventsOf("user_signed_in") {
		if ev.UserID != nil && *ev.UserID == id {
			n++
		}
	}
	return n
}

// toEnroll takes a new browser through the password and the e-mail code of an e-mail-only user
// under Enhanced, and expects the enrollment step (no session yet).
func (e *env) toEnroll(u store.User) *client {
	e.t.Helper()
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	page := c.get("/login/verify")
	expectStatus(e.t, page, http.StatusOK)
	if !strings.Contains(page.Body, `name="method" value="email"`) {
		e.t.Fatalf("an e-mail-only user's code page under Enhanced has no e-mail code form:\n%s", page)
	}
	r := postCode(c, e.waitCode(u.Email))
	expectRedirect(e.t, r, "/login/enroll")
	noSession(e.t, c, "after the e-mail code under Enhanced")
	return c
}

// enrollTOTPPage opens the TOTP path of the enrollment step and returns the secret it shows.
func enrollTOTPPage(t *testing.T, c *client, header http.Header) (string, *response) {
	t.Helper()
	r := c.do(http.MethodGet, "/login/enroll/totp", nil, header)
	expectStatus(t, r, http.StatusOK)
	m := totpSecretField.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no #totp-secret on the enrollment TOTP path:\n%s", r)
	}
	if !qrImage.MatchString(r.Body) || !strings.Contains(r.Body, "data:image/png;base64,") {
		t.Errorf("no QR code image on the enrollment TOTP path")
	}
	if !strings.Contains(r.Body, `action="/login/enroll/totp"`) {
		t.Errorf("the enrollment TOTP form does not post to /login/enroll/totp")
	}
	return strings.ReplaceAll(html.UnescapeString(m[1]), " ", ""), r
}

// enrollWithTOTP finishes an enrollment step with TOTP and returns the secret.
func enrollWithTOTP(t *testing.T, e *env, c *client) string {
	t.Helper()
	secret, _ := enrollTOTPPage(t, c, nil)
	r := c.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	if c.cookieValue("weftid_session") == "" {
		t.Fatal("no session after enrolling TOTP")
	}
	return secret
}

// enrollWithPasskey finishes an enrollment step with a new software passkey.
func enrollWithPasskey(t *testing.T, c *client, name string) *softKey {
	t.Helper()
	k := newSoftKey(t)
	r := c.postJSON("/login/enroll/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = c.postJSON("/login/enroll/passkey/finish?name="+url.QueryEscape(name), k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/dashboard" {
		t.Errorf("enrollment with a passkey: redirect %v, want /dashboard", got)
	}
	return k
}

// checkEnrolledEvent checks the newest user_enhanced_auth_enrolled event.
func checkEnrolledEvent(t *testing.T, e *env, userID int64, method string) {
	t.Helper()
	ev := e.lastEvent("user_enhanced_auth_enrolled")
	checkEvent(t, ev, "user_enhanced_auth_enrolled", userID, "")
	if ev.ActorID == nil || *ev.ActorID != userID {
		t.Errorf("user_enhanced_auth_enrolled actor %v, want %d", ev.ActorID, userID)
	}
	if got, _ := ev.Details["method"].(string); got != method {
		t.Errorf("user_enhanced_auth_enrolled method %q, want %q (details %v)", got, method, ev.Details)
	}
}

// ---- Settings > Security > Authentication ----

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

func TestEnhancedEnrollWithTOTP(t *testing.T) {
	e := newEnv(t)
	_, super := e.signedIn("sam@example.com", "Sam", store.RoleSuperAdmin)
	savePolicy(t, super, "enhanced")
	u := e.createUser("eve@example.com", "Eve", store.RoleAdmin, store.StatusActive)

	// Password: the e-mail code page (a code is sent: it proves the mailbox before enrollment).
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	page := c.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, `name="method" value="email"`) || !strings.Contains(page.Body, "Check your email") {
		t.Errorf("the code page of an e-mail-only user under Enhanced:\n%s", page)
	}
	code := e.waitCode(u.Email)

	// The code: not the dashboard, the enrollment step, and no session.
	r := postCode(c, code)
	expectRedirect(t, r, "/login/enroll")
	noSession(t, c, "after the code")
	if e.signedInEvents(u.ID) != 0 {
		t.Fatal("user_signed_in logged before enrollment")
	}

	// Nothing else opens: every page sends the browser back.
	for _, path := range []string{"/dashboard", "/account/security", "/account/password", "/users", "/events", "/settings/security", "/login", "/login/verify"} {
		expectRedirect(t, c.get(path), "/login/enroll")
	}
	expectRedirect(t, c.get("/"), "/login") // which resumes, as above
	noSession(t, c, "after trying other pages")

	// The step: both paths, and a way out.
	r = c.get("/login/enroll")
	expectStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`hx-get="/login/enroll?path=passkey"`, `>Register a passkey</a>`,
		`hx-get="/login/enroll/totp"`, `>Set up TOTP</a>`,
		`hx-target="#enroll-path"`, `<div id="enroll-path">`,
		`<form method="post" action="/logout">`, "Cancel and sign out",
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the enrollment page lacks %s", want)
		}
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q on the enrollment page", r.Header.Get("Cache-Control"))
	}

	// The TOTP path, as htmx asks for it: a fragment, with the QR code and the key.
	secret, frag := enrollTOTPPage(t, c, http.Header{"HX-Request": {"true"}})
	if strings.Contains(strings.ToLower(frag.Body), "<html") || strings.Contains(frag.Body, "Set up two-step verification") {
		t.Errorf("the htmx answer for the TOTP path is a whole page:\n%s", frag)
	}
	if !strings.Contains(frag.Body, "<h2>Set up TOTP</h2>") {
		t.Errorf("the TOTP fragment has no heading")
	}
	// As a page (a reload, or no JavaScript): the same key, inside the enrollment page.
	again, full := enrollTOTPPage(t, c, nil)
	if again != secret {
		t.Errorf("reloading the TOTP path changed the key")
	}
	if !strings.Contains(strings.ToLower(full.Body), "<html") || !strings.Contains(full.Body, "Cancel and sign out") {
		t.Errorf("the TOTP path as a page is not inside the enrollment page")
	}
	// htmx restoring a pushed URL it has no snapshot of (Back, after the history cache missed)
	// sends HX-Request too, and swaps the answer in as the whole body: it must be the page.
	for _, path := range []string{"/login/enroll/totp", "/login/enroll?path=passkey"} {
		r := c.do(http.MethodGet, path, nil, http.Header{"HX-Request": {"true"}, "HX-History-Restore-Request": {"true"}})
		expectStatus(t, r, http.StatusOK)
		if !strings.Contains(strings.ToLower(r.Body), "<html") || !strings.Contains(r.Body, "Cancel and sign out") {
			t.Errorf("GET %s as an htmx history restore answers a fragment, which htmx puts in place of the whole page", path)
		}
	}
	if e.totpOn(u.ID) {
		t.Fatal("TOTP is on before its first code")
	}

	// A wrong code: 422, the message, still no session.
	r = c.post("/login/enroll/totp", url.Values{"code": {e.wrongTOTP(secret)}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, msgSetupWrongCode)
	noSession(t, c, "after a wrong TOTP code")
	if !strings.Contains(r.Body, "Cancel and sign out") {
		t.Errorf("a wrong code lost the enrollment page")
	}
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 0 {
		t.Fatal("enrolled with a wrong code")
	}
	expectRedirect(t, c.get("/dashboard"), "/login/enroll")

	// The right code: backup codes, a session, the events.
	r = c.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	codes := backupCodesOf(t, r)
	if len(codes) != auth.BackupCodeCount {
		t.Errorf("%d backup codes shown, want %d", len(codes), auth.BackupCodeCount)
	}
	if !strings.Contains(r.Body, `href="/dashboard"`) {
		t.Errorf("the backup codes page does not go on to /dashboard")
	}
	if r.cookie("weftid_session") == nil || c.cookieValue("weftid_session") == "" {
		t.Fatal("no session cookie after enrolling TOTP")
	}
	if c.cookieValue("weftid_signin") != "" {
		t.Error("the sign-in cookie is still there after enrolling")
	}
	if !e.totpOn(u.ID) || e.backupLeft(u.ID) != auth.BackupCodeCount {
		t.Errorf("after enrolling: TOTP on %v, %d backup codes", e.totpOn(u.ID), e.backupLeft(u.ID))
	}
	checkEnrolledEvent(t, e, u.ID, "totp")
	checkEvent(t, e.lastEvent("mfa_totp_enabled"), "mfa_totp_enabled", u.ID, "")
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", u.ID, "")
	if got, _ := ev.Details["method"].(string); got != "password+email_code+enrolled_totp" {
		t.Errorf("user_signed_in method %q", got)
	}
	var seq []string
	for _, ev := range e.events() {
		if ev.UserID != nil && *ev.UserID == u.ID && ev.Type != "email_code_sent" {
			seq = append(seq, string(ev.Type))
		}
	}
	// The wrong first code is logged too (every attempt is), then the enrollment.
	if want := []string{"mfa_totp_setup_failed", "mfa_totp_enabled", "user_enhanced_auth_enrolled", "user_signed_in"}; !slices.Equal(seq, want) {
		t.Errorf("events %q, want %q", seq, want)
	}
	for _, path := range []string{"/dashboard", "/account/security", "/users"} {
		expectStatus(t, c.get(path), http.StatusOK)
	}
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 1 {
		t.Errorf("%d enrollment events, want 1", n)
	}

	// The next sign-in asks for a TOTP code: no mail, no enrollment.
	e.clock.Advance(auth.TOTPPeriod)
	mails := e.mailsTo(u.Email)
	b := e.newClient()
	b.startSignIn(u.Email, testPassword)
	page = b.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	if strings.Contains(page.Body, `value="email"`) || strings.Contains(page.Body, `action="/login/verify/resend"`) || !strings.Contains(page.Body, `value="totp"`) {
		t.Errorf("the code page of the enrolled user:\n%s", page)
	}
	r = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
	expectSignedInWith(t, e, b, r, u.ID, "password+totp")
	if e.mailsTo(u.Email) != mails {
		t.Error("the enrolled user's sign-in sent an e-mail code")
	}
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 1 {
		t.Errorf("%d enrollment events after the next sign-in, want 1", n)
	}
	// A backup code works too, and is no way back to enrollment.
	b2 := e.newClient()
	b2.startSignIn(u.Email, testPassword)
	expectSignedInWith(t, e, b2, b2.post("/login/verify", url.Values{"method": {"backup"}, "code": {codes[0]}}), u.ID, "password+backup_code")
}

func TestEnhancedEnrollWithPasskey(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("pia@example.com", "Pia", store.RoleUser, store.StatusActive)
	c := e.toEnroll(u)

	// The passkey path as htmx asks for it: a fragment with the register form.
	r := c.do(http.MethodGet, "/login/enroll?path=passkey", nil, http.Header{"HX-Request": {"true"}})
	expectStatus(t, r, http.StatusOK)
	if strings.Contains(strings.ToLower(r.Body), "<html") {
		t.Errorf("the htmx answer for the passkey path is a whole page")
	}
	for _, want := range []string{`data-passkey="register"`, `data-begin="/login/enroll/passkey/begin"`, `data-finish="/login/enroll/passkey/finish"`, `name="_csrf"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the passkey path lacks %s:\n%s", want, r)
		}
	}
	// As a page.
	r = c.get("/login/enroll?path=passkey")
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(strings.ToLower(r.Body), "<html") || !strings.Contains(r.Body, `data-begin="/login/enroll/passkey/begin"`) {
		t.Errorf("the passkey path as a page:\n%s", r)
	}

	// Register: the sign-in finishes.
	k := enrollWithPasskey(t, c, " Laptop ")
	if c.cookieValue("weftid_session") == "" || c.cookieValue("weftid_signin") != "" {
		t.Fatal("no session (or a sign-in left) after enrolling a passkey")
	}
	ps := e.passkeys(u.ID)
	if len(ps) != 1 || ps[0].Name != "Laptop" {
		t.Fatalf("passkeys after enrolling: %+v", ps)
	}
	checkEnrolledEvent(t, e, u.ID, "passkey")
	checkEvent(t, e.lastEvent("passkey_registered"), "passkey_registered", u.ID, "")
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", u.ID, "")
	if got, _ := ev.Details["method"].(string); got != "password+email_code+enrolled_passkey" {
		t.Errorf("user_signed_in method %q", got)
	}
	expectStatus(t, c.get("/dashboard"), http.StatusOK)

	// The next sign-in with the password: the passkey only; no e-mail code, no mail.
	mails := e.mailsTo(u.Email)
	b := e.newClient()
	b.startSignIn(u.Email, testPassword)
	page := b.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	if strings.Contains(page.Body, `value="email"`) || strings.Contains(page.Body, `action="/login/verify/resend"`) || strings.Contains(page.Body, "Check your email") {
		t.Errorf("under Enhanced the code page of a passkey user offers an e-mail code:\n%s", page)
	}
	if !strings.Contains(page.Body, `data-passkey="signin"`) {
		t.Errorf("the code page of a passkey user does not offer the passkey")
	}
	// An e-mail code posted anyway is refused, whatever the code.
	r = b.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
	expectCodeRefused(t, e, b, r, msgCodeFailure, u.ID, "method_not_allowed")
	r = b.post("/login/verify", url.Values{"code": {"123456"}}) // no method: still not an e-mail code
	if r.Status == http.StatusSeeOther || b.cookieValue("weftid_session") != "" {
		t.Errorf("a code without a method: %s", r)
	}
	// Asking for a new code sends none.
	expectStatus(t, b.get("/login/verify"), http.StatusOK)
	expectRedirect(t, b.post("/login/verify/resend", nil), "/login/verify")
	if e.mailsTo(u.Email) != mails {
		t.Errorf("the passkey user was mailed %d code(s) under Enhanced", e.mailsTo(u.Email)-mails)
	}
	// The passkey finishes it, without enrollment.
	k.count = 1
	expectPasskeySignedIn(t, e, b, passkeyLoginAt(t, b, beginSecondFactor, k.get), u.ID, "password+passkey")
	// A whole passkey sign-in too.
	k.count = 2
	w := e.newClient()
	expectStatus(t, w.get("/login"), http.StatusOK)
	expectPasskeySignedIn(t, e, w, passkeyLogin(t, w, k.get), u.ID, "passkey")
	if n := len(e.eventsOf("user_enhanced_auth_enrolled")); n != 1 {
		t.Errorf("%d enrollment events, want 1", n)
	}
}

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
		mails := e.mailsTo(tu.Email)
		c := e.newClient()
		c.startSignIn(tu.Email, testPassword)
		r := c.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
		expectCodeRefusedAt(t, e, c, r, msgOTPFailure, tu.ID, "method_not_allowed", "email_code")
		expectRedirect(t, c.post("/login/verify/resend", nil), "/login/verify")
		r = c.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
		expectSignedInWith(t, e, c, r, tu.ID, "password+totp")
		if e.mailsTo(tu.Email) != mails {
			t.Error("a TOTP user was mailed a code under Enhanced")
		}
	})
	t.Run("passkey", func(t *testing.T) {
		mails := e.mailsTo(pu.Email)
		c := e.newClient()
		c.startSignIn(pu.Email, testPassword)
		r := c.post("/login/verify", url.Values{"method": {"email"}, "code": {"123456"}})
		expectCodeRefused(t, e, c, r, msgCodeFailure, pu.ID, "method_not_allowed")
		k.count = 1
		expectPasskeySignedIn(t, e, c, passkeyLoginAt(t, c, beginSecondFactor, k.get), pu.ID, "password+passkey")
		if e.mailsTo(pu.Email) != mails {
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
	mails := e.mailsTo(u.Email)

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
	if e.mailsTo(u.Email) != mails {
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
		mails := e.mailsTo(u.Email)
		b := e.newClient()
		b.startSignIn(u.Email, testPassword)
		page := b.get("/login/verify")
		expectStatus(t, page, http.StatusOK)
		if strings.Contains(page.Body, `value="email"`) || !strings.Contains(page.Body, `data-passkey="signin"`) {
			t.Errorf("after the reset, with a passkey left, the code page:\n%s", page)
		}
		k.count = 1
		expectPasskeySignedIn(t, e, b, passkeyLoginAt(t, b, beginSecondFactor, k.get), u.ID, "password+passkey")
		if e.mailsTo(u.Email) != mails {
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
