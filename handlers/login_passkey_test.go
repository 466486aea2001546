package handlers_test

// Passkey sign-in, whole or as the second factor, answered by softKey (webauthn_softkey_test.go).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

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

// ---- passkeys: rename and delete ----

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
	mails := e.codeMailsTo(u.Email)
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	k.count = 5
	var answer string
	r = passkeyLogin(t, c, func(opts map[string]any) string { answer = k.get(opts); return answer })
	expectPasskeySignedIn(t, e, c, r, u.ID, "passkey")
	if e.codeMailsTo(u.Email) != mails {
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
