package handlers_test

// Second factors through the real app: TOTP with backup codes on Account > Security and at
// sign-in, and passkeys. Codes are computed here from the secret the setup page shows, with the
// test clock; passkeys are answered by a small software authenticator (softKey, at the end).

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// ---- helpers ----

// ---- TOTP setup ----

// ---- signing in with TOTP ----

// ---- backup codes ----

// ---- throttle ----

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

// ---- pages ----

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
