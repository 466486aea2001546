package handlers_test

// Enrollment at sign-in under Enhanced (docs/authentication-policy.md): a user with only e-mail
// codes enrolls TOTP or a passkey before the sign-in finishes.

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

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
	mails := e.codeMailsTo(u.Email)
	b := e.newClient()
	b.startSignIn(u.Email, testPassword)
	page = b.get("/login/verify")
	expectStatus(t, page, http.StatusOK)
	if strings.Contains(page.Body, `value="email"`) || strings.Contains(page.Body, `action="/login/verify/resend"`) || !strings.Contains(page.Body, `value="totp"`) {
		t.Errorf("the code page of the enrolled user:\n%s", page)
	}
	r = b.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(secret, 0)}})
	expectSignedInWith(t, e, b, r, u.ID, "password+totp")
	if e.codeMailsTo(u.Email) != mails {
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
	mails := e.codeMailsTo(u.Email)
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
	if e.codeMailsTo(u.Email) != mails {
		t.Errorf("the passkey user was mailed %d code(s) under Enhanced", e.codeMailsTo(u.Email)-mails)
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
