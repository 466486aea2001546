package handlers_test

// Account > Security: the page and setting up TOTP.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/url"
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
		"Work &lt;laptop&gt;", "Phone", e.clock.Now().Format("2 Jan 2006"), "6 May 2030", `<td data-label="Last used">never</td>`,
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
		if hits := e.dbFilesContain(secret); len(hits) != 0 {
			t.Errorf("the TOTP secret is in clear in %v", hits)
		}
		for _, code := range codes {
			for _, form := range []string{code, auth.NormalizeBackupCode(code)} {
				if hits := e.dbFilesContain(form); len(hits) != 0 {
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
