package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Regression tests for the findings of a security review (each failed before its fix).

// A TOTP secret an attacker (with the password and the mailbox) opens during their own
// enrollment is never shown to the victim's enrollment, so they cannot plant the secret the
// victim confirms.
func TestEnrollmentSecretCannotBePlanted(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("ida@example.com", "Ida", store.RoleUser, store.StatusActive)

	attacker := e.toEnroll(u)
	planted, _ := enrollTOTPPage(t, attacker, nil) // GET only: nothing confirmed
	attacker.post("/logout", nil)

	victim := e.toEnroll(u)
	shown, _ := enrollTOTPPage(t, victim, nil)
	if shown == planted {
		t.Fatal("the victim's enrollment shows the secret another sign-in opened")
	}
	expectStatus(t, victim.post("/login/enroll/totp", url.Values{"code": {e.totpAt(shown, 0)}}), http.StatusOK)

	e.clock.Advance(auth.TOTPPeriod)
	later := e.newClient()
	later.startSignIn(u.Email, testPassword)
	r := later.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(planted, 0)}})
	if r.Location == "/dashboard" {
		t.Errorf("signed in with a TOTP secret the attacker opened: %s", r)
	}
}

// A sign-in waiting at enrollment cannot read the secret another sign-in of the same user is
// enrolling, and then finish with it.
func TestEnrollmentSecretCannotBeRead(t *testing.T) {
	e := newEnv(t)
	e.setStrength("enhanced")
	u := e.createUser("ida@example.com", "Ida", store.RoleUser, store.StatusActive)
	victim := e.toEnroll(u)
	attacker := e.toEnroll(u)
	vs, _ := enrollTOTPPage(t, victim, nil)
	as, _ := enrollTOTPPage(t, attacker, nil)
	if vs == as {
		t.Fatal("two sign-ins of one user are shown the same enrollment secret")
	}
	expectStatus(t, victim.post("/login/enroll/totp", url.Values{"code": {e.totpAt(vs, 0)}}), http.StatusOK)
	e.clock.Advance(auth.TOTPPeriod)
	attacker.get("/login/verify")
	r := attacker.post("/login/verify", url.Values{"method": {"totp"}, "code": {e.totpAt(as, 0)}})
	if r.Location == "/dashboard" {
		t.Errorf("the sign-in that enrolled nothing finished with its own secret: %s", r)
	}
}

// Concurrent guesses are each counted before the next is checked: a burst of wrong TOTP codes
// is not evaluated beyond the per-user limit.
func TestConcurrentCodeGuessesAreThrottled(t *testing.T) {
	e := newEnv(t)
	u, _, secret, _ := e.totpUser("tom@example.com", "Tom")
	c := e.newClient()
	c.startSignIn(u.Email, testPassword)
	wrong := e.wrongTOTP(secret)
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"method": {"totp"}, "code": {wrong}, "_csrf": {c.token()}}
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			c.send(http.MethodPost, "/login/verify", strings.NewReader(form.Encode()), h)
		}()
	}
	wg.Wait()
	evaluated := 0
	for _, ev := range e.eventsOf("login_failed") {
		if ev.Details["reason"] == "wrong_code" {
			evaluated++
		}
	}
	if evaluated > throttle.CodePerUser.Max() {
		t.Errorf("%d wrong codes evaluated in one window, want at most %d", evaluated, throttle.CodePerUser.Max())
	}
}

// Concurrent wrong passwords for one account are not checked beyond its limit, with the
// production argon2id parameters (where the race window is widest).
func TestConcurrentPasswordGuessesAreThrottled(t *testing.T) {
	h, err := auth.NewHasher(auth.DefaultArgon2, 2, 128, 30e9)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{hasher: h})
	hash, _ := auth.HashPassword(testPassword, auth.DefaultArgon2)
	u := e.createUserWithHash("pat@example.com", "Pat", store.RoleUser, store.StatusActive, hash)
	c := e.newClient()
	c.get("/login")
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			form := url.Values{"email": {u.Email}, "password": {"guess-" + strconv.Itoa(i)}, "_csrf": {c.token()}}
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			c.send(http.MethodPost, "/login", strings.NewReader(form.Encode()), h)
		}(i)
	}
	wg.Wait()
	n := 0
	for _, ev := range e.eventsOf("login_failed") {
		if ev.Details["reason"] == "wrong_password" {
			n++
		}
	}
	if n > throttle.PasswordPerAccount.Max() {
		t.Errorf("%d wrong passwords checked for one account, want at most %d", n, throttle.PasswordPerAccount.Max())
	}
}

// Nobody can fill the audit log by posting huge addresses to /login.
func TestHugeEmailIsNotLogged(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	c.get("/login")
	big := strings.Repeat("a", 900_000) + "@x.com"
	for i := 0; i < 10; i++ {
		r := c.post("/login", url.Values{"email": {big}, "password": {"x"}})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("huge address: got %d, want 401", r.Status)
		}
	}
	evs, err := e.store.ListEvents(context.Background(), store.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, ev := range evs {
		s, _ := ev.Details["email"].(string)
		stored += len(s)
	}
	if stored > 10_000 {
		t.Errorf("%d bytes of posted addresses stored in the event log", stored)
	}
}

// An admin cannot clear their own second factor from the user pages without proving themselves
// (Account > Security asks for the password or a code).
func TestAdminCannotResetOwnFactorsFromUserPages(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("adm@example.com", "Adm", store.RoleAdmin)
	setUpTOTP(t, e, c)
	page := c.get("/users/" + strconv.FormatInt(u.ID, 10) + "/danger")
	if strings.Contains(page.Body, "Yes, reset two-step verification") {
		t.Error("the Danger tab of your own account offers the reset")
	}
	r := c.post("/users/"+strconv.FormatInt(u.ID, 10)+"/reset-mfa", nil)
	if r.Status != http.StatusForbidden {
		t.Errorf("own reset-mfa: got %d, want 403", r.Status)
	}
	if !e.totpOn(u.ID) {
		t.Error("an admin cleared their own TOTP without their password or a code")
	}
}

// Revoking a user's passkey signs them out everywhere: it is a lost device.
func TestAdminRevokeEndsSessions(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("boss@example.com", "Boss", store.RoleAdmin)
	u, user := e.signedIn("lee@example.com", "Lee", store.RoleUser)
	p, err := e.store.CreatePasskey(context.Background(), store.Passkey{UserID: u.ID, CredentialID: []byte{1, 2, 3}, Name: "Laptop",
		Credential: `{"id":"AQID"}`, CreatedAt: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	expectStatus(t, user.get("/dashboard"), http.StatusOK)
	admin.get("/users/" + strconv.FormatInt(u.ID, 10) + "/profile")
	r := admin.post("/users/"+strconv.FormatInt(u.ID, 10)+"/passkeys/"+strconv.FormatInt(p.ID, 10)+"/revoke", nil)
	expectRedirect(t, r, "/users/"+strconv.FormatInt(u.ID, 10)+"/profile?notice=passkey_revoked")
	expectRedirect(t, user.get("/dashboard"), "/login")
}

// A return address cannot lead off the site, even with characters browsers drop.
func TestSafeReturnTo(t *testing.T) {
	for _, to := range []string{"//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "https://evil.example", "evil"} {
		if got := handlers.SafeReturnTo(to); got != "/dashboard" {
			t.Errorf("safeReturnTo(%q) = %q, want /dashboard", to, got)
		}
	}
	if got := handlers.SafeReturnTo("/users/1/profile?x=1"); got != "/users/1/profile?x=1" {
		t.Errorf("a local path was not kept: %q", got)
	}
}
