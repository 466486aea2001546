package handlers_test

// Second factors through the real app on Account > Security: TOTP with backup codes, and
// passkeys. Codes are computed from the secret the setup page shows, with the test clock
// (second_factors_helpers_test.go); passkeys are answered by a small software authenticator
// (webauthn_softkey_test.go). Their use at sign-in: login_totp_test.go, login_passkey_test.go.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

func TestAccountSecurityPage(t *testing.T) {
	e := newEnv(t)
	anon := e.newClient()
	expectRedirect(t, anon.get("/account/security"), "/login")
	expectRedirect(t, anon.get("/account/security/totp"), "/login")

	u, c := e.signedIn("sam@example.com", "Sam", store.RoleUser)
	r := c.get("/account/security")
	expectStatus(t, r, http.StatusOK)
	for _, want := range []string{
		"Set up TOTP", `action="/account/security/totp/setup"`, `id="passkeys"`, "No passkeys yet.",
		"Register a passkey", `data-begin="/account/passkeys/begin"`, `data-finish="/account/passkeys/finish"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("security page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Regenerate backup codes", "Remove TOTP"} {
		if strings.Contains(r.Body, unwanted) {
			t.Errorf("security page of a user without TOTP shows %q", unwanted)
		}
	}
	expectNoAlert(t, r)

	// The list: name, date added and last used, with rename and delete forms.
	p := e.addPasskey(u.ID, 7, "Work <laptop>")
	if err := e.store.UsePasskey(context.Background(), p.ID, p.Credential, 3, time.Date(2030, 5, 6, 7, 8, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	e.addPasskey(u.ID, 8, "Phone")
	r = c.get("/account/security")
	for _, want := range []string{
		"Work &lt;laptop&gt;", "Phone", e.clock.Now().Format("2 Jan 2006"), "6 May 2030", "<td>never</td>",
		fmt.Sprintf(`action="/account/passkeys/%d/rename"`, p.ID), fmt.Sprintf(`action="/account/passkeys/%d/delete"`, p.ID),
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("security page with passkeys lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "Work <laptop>") {
		t.Error("a passkey name is not escaped")
	}
	if strings.Contains(r.Body, "No passkeys yet.") {
		t.Error("page says no passkeys while there are two")
	}
	// Notices come from a fixed list.
	r = c.get("/account/security?notice=passkey_renamed")
	if !strings.Contains(r.Body, "The passkey was renamed.") {
		t.Error("notice passkey_renamed not shown")
	}
	r = c.get("/account/security?notice=%3Cb%3Eowned")
	if strings.Contains(r.Body, "owned") {
		t.Error("an unknown notice is echoed")
	}
}

// ---- TOTP setup ----

func TestTOTPSetup(t *testing.T) {
	t.Run("flow", func(t *testing.T) {
		e := newEnv(t)
		u, c := e.signedIn("tia@example.com", "Tia", store.RoleUser)
		secret, page := beginTOTP(t, c)

		raw, err := base32Decode(secret)
		if err != nil || len(raw) != 20 {
			t.Errorf("secret %q on the page: %d bytes, %v; want base32 of 20 bytes", secret, len(raw), err)
		}
		m := qrImage.FindStringSubmatch(page.Body)
		if m == nil {
			t.Fatalf("no QR image on the setup page:\n%s", page)
		}
		src := html.UnescapeString(m[1])
		const prefix = "data:image/png;base64,"
		if !strings.HasPrefix(src, prefix) {
			t.Fatalf("QR src %.60q, want a %s URI", src, prefix)
		}
		pngBytes, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, prefix))
		if err != nil {
			t.Fatalf("QR data URI is not base64: %v", err)
		}
		if _, err := png.Decode(bytes.NewReader(pngBytes)); err != nil {
			t.Errorf("QR data URI is not a PNG: %v", err)
		}
		if t0, ok := e.totpOf(u.ID); !ok || t0.Confirmed() {
			t.Errorf("after starting the setup: row %+v, %v; want a pending setup", t0, ok)
		}

		// A wrong code: 422, the alert, the same secret again, TOTP still off.
		right := e.totpAt(secret, 0)
		r := c.post("/account/security/totp", url.Values{"code": {e.wrongTOTP(secret)}})
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectAlert(t, r, msgSetupWrongCode)
		if m := totpSecretField.FindStringSubmatch(r.Body); m == nil || strings.ReplaceAll(m[1], " ", "") != secret {
			t.Error("the refused page does not show the same secret again")
		}
		if e.totpOn(u.ID) {
			t.Fatal("a wrong code turned TOTP on")
		}
		if n := len(e.eventsOf("mfa_totp_enabled")); n != 0 {
			t.Errorf("%d mfa_totp_enabled events after a wrong code", n)
		}
		for _, bad := range []string{"", "12345", "abcdef", e.totpAt(secret, 2), e.totpAt(secret, -2)} {
			if r := c.post("/account/security/totp", url.Values{"code": {bad}}); r.Status != http.StatusUnprocessableEntity {
				t.Errorf("code %q: status %d, want 422", bad, r.Status)
			}
		}
		if !strings.Contains(c.get("/account/security").Body, "Set up TOTP") {
			t.Error("security page after wrong codes does not offer the setup")
		}

		// The right code (spaces allowed): the backup codes, once.
		r = c.post("/account/security/totp", url.Values{"code": {right[:3] + " " + right[3:]}})
		expectStatus(t, r, http.StatusOK)
		codes := backupCodesOf(t, r)
		if len(codes) != 10 {
			t.Fatalf("%d backup codes shown, want 10: %q", len(codes), codes)
		}
		seen := map[string]bool{}
		for _, code := range codes {
			if !backupCodeForm.MatchString(code) {
				t.Errorf("backup code %q is not XXXX-XXXX", code)
			}
			if seen[code] {
				t.Errorf("backup code %q shown twice", code)
			}
			seen[code] = true
		}
		for _, want := range []string{`download="weftid-backup-codes.txt"`, `data-copy="backup-codes"`, `href="/account/security"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("backup codes page lacks %q", want)
			}
		}
		if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "no-store") {
			t.Errorf("backup codes page Cache-Control %q, want no-store", got)
		}
		checkEvent(t, e.lastEvent("mfa_totp_enabled"), "mfa_totp_enabled", u.ID, "")
		if !e.totpOn(u.ID) {
			t.Fatal("TOTP is not on after the right code")
		}
		if n := e.backupLeft(u.ID); n != 10 {
			t.Errorf("%d backup codes stored, want 10", n)
		}

		// At rest: the secret sealed, the codes hashed.
		row, _ := e.totpOf(u.ID)
		if bytes.Contains(row.SecretEnc, []byte(secret)) || bytes.Contains(row.SecretEnc, raw) {
			t.Error("totp.secret_enc holds the secret in clear")
		}
		if row.LastStep != auth.TOTPStep(e.clock.Now()) {
			t.Errorf("last step %d, want the confirming code's %d", row.LastStep, auth.TOTPStep(e.clock.Now()))
		}
		if hits := dbFilesContain(t, secret); len(hits) != 0 {
			t.Errorf("the TOTP secret is in clear in %v", hits)
		}
		for _, code := range codes {
			for _, form := range []string{code, auth.NormalizeBackupCode(code)} {
				if hits := dbFilesContain(t, form); len(hits) != 0 {
					t.Errorf("backup code %q is in clear in %v", form, hits)
				}
			}
		}

		r = c.get("/account/security")
		for _, want := range []string{"On.", "10 of 10 backup codes left.", "Regenerate backup codes", "Remove TOTP"} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("security page with TOTP on lacks %q", want)
			}
		}
		if strings.Contains(r.Body, "Set up TOTP</button>") {
			t.Error("security page with TOTP on still offers the setup")
		}

		// Nothing pending any more; a new setup cannot replace the authenticator.
		expectRedirect(t, c.get("/account/security/totp"), "/account/security")
		expectRedirect(t, c.post("/account/security/totp", url.Values{"code": {right}}), "/account/security")
		expectRedirect(t, c.post("/account/security/totp/setup", nil), "/account/security")
		if again, _ := e.totpOf(u.ID); !bytes.Equal(again.SecretEnc, row.SecretEnc) || !again.Confirmed() {
			t.Error("a second setup changed the confirmed authenticator")
		}
		if n := len(e.eventsOf("mfa_totp_enabled")); n != 1 {
			t.Errorf("%d mfa_totp_enabled events, want 1", n)
		}
	})

	t.Run("restarting replaces the pending secret", func(t *testing.T) {
		e := newEnv(t)
		u, c := e.signedIn("tia@example.com", "Tia", store.RoleUser)
		first, _ := beginTOTP(t, c)
		second, _ := beginTOTP(t, c)
		if first == second {
			t.Fatal("a new setup shows the same secret")
		}
		if e.totpAt(first, 0) != e.totpAt(second, 0) {
			r := c.post("/account/security/totp", url.Values{"code": {e.totpAt(first, 0)}})
			expectStatus(t, r, http.StatusUnprocessableEntity)
		}
		expectStatus(t, c.post("/account/security/totp", url.Values{"code": {e.totpAt(second, 0)}}), http.StatusOK)
		if !e.totpOn(u.ID) {
			t.Error("TOTP not on")
		}
	})

	t.Run("wrong codes are throttled", func(t *testing.T) {
		e := newEnv(t)
		u, c := e.signedIn("tia@example.com", "Tia", store.RoleUser)
		secret, _ := beginTOTP(t, c)
		right := e.totpAt(secret, 0)
		for i := range throttle.CodePerUser.Max() {
			if r := c.post("/account/security/totp", url.Values{"code": {e.wrongTOTP(secret)}}); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("wrong code %d: status %d, want 422", i+1, r.Status)
			}
		}
		r := c.post("/account/security/totp", url.Values{"code": {right}})
		expectStatus(t, r, http.StatusTooManyRequests)
		expectAlert(t, r, msgThrottled)
		if e.totpOn(u.ID) {
			t.Error("TOTP turned on while throttled")
		}
		e.clock.Advance(throttle.CodePerUser.Window())
		expectStatus(t, c.post("/account/security/totp", url.Values{"code": {e.totpAt(secret, 0)}}), http.StatusOK)
	})

	t.Run("signed out", func(t *testing.T) {
		e := newEnv(t)
		c := e.newClient()
		expectStatus(t, c.get("/login"), http.StatusOK)
		expectRedirect(t, c.post("/account/security/totp/setup", nil), "/login")
		expectRedirect(t, c.post("/account/security/totp", url.Values{"code": {"123456"}}), "/login")
		expectRedirect(t, c.post("/account/security/backup-codes", nil), "/login")
		expectRedirect(t, c.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/login")
	})
}

func TestRegenerateBackupCodes(t *testing.T) {
	e := newEnv(t)
	u, acct, _, old := e.totpUser("reg@example.com", "Reg")
	c, r := e.verifyWith(u.Email, "backup", old[0])
	expectSignedInWith(t, e, c, r, u.ID, "password+backup_code")
	if !strings.Contains(acct.get("/account/security").Body, "9 of 10 backup codes left.") {
		t.Error("security page does not show 9 of 10 backup codes left")
	}

	r = acct.post("/account/security/backup-codes", nil)
	expectStatus(t, r, http.StatusOK)
	fresh := backupCodesOf(t, r)
	if len(fresh) != 10 {
		t.Fatalf("%d new codes, want 10", len(fresh))
	}
	for _, code := range fresh {
		if !backupCodeForm.MatchString(code) {
			t.Errorf("new code %q is not XXXX-XXXX", code)
		}
		if slices.Contains(old, code) {
			t.Errorf("new set repeats old code %q", code)
		}
	}
	checkEvent(t, e.lastEvent("mfa_backup_codes_regenerated"), "mfa_backup_codes_regenerated", u.ID, "")
	if !strings.Contains(acct.get("/account/security").Body, "10 of 10 backup codes left.") {
		t.Error("security page does not show 10 of 10 after regenerating")
	}

	// An old code that was never used stops working; a new one works.
	c, r = e.verifyWith(u.Email, "backup", old[5])
	expectOTPRefused(t, e, c, r, u.ID, "", "backup_code")
	c, r = e.verifyWith(u.Email, "backup", fresh[5])
	expectSignedInWith(t, e, c, r, u.ID, "password+backup_code")
	if n := e.backupLeft(u.ID); n != 9 {
		t.Errorf("%d codes left, want 9", n)
	}

	// Without TOTP there is nothing to regenerate.
	nu, nc := e.signedIn("nobody@example.com", "No TOTP", store.RoleUser)
	r = nc.post("/account/security/backup-codes", nil)
	expectStatus(t, r, http.StatusConflict)
	expectAlert(t, r, msgCodesNeedTOTP)
	if n := e.backupLeft(nu.ID); n != 0 {
		t.Errorf("user without TOTP got %d backup codes", n)
	}
	// Nor with a setup that is only pending.
	beginTOTP(t, nc)
	expectStatus(t, nc.post("/account/security/backup-codes", nil), http.StatusConflict)
	if n := e.backupLeft(nu.ID); n != 0 {
		t.Errorf("user with a pending setup got %d backup codes", n)
	}
	if n := len(e.eventsOf("mfa_backup_codes_regenerated")); n != 1 {
		t.Errorf("%d mfa_backup_codes_regenerated events, want 1", n)
	}
}

// ---- throttle ----

func TestRemoveTOTP(t *testing.T) {
	t.Run("with the password", func(t *testing.T) {
		e := newEnv(t)
		u, acct, _, codes := e.totpUser("rob@example.com", "Rob")

		for _, form := range []url.Values{
			{"password": {"not my password"}},
			{},
			{"password": {""}, "code": {""}},
			{"password": {testPassword + strings.Repeat("x", 1024)}}, // over the input limit: never hashed
		} {
			r := acct.post("/account/security/totp/remove", form)
			expectStatus(t, r, http.StatusUnprocessableEntity)
			expectAlert(t, r, msgRemoveRefused)
			if !e.totpOn(u.ID) {
				t.Fatalf("TOTP turned off by %v", form)
			}
		}
		if n := len(e.eventsOf("mfa_totp_removed")); n != 0 {
			t.Errorf("%d mfa_totp_removed events after refusals", n)
		}

		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security?notice=totp_removed")
		checkEvent(t, e.lastEvent("mfa_totp_removed"), "mfa_totp_removed", u.ID, "")
		if _, ok := e.totpOf(u.ID); ok {
			t.Error("the TOTP row is still there")
		}
		if n := e.backupLeft(u.ID); n != 0 {
			t.Errorf("%d backup codes left after removing TOTP, want 0", n)
		}
		r := acct.get("/account/security?notice=totp_removed")
		if !strings.Contains(r.Body, msgTOTPRemoved) || !strings.Contains(r.Body, "Set up TOTP") {
			t.Error("security page after removal lacks the notice or the setup button")
		}

		// The next sign-in uses the e-mail code again; backup codes are no longer a way in.
		mails := e.mailsTo(u.Email)
		c := e.newClient()
		c.startSignIn(u.Email, testPassword)
		code := e.waitCode(u.Email)
		if got := e.mailsTo(u.Email); got != mails+1 {
			t.Errorf("%d mails at sign-in after removal, want 1", got-mails)
		}
		r = c.post("/login/verify", url.Values{"method": {"backup"}, "code": {codes[0]}})
		expectCodeRefusedAt(t, e, c, r, msgCodeFailure, u.ID, "method_not_allowed", "backup_code")
		expectSignedInWith(t, e, c, postCode(c, code), u.ID, "password+email_code")

		// Removing again: nothing to remove.
		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}}), "/account/security")
		if n := len(e.eventsOf("mfa_totp_removed")); n != 1 {
			t.Errorf("%d mfa_totp_removed events, want 1", n)
		}
	})

	t.Run("with a current code", func(t *testing.T) {
		e := newEnv(t)
		u, acct, secret, _ := e.totpUser("rob@example.com", "Rob")
		// The code that turned TOTP on was used: replaying it is refused.
		r := acct.post("/account/security/totp/remove", url.Values{"code": {e.totpAt(secret, 0)}})
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectAlert(t, r, msgRemoveRefused)
		// So is a code two steps away, and a wrong one.
		e.clock.Advance(auth.TOTPPeriod)
		for _, bad := range []string{e.totpAt(secret, 2), e.wrongTOTP(secret), "abc"} {
			expectStatus(t, acct.post("/account/security/totp/remove", url.Values{"code": {bad}}), http.StatusUnprocessableEntity)
		}
		if !e.totpOn(u.ID) {
			t.Fatal("TOTP turned off by a refused code")
		}
		expectRedirect(t, acct.post("/account/security/totp/remove", url.Values{"code": {e.totpAt(secret, 0)}}), "/account/security?notice=totp_removed")
		checkEvent(t, e.lastEvent("mfa_totp_removed"), "mfa_totp_removed", u.ID, "")
		if e.totpOn(u.ID) || e.backupLeft(u.ID) != 0 {
			t.Error("TOTP or backup codes left after removal with a code")
		}
	})

	t.Run("a code used at sign-in cannot remove it", func(t *testing.T) {
		e := newEnv(t)
		u, acct, secret, _ := e.totpUser("rob@example.com", "Rob")
		e.clock.Advance(auth.TOTPPeriod)
		code := e.totpAt(secret, 0)
		c, r := e.verifyWith(u.Email, "totp", code)
		expectSignedInWith(t, e, c, r, u.ID, "password+totp")
		expectStatus(t, acct.post("/account/security/totp/remove", url.Values{"code": {code}}), http.StatusUnprocessableEntity)
		if !e.totpOn(u.ID) {
			t.Error("a replayed code removed TOTP")
		}
	})

	t.Run("guesses are throttled", func(t *testing.T) {
		e := newEnv(t)
		u, acct, _, _ := e.totpUser("rob@example.com", "Rob")
		for i := range throttle.PasswordPerAccount.Max() {
			if r := acct.post("/account/security/totp/remove", url.Values{"password": {fmt.Sprint("guess ", i)}}); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("guess %d: status %d, want 422", i+1, r.Status)
			}
		}
		r := acct.post("/account/security/totp/remove", url.Values{"password": {testPassword}})
		expectStatus(t, r, http.StatusTooManyRequests)
		expectAlert(t, r, msgThrottled)
		if !e.totpOn(u.ID) {
			t.Error("TOTP removed while throttled")
		}
	})
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

func TestPasskeyRenameDelete(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	other, oc := e.signedIn("oz@example.com", "Oz", store.RoleUser)
	p := e.addPasskey(u.ID, 1, "Laptop")
	op := e.addPasskey(other.ID, 2, "Oz's key")
	path := func(p store.Passkey, action string) string {
		return fmt.Sprintf("/account/passkeys/%d/%s", p.ID, action)
	}

	expectStatus(t, c.get("/account/security"), http.StatusOK)
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {"  Work laptop  "}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != "Work laptop" {
		t.Errorf("name after rename %q, want %q", got, "Work laptop")
	}
	ev := e.lastEvent("passkey_renamed")
	checkEvent(t, ev, "passkey_renamed", u.ID, "")
	if ev.Details["name"] != "Work laptop" {
		t.Errorf("passkey_renamed name %v", ev.Details["name"])
	}
	// Empty names become "Passkey"; long ones are cut at 100 characters.
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {"   "}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != "Passkey" {
		t.Errorf("blank rename gave %q, want Passkey", got)
	}
	long := strings.Repeat("é", 150)
	expectRedirect(t, c.post(path(p, "rename"), url.Values{"name": {long}}), "/account/security?notice=passkey_renamed")
	if got := e.passkeys(u.ID)[0].Name; got != strings.Repeat("é", 100) {
		t.Errorf("long rename kept %d characters, want 100", len([]rune(got)))
	}

	// Someone else's passkey, or none: 404 and nothing changes.
	renamed := len(e.eventsOf("passkey_renamed"))
	for _, target := range []string{path(op, "rename"), "/account/passkeys/9999/rename", "/account/passkeys/abc/rename"} {
		expectStatus(t, c.post(target, url.Values{"name": {"Mine now"}}), http.StatusNotFound)
	}
	for _, target := range []string{path(op, "delete"), "/account/passkeys/9999/delete", "/account/passkeys/abc/delete"} {
		expectStatus(t, c.post(target, nil), http.StatusNotFound)
	}
	if ps := e.passkeys(other.ID); len(ps) != 1 || ps[0].Name != "Oz's key" {
		t.Errorf("other user's passkeys after refused calls: %+v", ps)
	}
	if n := len(e.eventsOf("passkey_renamed")); n != renamed {
		t.Errorf("refused renames logged %d events", n-renamed)
	}
	if n := len(e.eventsOf("passkey_revoked")); n != 0 {
		t.Errorf("refused deletes logged %d events", n)
	}

	// Delete by the owner.
	expectRedirect(t, c.post(path(p, "delete"), nil), "/account/security?notice=passkey_deleted")
	if ps := e.passkeys(u.ID); len(ps) != 0 {
		t.Errorf("passkeys after delete: %+v", ps)
	}
	ev = e.lastEvent("passkey_revoked")
	checkEvent(t, ev, "passkey_revoked", u.ID, "")
	if ev.Details["name"] != strings.Repeat("é", 100) {
		t.Errorf("passkey_revoked name %v", ev.Details["name"])
	}
	expectStatus(t, c.post(path(p, "delete"), nil), http.StatusNotFound)
	if !strings.Contains(c.get("/account/security?notice=passkey_deleted").Body, "The passkey was deleted.") {
		t.Error("no notice after delete")
	}
	// The other user may still manage theirs.
	expectStatus(t, oc.get("/account/security"), http.StatusOK)
	expectRedirect(t, oc.post(path(op, "delete"), nil), "/account/security?notice=passkey_deleted")
}

// ---- pages ----

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
