package handlers_test

// Helpers of the second-factor tests (second_factors_test.go, login_totp_test.go,
// login_passkey_test.go): TOTP codes from the test clock, backup codes, passkey rows and JSON.

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
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

// ---- Account > Security ----

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

func base32Decode(s string) ([]byte, error) {
	// The page shows the secret as apps take it: base32 without padding.
	return base32NoPad.DecodeString(s)
}

// ---- signing in with TOTP ----
