package handlers_test

// OpenID Connect: amr (RFC 8176) and acr in ID tokens and introspection, per sign-in method.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/weftid/weftid/store"
)

const (
	acrBaseline = "urn:weftid:loa:baseline"
	acrEnhanced = "urn:weftid:loa:enhanced"
)

// strength is what an ID token or an introspection answer says of the sign-in.
type strength struct {
	AMR []string
	ACR string
}

func strengthOf(m map[string]any) strength {
	acr, _ := m["acr"].(string)
	return strength{AMR: strs(m["amr"]), ACR: acr}
}

func (s strength) is(amr []string, acr string) bool { return slices.Equal(s.AMR, amr) && s.ACR == acr }

// expectStrength has the real RP of app sign in with the signed-in browser b and checks amr
// and acr in the ID token, in introspection (with auth_time), and in the ID token of a refresh.
func expectStrength(t *testing.T, e *env, app oidcApp, b *client, amr []string, acr string) {
	t.Helper()
	p := e.newRP(app)
	f, r := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(localPath(t, r.Location)), f), f)
	if got := strengthOf(idTokenClaims(t, p, tok)); !got.is(amr, acr) {
		t.Errorf("ID token amr %q acr %q, want %q %q", got.AMR, got.ACR, amr, acr)
	}
	st, in := e.introspect(app.ClientID, app.Secret, tok.AccessToken)
	if got := strengthOf(in); st != http.StatusOK || !got.is(amr, acr) || in["auth_time"] == nil {
		t.Errorf("introspection %d amr %q acr %q auth_time %v, want %q %q and an auth_time", st, got.AMR, got.ACR, in["auth_time"], amr, acr)
	}
	refreshed, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if got := strengthOf(idTokenClaims(t, p, refreshed)); !got.is(amr, acr) {
		t.Errorf("refreshed ID token amr %q acr %q, want %q %q", got.AMR, got.ACR, amr, acr)
	}
}

// Each way of signing in gives its RFC 8176 methods: pwd, email (a mailed code, not otp), otp
// (TOTP or a backup code), hwk (a device-bound passkey) or swk (a synced one), mfa for two
// factors (a passkey counts as two: it verifies the user); acr baseline for an email code,
// enhanced for TOTP or a passkey.
func TestOIDCAMRPerSignInMethod(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	n := 0
	newUser := func() store.User {
		n++
		return e.createUser(fmt.Sprintf("m%d@example.com", n), "M", store.RoleUser, store.StatusActive)
	}

	t.Run("email code", func(t *testing.T) {
		_, b := e.signedIn("mail@example.com", "Mail", store.RoleUser)
		expectStrength(t, e, app, b, []string{"pwd", "email", "mfa"}, acrBaseline)
	})
	t.Run("TOTP and backup code", func(t *testing.T) {
		u, _, secret, codes := e.totpUser("totp@example.com", "Totp")
		b, r := e.verifyWith(u.Email, "totp", e.totpAt(secret, 1))
		expectRedirect(t, r, "/dashboard")
		expectStrength(t, e, app, b, []string{"pwd", "otp", "mfa"}, acrEnhanced)
		b, r = e.verifyWith(u.Email, "backup", codes[0])
		expectRedirect(t, r, "/dashboard")
		expectStrength(t, e, app, b, []string{"pwd", "otp", "mfa"}, acrEnhanced)
	})
	t.Run("passkeys", func(t *testing.T) {
		u := newUser()
		acct := e.newClient()
		acct.signIn(u.Email, testPassword)
		device := registerSoftKey(t, acct, "Security key")
		synced := newSoftKey(t)
		synced.extra = flagBE | flagBS
		registerKey(t, acct, "Phone", synced)

		b := e.newClient()
		expectStatus(t, b.get("/login"), http.StatusOK)
		device.count = 1
		expectPasskeySignedIn(t, e, b, passkeyLogin(t, b, device.get), u.ID, "passkey")
		expectStrength(t, e, app, b, []string{"hwk", "mfa"}, acrEnhanced)

		b = e.newClient()
		expectStatus(t, b.get("/login"), http.StatusOK)
		expectPasskeySignedIn(t, e, b, passkeyLogin(t, b, synced.get), u.ID, "passkey")
		expectStrength(t, e, app, b, []string{"swk", "mfa"}, acrEnhanced)

		b = e.newClient()
		b.startSignIn(u.Email, testPassword)
		e.waitCode(u.Email)
		device.count = 2
		expectPasskeySignedIn(t, e, b, passkeyLoginAt(t, b, beginSecondFactor, device.get), u.ID, "password+passkey")
		expectStrength(t, e, app, b, []string{"pwd", "hwk", "mfa"}, acrEnhanced)
	})
	t.Run("enrollment under Enhanced", func(t *testing.T) {
		e.setStrength("enhanced")
		defer e.setStrength("baseline")
		b := e.toEnroll(newUser())
		enrollWithTOTP(t, e, b)
		expectStrength(t, e, app, b, []string{"pwd", "email", "otp", "mfa"}, acrEnhanced)
		b = e.toEnroll(newUser())
		enrollWithPasskey(t, b, "Laptop")
		expectStrength(t, e, app, b, []string{"pwd", "email", "hwk", "mfa"}, acrEnhanced)
	})
	// user_signed_in says it too.
	if ev := e.lastEvent("user_signed_in"); ev.Details["amr"] != "pwd email hwk mfa" {
		t.Errorf("user_signed_in amr %v", ev.Details["amr"])
	}
}
