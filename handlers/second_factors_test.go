package handlers_test

// Second factors through the real app: TOTP with backup codes on Account > Security and at
// sign-in, and passkeys. Codes are computed here from the secret the setup page shows, with the
// test clock; passkeys are answered by a small software authenticator (softKey, at the end).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// The second-factor messages, copied on purpose (see harness_test.go).
const (
	msgOTPFailure     = "That code is incorrect or was used already. Enter the current code from your authenticator app, or a backup code."
	msgSetupWrongCode = "That code is not right. Check the time on your device and enter the code the app shows now."
	msgRemoveRefused  = "To remove TOTP, enter your password or a current code from the app."
	msgCodesNeedTOTP  = "Backup codes come with TOTP: set up TOTP first."
	msgTOTPRemoved    = "TOTP was removed. You will sign in with an email code again."
	msgPasskeyFailure = "That passkey could not sign you in."
	msgRegExpired     = "The request expired. Please try again."
	msgRegRefused     = "The passkey could not be registered. Please try again."
	msgRegDuplicate   = "This passkey is registered already."
)

var (
	totpSecretField = regexp.MustCompile(`id="totp-secret"[^>]*>([^<]*)<`)
	qrImage         = regexp.MustCompile(`<img class="qr" src="([^"]*)"`)
	backupCodesPre  = regexp.MustCompile(`(?s)<pre id="backup-codes"[^>]*>(.*?)</pre>`)
	backupCodeForm  = regexp.MustCompile(`^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$`)
)

// ---- helpers ----

// totpAt is the code of the step offset steps away from the test clock's.
func (e *env) totpAt(secret string, offset int64) string {
	e.t.Helper()
	code, err := auth.TOTPCode(secret, auth.TOTPStep(e.clock.Now())+offset)
	if err != nil {
		e.t.Fatalf("TOTPCode: %v", err)
	}
	return code
}

// wrongTOTP is a well-formed code that no step in the accepted window (now-1 to now+1) has.
func (e *env) wrongTOTP(secret string) string {
	e.t.Helper()
	window := []string{e.totpAt(secret, -1), e.totpAt(secret, 0), e.totpAt(secret, 1)}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !slices.Contains(window, c) {
			return c
		}
	}
	e.t.Fatal("no wrong code found")
	return ""
}

// beginTOTP starts a setup on Account > Security and returns the secret the page shows.
func beginTOTP(t *testing.T, c *client) (string, *response) {
	t.Helper()
	expectRedirect(t, c.post("/account/security/totp/setup", nil), "/account/security/totp")
	page := c.get("/account/security/totp")
	expectStatus(t, page, http.StatusOK)
	m := totpSecretField.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("no #totp-secret on the setup page:\n%s", page)
	}
	return strings.ReplaceAll(html.UnescapeString(m[1]), " ", ""), page
}

// backupCodesOf reads the codes a backup codes page shows.
func backupCodesOf(t *testing.T, r *response) []string {
	t.Helper()
	m := backupCodesPre.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no #backup-codes on the page:\n%s", r)
	}
	return strings.Fields(html.UnescapeString(m[1]))
}

// setUpTOTP turns TOTP on for the signed-in client with the current code and returns the
// secret and the backup codes.
func setUpTOTP(t *testing.T, e *env, c *client) (string, []string) {
	t.Helper()
	secret, _ := beginTOTP(t, c)
	r := c.post("/account/security/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	return secret, backupCodesOf(t, r)
}

// totpUser makes an account with TOTP on, and the browser that set it up (still signed in).
func (e *env) totpUser(email, name string) (store.User, *client, string, []string) {
	e.t.Helper()
	u, c := e.signedIn(email, name, store.RoleUser)
	secret, codes := setUpTOTP(e.t, e, c)
	return u, c, secret, codes
}

// verifyWith signs in afresh in a new browser and answers the second-factor step.
func (e *env) verifyWith(email, method, code string) (*client, *response) {
	e.t.Helper()
	c := e.newClient()
	c.startSignIn(email, testPassword)
	return c, c.post("/login/verify", url.Values{"method": {method}, "code": {code}})
}

// expectSignedInWith checks a finished sign-in and the method its user_signed_in event names.
func expectSignedInWith(t *testing.T, e *env, c *client, r *response, userID int64, method string) {
	t.Helper()
	expectRedirect(t, r, "/dashboard")
	if c.cookieValue("weftid_session") == "" {
		t.Error("no session cookie after the sign-in")
	}
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", userID, "")
	if got, _ := ev.Details["method"].(string); got != method {
		t.Errorf("user_signed_in method: got %q, want %q", got, method)
	}
}

// expectOTPRefused checks a refused TOTP or backup code at sign-in.
func expectOTPRefused(t *testing.T, e *env, c *client, r *response, userID int64, reason, step string) {
	t.Helper()
	expectCodeRefusedAt(t, e, c, r, msgOTPFailure, userID, reason, step)
}

func (e *env) totpOf(id int64) (store.TOTP, bool) {
	e.t.Helper()
	t, err := e.store.TOTPByUser(context.Background(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.TOTP{}, false
	}
	if err != nil {
		e.t.Fatalf("TOTPByUser: %v", err)
	}
	return t, true
}

func (e *env) totpOn(id int64) bool {
	t, ok := e.totpOf(id)
	return ok && t.Confirmed()
}

func (e *env) backupLeft(id int64) int {
	e.t.Helper()
	n, err := e.store.CountBackupCodes(context.Background(), id)
	if err != nil {
		e.t.Fatalf("CountBackupCodes: %v", err)
	}
	return n
}

func (e *env) passkeys(id int64) []store.Passkey {
	e.t.Helper()
	ps, err := e.store.PasskeysByUser(context.Background(), id)
	if err != nil {
		e.t.Fatalf("PasskeysByUser: %v", err)
	}
	return ps
}

// addPasskey stores a passkey directly, as if registered (its credential is a stand-in).
func (e *env) addPasskey(userID int64, credID byte, name string) store.Passkey {
	e.t.Helper()
	raw := []byte{credID}
	p, err := e.store.CreatePasskey(context.Background(), store.Passkey{
		UserID: userID, CredentialID: raw, Name: name,
		Credential: fmt.Sprintf(`{"id":%q}`, base64.StdEncoding.EncodeToString(raw)), CreatedAt: e.clock.Now(),
	})
	if err != nil {
		e.t.Fatalf("CreatePasskey: %v", err)
	}
	return p
}

// postJSON posts a JSON body as passkey.js does, with the X-CSRF-Token header.
func (c *client) postJSON(path, body string) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, strings.NewReader(body), http.Header{
		"Content-Type": {"application/json"}, "X-CSRF-Token": {c.token()},
	})
}

// jsonOf decodes a JSON answer.
func jsonOf(t *testing.T, r *response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, r)
	}
	return m
}

// expectJSONError checks a WebAuthn call's error answer.
func expectJSONError(t *testing.T, r *response, status int, msg string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status: got %d, want %d\n%s", r.Status, status, r)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	if got, _ := jsonOf(t, r)["error"].(string); got != msg {
		t.Errorf("error: got %q, want %q", got, msg)
	}
}

// dig walks a decoded JSON value by keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// ---- TOTP setup ----

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// ---- signing in with TOTP ----

func TestTOTPSignIn(t *testing.T) {
	e := newEnv(t)
	u, _, secret, _ := e.totpUser("tom@example.com", "Tom")
	mails := e.mailsTo(u.Email)

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

	if got := e.mailsTo(u.Email); got != mails {
		t.Errorf("%d mails to a TOTP user during sign-ins, want none", got-mails)
	}
	if n := len(e.eventsOf("email_code_sent")); n != 1 {
		t.Errorf("%d email_code_sent events, want still 1", n)
	}
}

func TestTOTPSignInMethods(t *testing.T) {
	e := newEnv(t)
	u, _, secret, codes := e.totpUser("tom@example.com", "Tom")
	mails := e.mailsTo(u.Email)
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
	if got := e.mailsTo(u.Email); got != mails {
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

// ---- throttle ----

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

// ---- passkeys: registration ----

func TestPasskeyRegistrationOptions(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	existing := e.addPasskey(u.ID, 9, "Old key")

	r := c.postJSON("/account/passkeys/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if r.cookie("weftid_webauthn") == nil {
		t.Error("no ceremony cookie set")
	}
	opts := jsonOf(t, r)
	pk := dig(opts, "publicKey")
	if ch, _ := dig(pk, "challenge").(string); len(ch) < 22 {
		t.Errorf("challenge %q, want at least 16 random bytes", ch)
	}
	if got := dig(pk, "rp", "id"); got != "localhost" {
		t.Errorf("rp.id %v, want localhost (the base URL's host)", got)
	}
	if got := dig(pk, "authenticatorSelection", "residentKey"); got != "required" {
		t.Errorf("residentKey %v, want required", got)
	}
	if got := dig(pk, "authenticatorSelection", "requireResidentKey"); got != true {
		t.Errorf("requireResidentKey %v, want true", got)
	}
	if got := dig(pk, "authenticatorSelection", "userVerification"); got != "required" {
		t.Errorf("userVerification %v, want required", got)
	}
	if got := dig(pk, "user", "name"); got != u.Email {
		t.Errorf("user.name %v, want %s", got, u.Email)
	}
	userID, _ := dig(pk, "user", "id").(string)
	handle, err := base64.RawURLEncoding.DecodeString(userID)
	if err != nil {
		t.Fatalf("user.id %q is not base64url: %v", userID, err)
	}
	if bytes.Contains(handle, []byte(u.Email)) || bytes.Contains(bytes.ToLower(handle), []byte("pat")) || string(handle) == strconv.FormatInt(u.ID, 10) {
		t.Errorf("user.id %q names the user", handle)
	}
	stored, err := e.store.WebAuthnHandle(context.Background(), u.ID)
	if err != nil || !bytes.Equal(stored, handle) {
		t.Errorf("user.id is not the stored handle: %x vs %x (%v)", handle, stored, err)
	}
	// Passkeys already registered are excluded, so an authenticator is not registered twice.
	excl, _ := dig(pk, "excludeCredentials").([]any)
	if len(excl) != 1 || dig(excl[0], "id") != b64url(existing.CredentialID) {
		t.Errorf("excludeCredentials %v, want the existing passkey %s", excl, b64url(existing.CredentialID))
	}
	// Every ceremony has its own challenge; the handle stays.
	opts2 := jsonOf(t, c.postJSON("/account/passkeys/begin", "{}"))
	if dig(opts2, "publicKey", "challenge") == dig(pk, "challenge") {
		t.Error("two ceremonies got the same challenge")
	}
	if dig(opts2, "publicKey", "user", "id") != userID {
		t.Error("the user handle changed between ceremonies")
	}

	// Signed out: no ceremony.
	anon := e.newClient()
	expectStatus(t, anon.get("/login"), http.StatusOK)
	expectRedirect(t, anon.postJSON("/account/passkeys/begin", "{}"), "/login")
}

func TestPasskeyRegistrationRefused(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	other, oc := e.signedIn("oz@example.com", "Oz", store.RoleUser)

	// No ceremony begun.
	expectJSONError(t, c.postJSON("/account/passkeys/finish?name=x", `{"id":"AQ"}`), http.StatusBadRequest, msgRegExpired)

	// Garbage after a begin: refused, and the challenge is spent.
	expectStatus(t, c.postJSON("/account/passkeys/begin", "{}"), http.StatusOK)
	expectJSONError(t, c.postJSON("/account/passkeys/finish?name=x", `garbage`), http.StatusBadRequest, msgRegRefused)
	expectJSONError(t, c.postJSON("/account/passkeys/finish?name=x", `{"id":"AQ","type":"public-key"}`), http.StatusBadRequest, msgRegExpired)

	// Another user's ceremony cookie does not register for this one.
	expectStatus(t, oc.postJSON("/account/passkeys/begin", "{}"), http.StatusOK)
	c.setCookie("weftid_webauthn", oc.cookieValue("weftid_webauthn"))
	expectJSONError(t, c.postJSON("/account/passkeys/finish?name=x", `{}`), http.StatusBadRequest, msgRegExpired)

	// A sign-in ceremony is not a registration.
	expectStatus(t, c.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	expectJSONError(t, c.postJSON("/account/passkeys/finish?name=x", `{}`), http.StatusBadRequest, msgRegExpired)

	if len(e.passkeys(u.ID)) != 0 || len(e.passkeys(other.ID)) != 0 {
		t.Error("a refused registration stored a passkey")
	}
	if n := len(e.eventsOf("passkey_registered")); n != 0 {
		t.Errorf("%d passkey_registered events", n)
	}
}

// ---- passkeys: sign-in ----

func TestPasskeyLoginBegin(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	r := c.postJSON("/login/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	if r.cookie("weftid_webauthn") == nil {
		t.Error("no ceremony cookie")
	}
	pk := dig(jsonOf(t, r), "publicKey")
	if ch, _ := dig(pk, "challenge").(string); len(ch) < 22 {
		t.Errorf("challenge %q", ch)
	}
	if allow, _ := dig(pk, "allowCredentials").([]any); len(allow) != 0 {
		t.Errorf("allowCredentials %v, want none (a discoverable credential names the user)", allow)
	}
	if got := dig(pk, "userVerification"); got != "required" {
		t.Errorf("userVerification %v, want required", got)
	}
	if got := dig(pk, "rpId"); got != "localhost" {
		t.Errorf("rpId %v, want localhost", got)
	}
	if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
		t.Errorf("Cache-Control %q, want no-store", got)
	}

	// The second factor needs a sign-in whose password is done, and a passkey to use.
	expectJSONError(t, c.postJSON(beginSecondFactor, "{}"), http.StatusBadRequest, "Your sign-in expired. Please start again.")
	u := e.createUser("nokey@example.com", "No key", store.RoleUser, store.StatusActive)
	c.startSignIn(u.Email, testPassword)
	expectJSONError(t, c.postJSON(beginSecondFactor, "{}"), http.StatusBadRequest, "You have no passkey yet.")
	// The whole sign-in is still offered to that browser.
	expectStatus(t, c.postJSON(beginWhole, "{}"), http.StatusOK)
}

func TestPasskeyRelyingPartyFromBaseURL(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "https://id.example.com"})
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	r := c.postJSON("/login/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	if got := dig(jsonOf(t, r), "publicKey", "rpId"); got != "id.example.com" {
		t.Errorf("rpId %v, want id.example.com", got)
	}
}

func TestPasskeyLoginFailures(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)

	// Finish with no ceremony, and with garbage after one.
	expectJSONError(t, c.postJSON("/login/passkey/finish", `{}`), http.StatusUnauthorized, msgPasskeyFailure)
	ev := e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", 0, "no_challenge")
	if ev.Details["step"] != "passkey" {
		t.Errorf("login_failed step %v, want passkey", ev.Details["step"])
	}
	expectStatus(t, c.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	expectJSONError(t, c.postJSON("/login/passkey/finish", `garbage`), http.StatusUnauthorized, msgPasskeyFailure)
	ev = e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", 0, "invalid_assertion")
	if ev.Details["step"] != "passkey" {
		t.Errorf("login_failed step %v, want passkey", ev.Details["step"])
	}
	if c.cookieValue("weftid_session") != "" || c.cookieValue("weftid_signin") != "" {
		t.Error("a failed passkey sign-in left a session or sign-in cookie")
	}

	// A registration ceremony does not answer a sign-in.
	_, uc := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	expectStatus(t, uc.postJSON("/account/passkeys/begin", "{}"), http.StatusOK)
	expectJSONError(t, uc.postJSON("/login/passkey/finish", `{}`), http.StatusUnauthorized, msgPasskeyFailure)
	checkEvent(t, e.lastEvent("login_failed"), "login_failed", 0, "no_challenge")
}

func TestPasskeyThrottle(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	for i := range throttle.PasskeyPerIP.Max() {
		if r := c.postJSON("/login/passkey/finish", `garbage`); r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.Status)
		}
	}
	expectJSONError(t, c.postJSON("/login/passkey/begin", "{}"), http.StatusTooManyRequests, msgThrottled)
	expectJSONError(t, c.postJSON("/login/passkey/finish", "{}"), http.StatusTooManyRequests, msgThrottled)

	// Another address is not affected; the throttled one recovers after the window.
	other := e.newClient()
	expectStatus(t, other.get("/login"), http.StatusOK)
	expectStatus(t, other.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	e.clock.Advance(throttle.PasskeyPerIP.Window())
	expectStatus(t, c.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
}

// ---- pages ----

func TestPasskeyOffered(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	r := c.get("/login")
	for _, want := range []string{`data-passkey="signin"`, "Sign in with a passkey", "data-csrf=", `data-begin="/login/passkey/begin"`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("/login lacks %q", want)
		}
	}

	with := e.createUser("with@example.com", "With", store.RoleUser, store.StatusActive)
	e.addPasskey(with.ID, 1, "Key")
	without := e.createUser("without@example.com", "Without", store.RoleUser, store.StatusActive)

	cw := e.newClient()
	cw.startSignIn(with.Email, testPassword)
	page := cw.get("/login/verify")
	if !strings.Contains(page.Body, "Use a passkey instead") || !strings.Contains(page.Body, `value="email"`) {
		t.Error("verify page of a user with a passkey does not offer it next to the e-mail code")
	}
	// On that page the passkey is this sign-in's second factor: only this user's credentials.
	if !strings.Contains(page.Body, `data-begin="/login/passkey/begin?for=second_factor"`) {
		t.Error("the verify page's passkey button does not ask for the second factor")
	}
	r = cw.postJSON(beginSecondFactor, "{}")
	expectStatus(t, r, http.StatusOK)
	allow, _ := dig(jsonOf(t, r), "publicKey", "allowCredentials").([]any)
	if len(allow) != 1 || dig(allow[0], "id") != b64url([]byte{1}) {
		t.Errorf("allowCredentials %v, want the user's one passkey", allow)
	}

	co := e.newClient()
	co.startSignIn(without.Email, testPassword)
	if strings.Contains(co.get("/login/verify").Body, "Use a passkey instead") {
		t.Error("verify page of a user without a passkey offers one")
	}

	// A TOTP user with a passkey is offered both.
	tu, _, _, _ := e.totpUser("both@example.com", "Both")
	e.addPasskey(tu.ID, 2, "Key")
	cb := e.newClient()
	cb.startSignIn(tu.Email, testPassword)
	page = cb.get("/login/verify")
	if !strings.Contains(page.Body, "Use a passkey instead") || !strings.Contains(page.Body, `value="totp"`) {
		t.Error("verify page of a TOTP user with a passkey does not offer both")
	}
}

// TestPasskeyLoginAfterAbandonedSignIn: "Sign in with a passkey" on /login is a whole sign-in
// with a discoverable credential, even when this browser left a password sign-in unfinished
// (e.g. it followed "Sign in as someone else" from /login/verify).
func TestPasskeyLoginAfterAbandonedSignIn(t *testing.T) {
	e := newEnv(t)
	noKey := e.createUser("nokey@example.com", "No key", store.RoleUser, store.StatusActive)
	withKey := e.createUser("key@example.com", "Key", store.RoleUser, store.StatusActive)
	e.addPasskey(withKey.ID, 1, "Key")

	for _, u := range []store.User{noKey, withKey} {
		c := e.newClient()
		c.startSignIn(u.Email, testPassword)
		expectStatus(t, c.get("/login"), http.StatusOK) // "Sign in as someone else"
		r := c.postJSON("/login/passkey/begin", "{}")
		if r.Status != http.StatusOK {
			t.Errorf("%s: passkey button on /login after an abandoned sign-in: %s", u.Email, r)
			continue
		}
		if allow, _ := dig(jsonOf(t, r), "publicKey", "allowCredentials").([]any); len(allow) != 0 {
			t.Errorf("%s: /login offers only the abandoned sign-in's passkeys %v, want a discoverable sign-in", u.Email, allow)
		}
	}
}

// ---- CSRF ----

func TestSecondFactorCSRF(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("cs@example.com", "Cs", store.RoleUser)
	p := e.addPasskey(u.ID, 1, "Laptop")
	expectStatus(t, c.get("/account/security"), http.StatusOK)

	routes := []string{
		"/account/security/totp/setup",
		"/account/security/totp",
		"/account/security/totp/remove",
		"/account/security/backup-codes",
		"/account/passkeys/begin",
		"/account/passkeys/finish",
		fmt.Sprintf("/account/passkeys/%d/rename", p.ID),
		fmt.Sprintf("/account/passkeys/%d/delete", p.ID),
		"/login/passkey/begin",
		"/login/passkey/finish",
		"/login/verify",
		"/login/verify/resend",
	}
	for _, path := range routes {
		form := url.Values{"name": {"Hijacked"}, "password": {testPassword}, "code": {"123456"}}
		expectStatus(t, c.postRaw(path, form, nil), http.StatusForbidden)
		form.Set("_csrf", "forged")
		expectStatus(t, c.postRaw(path, form, nil), http.StatusForbidden)
		r := c.do(http.MethodPost, path, strings.NewReader("{}"), http.Header{"Content-Type": {"application/json"}})
		expectStatus(t, r, http.StatusForbidden)
		// The right token from another site's page is refused too.
		r = c.do(http.MethodPost, path, strings.NewReader("{}"), http.Header{
			"Content-Type": {"application/json"}, "X-CSRF-Token": {c.token()}, "Origin": {"https://evil.example"},
		})
		expectStatus(t, r, http.StatusForbidden)
	}
	if _, ok := e.totpOf(u.ID); ok {
		t.Error("a forged request started a TOTP setup")
	}
	if ps := e.passkeys(u.ID); len(ps) != 1 || ps[0].Name != "Laptop" {
		t.Errorf("forged requests changed the passkeys: %+v", ps)
	}
	for _, typ := range []string{"passkey_renamed", "passkey_revoked", "mfa_backup_codes_regenerated", "mfa_totp_removed"} {
		if n := len(e.eventsOf(typ)); n != 0 {
			t.Errorf("%d %s events after forged requests", n, typ)
		}
	}
}

// ---- passkeys end to end, with a software authenticator ----

// softKey is a software passkey: a P-256 key answering WebAuthn ceremonies the way a platform
// authenticator does (attestation "none", user present and verified).
type softKey struct {
	t      *testing.T
	key    *ecdsa.PrivateKey
	id     []byte
	handle []byte // the user handle it was registered with
	count  uint32 // signature counter of the next assertion
	origin string
	rpID   string
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, key: key, id: id, origin: baseURL, rpID: "localhost"}
}

func (k *softKey) cose() []byte {
	k.t.Helper()
	pub, err := k.key.PublicKey.ECDH()
	if err != nil {
		k.t.Fatal(err)
	}
	pt := pub.Bytes() // 0x04 || X || Y
	b, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pt[1:33], YCoord: pt[33:65],
	})
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

func (k *softKey) authData(flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// create answers a registration's options.
func (k *softKey) create(opts map[string]any) string {
	k.t.Helper()
	challenge, _ := dig(opts, "publicKey", "challenge").(string)
	userID, _ := dig(opts, "publicKey", "user", "id").(string)
	handle, err := base64.RawURLEncoding.DecodeString(userID)
	if err != nil {
		k.t.Fatalf("user.id: %v", err)
	}
	k.handle = handle
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), k.cose()...)
	obj, err := webauthncbor.Marshal(map[string]any{
		"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(flagUP|flagUV|flagAT, 0, attested),
	})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64url(k.id), "rawId": b64url(k.id), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url(k.clientData("webauthn.create", challenge)),
			"attestationObject": b64url(obj),
			"transports":        []string{"internal"},
		},
	})
	return string(b)
}

// get answers a sign-in's options with flags and the current counter.
func (k *softKey) getWith(opts map[string]any, flags byte) string {
	k.t.Helper()
	challenge, _ := dig(opts, "publicKey", "challenge").(string)
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(flags, k.count, nil)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(ad), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64url(k.id), "rawId": b64url(k.id), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url(cd),
			"authenticatorData": b64url(ad),
			"signature":         b64url(sig),
			"userHandle":        b64url(k.handle),
		},
	})
	return string(b)
}

func (k *softKey) get(opts map[string]any) string { return k.getWith(opts, flagUP|flagUV) }

// registerSoftKey registers a software passkey for a signed-in client through the real routes.
func registerSoftKey(t *testing.T, c *client, name string) *softKey {
	t.Helper()
	k := newSoftKey(t)
	r := c.postJSON("/account/passkeys/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = c.postJSON("/account/passkeys/finish?name="+url.QueryEscape(name), k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/account/security?notice=passkey_added" {
		t.Errorf("registration redirect %v", got)
	}
	return k
}

const (
	beginWhole        = "/login/passkey/begin"                   // /login's button
	beginSecondFactor = "/login/passkey/begin?for=second_factor" // /login/verify's button
)

// passkeyLogin begins a passkey sign-in (a whole one, as on /login) and answers it with answer.
func passkeyLogin(t *testing.T, c *client, answer func(map[string]any) string) *response {
	t.Helper()
	return passkeyLoginAt(t, c, beginWhole, answer)
}

// passkeyLoginAt begins a passkey sign-in at begin and answers it with answer.
func passkeyLoginAt(t *testing.T, c *client, begin string, answer func(map[string]any) string) *response {
	t.Helper()
	r := c.postJSON(begin, "{}")
	expectStatus(t, r, http.StatusOK)
	return c.postJSON("/login/passkey/finish", answer(jsonOf(t, r)))
}

func expectPasskeySignedIn(t *testing.T, e *env, c *client, r *response, userID int64, method string) {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/dashboard" {
		t.Errorf("redirect %v, want /dashboard", got)
	}
	if c.cookieValue("weftid_session") == "" {
		t.Fatal("no session after a passkey sign-in")
	}
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", userID, "")
	if got, _ := ev.Details["method"].(string); got != method {
		t.Errorf("user_signed_in method %q, want %q", got, method)
	}
}

func expectPasskeyRefused(t *testing.T, e *env, c *client, r *response, userID int64, reason string) {
	t.Helper()
	expectJSONError(t, r, http.StatusUnauthorized, msgPasskeyFailure)
	if c.cookieValue("weftid_session") != "" {
		t.Error("a refused passkey gave a session")
	}
	ev := e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", userID, reason)
	if ev.Details["step"] != "passkey" {
		t.Errorf("login_failed step %v, want passkey", ev.Details["step"])
	}
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	e := newEnv(t)
	u, acct := e.signedIn("kai@example.com", "Kai", store.RoleUser)
	k := registerSoftKey(t, acct, "  My phone ")

	ps := e.passkeys(u.ID)
	if len(ps) != 1 || ps[0].Name != "My phone" || !bytes.Equal(ps[0].CredentialID, k.id) || !ps[0].LastUsedAt.IsZero() {
		t.Fatalf("stored passkeys %+v", ps)
	}
	ev := e.lastEvent("passkey_registered")
	checkEvent(t, ev, "passkey_registered", u.ID, "")
	if ev.Details["name"] != "My phone" {
		t.Errorf("passkey_registered name %v", ev.Details["name"])
	}
	if !strings.Contains(acct.get("/account/security?notice=passkey_added").Body, "Your passkey was registered.") {
		t.Error("no notice after registering")
	}

	// The same authenticator again: the credential is registered already.
	r := acct.postJSON("/account/passkeys/begin", "{}")
	r = acct.postJSON("/account/passkeys/finish?name=again", k.create(jsonOf(t, r)))
	expectJSONError(t, r, http.StatusConflict, msgRegDuplicate)
	if n := len(e.passkeys(u.ID)); n != 1 {
		t.Errorf("%d passkeys after a duplicate registration, want 1", n)
	}

	// A whole sign-in with the passkey, from /login: no password, no code, no mail.
	mails := e.mailsTo(u.Email)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	k.count = 5
	var answer string
	r = passkeyLogin(t, c, func(opts map[string]any) string { answer = k.get(opts); return answer })
	expectPasskeySignedIn(t, e, c, r, u.ID, "passkey")
	if e.mailsTo(u.Email) != mails {
		t.Error("a passkey sign-in sent mail")
	}
	ps = e.passkeys(u.ID)
	if ps[0].SignCount != 5 || !ps[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("after use: sign count %d, last used %v; want 5, %v", ps[0].SignCount, ps[0].LastUsedAt, e.clock.Now())
	}
	if strings.Contains(acct.get("/account/security").Body, "<td>never</td>") {
		t.Error("security page still says the passkey was never used")
	}

	// The same answer again (replayed): its challenge is spent.
	c2 := e.newClient()
	expectStatus(t, c2.get("/login"), http.StatusOK)
	expectPasskeyRefused(t, e, c2, c2.postJSON("/login/passkey/finish", answer), 0, "no_challenge")
	expectStatus(t, c2.postJSON("/login/passkey/begin", "{}"), http.StatusOK)
	expectPasskeyRefused(t, e, c2, c2.postJSON("/login/passkey/finish", answer), u.ID, "invalid_assertion")

	// A counter that goes backwards (or stands still) is a cloned authenticator: refused, logged.
	e.clock.Advance(time.Minute)
	for _, count := range []uint32{3, 5} {
		k.count = count
		c3 := e.newClient()
		expectStatus(t, c3.get("/login"), http.StatusOK)
		expectPasskeyRefused(t, e, c3, passkeyLogin(t, c3, k.get), u.ID, "sign_count_regressed")
	}
	ps = e.passkeys(u.ID)
	if ps[0].SignCount != 5 || ps[0].LastUsedAt.Equal(e.clock.Now()) {
		t.Errorf("a refused counter changed the passkey: count %d, last used %v", ps[0].SignCount, ps[0].LastUsedAt)
	}
	// A counter that moves on works again.
	k.count = 6
	c4 := e.newClient()
	expectStatus(t, c4.get("/login"), http.StatusOK)
	expectPasskeySignedIn(t, e, c4, passkeyLogin(t, c4, k.get), u.ID, "passkey")

	// Without user verification (no PIN, no biometrics) it is refused.
	k.count = 7
	c5 := e.newClient()
	expectStatus(t, c5.get("/login"), http.StatusOK)
	expectPasskeyRefused(t, e, c5, passkeyLogin(t, c5, func(o map[string]any) string { return k.getWith(o, flagUP) }), u.ID, "invalid_assertion")

	// An answer made for another site (phishing origin, or another RP ID) is refused.
	k.count = 8
	k.origin = "https://weftid.example.evil"
	c6 := e.newClient()
	expectStatus(t, c6.get("/login"), http.StatusOK)
	expectPasskeyRefused(t, e, c6, passkeyLogin(t, c6, k.get), u.ID, "invalid_assertion")
	k.origin, k.rpID = baseURL, "evil.example"
	expectPasskeyRefused(t, e, c6, passkeyLogin(t, c6, k.get), u.ID, "invalid_assertion")
	k.rpID = "localhost"

	// Deleted: the passkey no longer signs in.
	expectStatus(t, acct.get("/account/security"), http.StatusOK)
	expectRedirect(t, acct.post(fmt.Sprintf("/account/passkeys/%d/delete", ps[0].ID), nil), "/account/security?notice=passkey_deleted")
	k.count = 9
	c7 := e.newClient()
	expectStatus(t, c7.get("/login"), http.StatusOK)
	expectPasskeyRefused(t, e, c7, passkeyLogin(t, c7, k.get), u.ID, "invalid_assertion")
}

func TestPasskeyZeroCounter(t *testing.T) {
	// Synced passkeys report 0 every time: that is not a clone.
	e := newEnv(t)
	u, acct := e.signedIn("zed@example.com", "Zed", store.RoleUser)
	k := registerSoftKey(t, acct, "Synced")
	for range 2 {
		c := e.newClient()
		expectStatus(t, c.get("/login"), http.StatusOK)
		expectPasskeySignedIn(t, e, c, passkeyLogin(t, c, k.get), u.ID, "passkey")
	}
}

func TestPasskeySecondFactor(t *testing.T) {
	e := newEnv(t)
	u, acct := e.signedIn("sid@example.com", "Sid", store.RoleUser)
	k := registerSoftKey(t, acct, "Laptop")
	other, oacct := e.signedIn("oda@example.com", "Oda", store.RoleUser)
	ok := registerSoftKey(t, oacct, "Oda's")

	// After the password, the passkey instead of the e-mail code.
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	e.waitCode(u.Email)
	k.count = 1
	r := passkeyLoginAt(t, c, beginSecondFactor, func(opts map[string]any) string {
		allow, _ := dig(opts, "publicKey", "allowCredentials").([]any)
		if len(allow) != 1 || dig(allow[0], "id") != b64url(k.id) {
			t.Errorf("allowCredentials %v, want this user's passkey", allow)
		}
		return k.get(opts)
	})
	expectPasskeySignedIn(t, e, c, r, u.ID, "password+passkey")
	if c.cookieValue("weftid_signin") != "" {
		t.Error("the sign-in cookie is still there")
	}

	// Another user's passkey does not finish this user's sign-in.
	c2 := e.newClient()
	c2.startSignIn(u.Email, testPassword)
	e.waitCode(u.Email)
	ok.count = 1
	expectPasskeyRefused(t, e, c2, passkeyLoginAt(t, c2, beginSecondFactor, ok.get), u.ID, "invalid_assertion")
	if n := len(e.passkeys(other.ID)); n != 1 {
		t.Error("the other user's passkey changed")
	}
	// The sign-in is still waiting at its second step.
	expectStatus(t, c2.get("/login/verify"), http.StatusOK)

	// The begun ceremony belongs to the sign-in: without it, it does not finish.
	c3 := e.newClient()
	c3.startSignIn(u.Email, testPassword)
	e.waitCode(u.Email)
	r = c3.postJSON(beginSecondFactor, "{}")
	expectStatus(t, r, http.StatusOK)
	k.count = 2
	answer := k.get(jsonOf(t, r))
	c3.setCookie("weftid_signin", "")
	expectPasskeyRefused(t, e, c3, c3.postJSON("/login/passkey/finish", answer), u.ID, "no_sign_in")
}

func TestPasskeyInactiveUser(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("gone@example.com", "Gone", store.RoleUser, store.StatusInactive)
	k := newSoftKey(t)
	handle, err := e.store.WebAuthnHandle(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	k.handle = handle
	cred, _ := json.Marshal(map[string]any{
		"id": k.id, "publicKey": k.cose(), "attestationType": "none",
		"flags": map[string]any{"userPresent": true, "userVerified": true},
	})
	if _, err := e.store.CreatePasskey(context.Background(), store.Passkey{
		UserID: u.ID, CredentialID: k.id, Name: "k", Credential: string(cred), CreatedAt: e.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	k.count = 1
	expectPasskeyRefused(t, e, c, passkeyLogin(t, c, k.get), u.ID, "inactive")
}

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

// A base URL with an IP address cannot be a WebAuthn relying party: the server still starts and
// signs people in, and the passkey endpoints say why passkeys are off.
func TestPasskeysOffOnIPBaseURL(t *testing.T) {
	e := newEnvWith(t, envOptions{baseURL: "http://127.0.0.1:8080"})
	u := e.createUser("ip@example.com", "Ip", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.get("/login")
	r := c.postRaw("/login/passkey/begin", nil, http.Header{"X-Csrf-Token": {c.token()}, "Content-Type": {"application/json"}})
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "domain name") {
		t.Fatalf("passkey begin on an IP base URL: got %d %s, want 503 saying passkeys need a domain name", r.Status, r.Body)
	}
	c.signIn(u.Email, testPassword)
	r = c.postRaw("/account/passkeys/begin", nil, http.Header{"X-Csrf-Token": {c.token()}, "Content-Type": {"application/json"}})
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("passkey registration on an IP base URL: got %d, want 503", r.Status)
	}
	if !strings.Contains(e.log.String(), "passkeys are unavailable") {
		t.Error("no warning in the log that passkeys are off")
	}
}
