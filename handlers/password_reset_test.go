package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/store"
)

const (
	newPassword     = "quartz lantern drifts over copper meadows"
	msgResetTitle   = "Password Reset Required"
	msgForgotAnswer = "If an account exists for that address, we sent a link to choose a new password. It works once, for 30 minutes."
	resetSubject    = "Reset your weftid password"
)

// expectFormErrors checks a refused form's list of problems.
func expectFormErrors(t *testing.T, r *response, want ...string) {
	t.Helper()
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if got := formErrors(r.Body); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

const weakPassword = "password123"

var weakErrors = []string{"New password: At least 14 characters.", "New password: Strength at least Strong.", "This is a very common password"}

// forceReset has admin press Danger > Force Password Reset on u.
func forceReset(c *client, u store.User) *response {
	c.t.Helper()
	expectStatus(c.t, c.get("/users/"+itoa(u.ID)+"/danger"), http.StatusOK)
	return c.post("/users/"+itoa(u.ID)+"/force-password-reset", url.Values{})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// resetPassword posts the "Password Reset Required" step.
func resetPassword(c *client, next, confirm string) *response {
	c.t.Helper()
	return c.post("/login/reset-password", url.Values{"new_password": {next}, "confirm_password": {confirm}})
}

func TestForcePasswordResetFlagsRevokesAndEndsSessions(t *testing.T) {
	e := newEnv(t)
	admin, ac := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	u, uc := e.signedIn("user@example.com", "User", store.RoleUser)

	expectStatus(t, ac.get("/users/"+itoa(u.ID)+"/danger"), http.StatusOK)
	r := forceReset(ac, u)
	expectRedirect(t, r, "/users/"+itoa(u.ID)+"/danger?notice=password_reset_forced")
	if !e.user(u.ID).PasswordResetRequired {
		t.Fatal("the user is not flagged")
	}
	ev := e.lastEvent("password_reset_forced")
	checkEvent(t, ev, "password_reset_forced", u.ID, "")
	if ev.ActorID == nil || *ev.ActorID != admin.ID {
		t.Errorf("password_reset_forced actor %v, want the admin %d", ev.ActorID, admin.ID)
	}
	rev := e.lastEvent("oauth2_user_tokens_revoked")
	if rev.UserID == nil || *rev.UserID != u.ID || rev.ActorID == nil || *rev.ActorID != admin.ID {
		t.Errorf("oauth2_user_tokens_revoked user %v actor %v, want %d by %d", rev.UserID, rev.ActorID, u.ID, admin.ID)
	}
	// The Danger tab now says the reset is pending instead of offering it again.
	if body := ac.get("/users/" + itoa(u.ID) + "/danger").Body; !strings.Contains(body, `id="password-reset-pending"`) {
		t.Error("the Danger tab does not say the reset is pending")
	}
	// Pressing it again (an old tab) changes nothing and logs nothing.
	before := len(e.eventsOf("password_reset_forced"))
	expectRedirect(t, ac.post("/users/"+itoa(u.ID)+"/force-password-reset", url.Values{}), "/users/"+itoa(u.ID)+"/danger?notice=password_reset_forced")
	if got := len(e.eventsOf("password_reset_forced")); got != before {
		t.Errorf("a second press logged %d more events", got-before)
	}

	// The user's next page request ends their session and lands on /login.
	r = uc.get("/account/security")
	expectRedirect(t, r, "/login?notice=reset_required")
	if uc.cookieValue("weftid_session") != "" {
		t.Error("the session cookie survived the forced reset")
	}
	expectRedirect(t, uc.get("/dashboard"), "/login")
	if !strings.Contains(uc.get("/login?notice=reset_required").Body, "you must choose a new password") {
		t.Error("/login does not say why the session ended")
	}
	// The admin's own session is untouched.
	expectStatus(t, ac.get("/dashboard"), http.StatusOK)
}

func TestForcePasswordResetPermissions(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	super, sc := e.signedIn("super@example.com", "Super", store.RoleSuperAdmin)
	other := e.createUser("other-super@example.com", "Other super", store.RoleSuperAdmin, store.StatusActive)
	invited := e.createUserWithHash("invited@example.com", "Invited", store.RoleUser, store.StatusActive, "")

	// An admin may not force a super admin's reset; a super admin may.
	expectStatus(t, ac.post("/users/"+itoa(other.ID)+"/force-password-reset", url.Values{}), http.StatusForbidden)
	if e.user(other.ID).PasswordResetRequired {
		t.Fatal("an admin flagged a super admin")
	}
	if body := ac.get("/users/" + itoa(other.ID) + "/danger").Body; strings.Contains(body, "force-password-reset\"") {
		t.Error("the Danger tab offers an admin the super admin's reset")
	}
	expectRedirect(t, forceReset(sc, other), "/users/"+itoa(other.ID)+"/danger?notice=password_reset_forced")
	if !e.user(other.ID).PasswordResetRequired {
		t.Error("a super admin could not flag a super admin")
	}
	// Nobody forces their own reset (Account > Password is for that).
	expectStatus(t, sc.post("/users/"+itoa(super.ID)+"/force-password-reset", url.Values{}), http.StatusForbidden)
	// A user without a password has nothing to reset.
	r := sc.post("/users/"+itoa(invited.ID)+"/force-password-reset", url.Values{})
	expectStatus(t, r, http.StatusConflict)
	expectAlert(t, r, "Invited has no password yet, so there is nothing to reset.")
	// Without the CSRF token nothing happens.
	plain := e.createUser("plain@example.com", "Plain", store.RoleUser, store.StatusActive)
	r = sc.postRaw("/users/"+itoa(plain.ID)+"/force-password-reset", url.Values{}, nil)
	expectStatus(t, r, http.StatusForbidden)
	if e.user(plain.ID).PasswordResetRequired {
		t.Error("a POST without a CSRF token flagged the user")
	}
}

func TestForcedResetSignIn(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("user@example.com", "User", store.RoleUser, store.StatusActive)
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	// The password comes first, as usual, and leads to the reset page, not to a code.
	expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
	if n := e.mailsTo(u.Email); n != 0 {
		t.Fatalf("%d mails before the new password was set", n)
	}
	r := c.get("/login/reset-password")
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "<h1>"+msgResetTitle+"</h1>") || !strings.Contains(r.Body, `aria-live="polite"`) {
		t.Fatalf("the reset page lacks its title or meter:\n%s", r.Body)
	}
	// Skipping ahead is not possible: the second factor and the dashboard send it back.
	expectRedirect(t, c.get("/login/verify"), "/login/reset-password")
	expectRedirect(t, c.post("/login/verify", url.Values{"code": {"123456"}, "method": {"email"}}), "/login/reset-password")
	// Leaving for another page, or /login, comes back to the new password.
	expectRedirect(t, c.get("/dashboard"), "/login/reset-password")
	expectRedirect(t, c.get("/login"), "/login/reset-password")

	// The current password, a weak one and a mismatch are refused, each with its reason.
	expectFormErrors(t, resetPassword(c, testPassword, testPassword), msgSameAsCurrent)
	expectFormErrors(t, resetPassword(c, weakPassword, weakPassword), weakErrors...)
	expectFormErrors(t, resetPassword(c, newPassword, newPassword+"x"), msgConfirmMismatch)
	if !e.user(u.ID).PasswordResetRequired || len(e.eventsOf("password_reset_completed")) != 0 {
		t.Fatal("a refused password cleared the flag or logged completion")
	}

	// A good one leads to the second factor; it is stored only when that is passed too.
	old := e.user(u.ID).PasswordHash
	expectRedirect(t, resetPassword(c, newPassword, newPassword), "/login/verify")
	if got := e.user(u.ID); got.PasswordHash != old || !got.PasswordResetRequired || len(e.eventsOf("password_reset_completed")) != 0 {
		t.Fatal("the new password was stored before the second factor")
	}
	code := e.waitCode(u.Email)
	expectRedirect(t, c.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), "/dashboard")
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	got := e.user(u.ID)
	if got.PasswordHash == old || got.PasswordResetRequired || got.PasswordMinLength != 14 || got.PasswordMinScore != 3 {
		t.Errorf("after the sign-in: flag %v, rule %d/%d; want a new hash, the flag cleared, rule 14/3", got.PasswordResetRequired, got.PasswordMinLength, got.PasswordMinScore)
	}
	checkEvent(t, e.lastEvent("password_reset_completed"), "password_reset_completed", u.ID, "")

	// The old password no longer works; the new one does.
	again := e.newClient()
	expectStatus(t, again.get("/login"), http.StatusOK)
	expectStatus(t, again.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), http.StatusUnauthorized)
	again.signIn(u.Email, newPassword)
}

func TestForcedResetEndsSignInsBegunWithTheOldPassword(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("user@example.com", "User", store.RoleUser, store.StatusActive)
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	attacker, owner := e.newClient(), e.newClient()
	for _, c := range []*client{attacker, owner} {
		expectStatus(t, c.get("/login"), http.StatusOK)
		expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
	}
	// Someone who knows only the old password picks a new one, but cannot pass the second factor.
	expectRedirect(t, resetPassword(attacker, "another long passphrase for me", "another long passphrase for me"), "/login/verify")
	e.waitCode(u.Email) // the attacker's sign-in's code, which only the owner reads
	expectRedirect(t, resetPassword(owner, newPassword, newPassword), "/login/verify")
	code := e.waitCode(u.Email)
	expectRedirect(t, owner.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), "/dashboard")
	// The other sign-in, begun with the old password, is gone: it can neither finish nor set a password.
	expectRedirect(t, attacker.get("/login/verify"), "/login?notice=expired")
	expectRedirect(t, attacker.get("/login/reset-password"), "/login?notice=expired")
	expectRedirect(t, resetPassword(attacker, "another long passphrase for me", "another long passphrase for me"), "/login?notice=expired")
	if n := len(e.eventsOf("password_reset_completed")); n != 1 {
		t.Errorf("%d password_reset_completed events, want 1", n)
	}
}

func TestForcedResetAfterPasskeySignIn(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("keyed@example.com", "Keyed", store.RoleUser)
	k := registerSoftKey(t, c, "Laptop")
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, c.get("/account/security"), "/login?notice=reset_required")

	// A passkey does the password and the second factor, and still leads to the reset page.
	expectStatus(t, c.get("/login"), http.StatusOK)
	r := passkeyLogin(t, c, k.get)
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/login/reset-password" {
		t.Fatalf("passkey sign-in of a flagged user went to %v, want /login/reset-password", got)
	}
	if c.cookieValue("weftid_session") != "" {
		t.Fatal("a flagged user got a session from a passkey")
	}
	expectStatus(t, c.get("/login/reset-password"), http.StatusOK)
	expectFormErrors(t, resetPassword(c, testPassword, testPassword), msgSameAsCurrent)
	// With the second factor done by the passkey, the new password finishes the sign-in.
	expectRedirect(t, resetPassword(c, newPassword, newPassword), "/dashboard")
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	checkEvent(t, e.lastEvent("password_reset_completed"), "password_reset_completed", u.ID, "")
}

// forgot posts the "Forgot password" form and expects the one answer.
func forgot(t *testing.T, c *client, email string) *response {
	t.Helper()
	expectStatus(t, c.get("/password/forgot"), http.StatusOK)
	r := c.post("/password/forgot", url.Values{"email": {email}})
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, msgForgotAnswer) {
		t.Fatalf("forgot password answer:\n%s", r.Body)
	}
	return r
}

// resetLink waits for the reset mail to addr and returns the link's path.
func (e *env) resetLink(addr string) string {
	e.t.Helper()
	msg := e.waitSubject(addr, resetSubject)
	link := mailtest.FindLink(msg.Text, baseURL+"/password/reset/")
	if link == "" {
		e.t.Fatalf("no reset link in:\n%s", msg.Text)
	}
	return strings.TrimPrefix(link, baseURL)
}

func TestForgotPasswordSelfServiceReset(t *testing.T) {
	e := newEnv(t)
	u, signedIn := e.signedIn("user@example.com", "User", store.RoleUser)
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err) // a flagged user may reset by mail too: the new password is the one asked for
	}
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	if !strings.Contains(c.get("/login").Body, `href="/password/forgot"`) {
		t.Error("/login has no Forgot password? link")
	}
	forgot(t, c, "  User@Example.com ")
	path := e.resetLink(u.Email) // the link is made and mailed after the answer
	checkEvent(t, e.lastEvent("password_reset_requested"), "password_reset_requested", u.ID, "")

	r := c.get(path)
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "Choose a new password") || !strings.Contains(r.Body, `aria-live="polite"`) {
		t.Fatalf("reset page:\n%s", r.Body)
	}
	// Under the policy: weak and mismatched passwords are refused and the link still works.
	expectFormErrors(t, c.post(path, url.Values{"new_password": {weakPassword}, "confirm_password": {weakPassword}}), weakErrors...)
	expectStatus(t, c.post(path, url.Values{"new_password": {newPassword}, "confirm_password": {"x"}}), http.StatusUnprocessableEntity)

	expectRedirect(t, c.post(path, url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}), "/login?notice=password_reset")
	got := e.user(u.ID)
	if got.PasswordResetRequired || got.PasswordMinLength != 14 {
		t.Errorf("after the self-service reset: flag %v, rule length %d", got.PasswordResetRequired, got.PasswordMinLength)
	}
	ev := e.lastEvent("password_self_reset_completed")
	checkEvent(t, ev, "password_self_reset_completed", u.ID, "")
	if n, _ := ev.Details["other_sessions_ended"].(float64); n != 1 {
		t.Errorf("other_sessions_ended %v, want 1", ev.Details["other_sessions_ended"])
	}
	// The user's other session ended.
	expectRedirect(t, signedIn.get("/account/security"), "/login")
	// The link works once.
	expectStatus(t, c.get(path), http.StatusNotFound)
	expectStatus(t, c.post(path, url.Values{"new_password": {newPassword + "!"}, "confirm_password": {newPassword + "!"}}), http.StatusNotFound)
	// The user then signs in normally, second factor included.
	c.signIn(u.Email, newPassword)
}

func TestForgotPasswordAnswersTheSame(t *testing.T) {
	e := newEnv(t)
	known := e.createUser("known@example.com", "Known", store.RoleUser, store.StatusActive)
	gone := e.createUser("gone@example.com", "Gone", store.RoleUser, store.StatusInactive)
	c := e.newClient()
	strip := func(body string) string {
		// The pages differ only in the CSRF token and the address typed back.
		body = strings.ReplaceAll(body, c.token(), "")
		for _, a := range []string{known.Email, gone.Email, "nobody@example.com"} {
			body = strings.ReplaceAll(body, a, "")
		}
		return body
	}
	a := strip(forgot(t, c, known.Email).Body)
	b := strip(forgot(t, c, "nobody@example.com").Body)
	d := strip(forgot(t, c, gone.Email).Body)
	if a != b || a != d {
		t.Error("the answers for a known, an unknown and a deactivated address differ")
	}
	e.resetLink(known.Email)
	// Only the known, active address got a link or an event.
	evs := e.eventsOf("password_reset_requested")
	if len(evs) != 1 || *evs[0].UserID != known.ID {
		t.Errorf("password_reset_requested events %s, want one for the known user", eventSummary(evs))
	}
	// Every request's background work is done (a link stored, a mail sent or none): count.
	e.jobs.Wait()
	if n := e.mailsTo(gone.Email) + e.mailsTo("nobody@example.com"); n != 0 {
		t.Errorf("%d mails to a deactivated or unknown address", n)
	}
	// A malformed address is a form error, not the answer.
	r := c.post("/password/forgot", url.Values{"email": {"not an address"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Enter a valid email address.")
}

func TestPasswordResetLinkExpiresAndDiesWithDeactivation(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("user@example.com", "User", store.RoleUser, store.StatusActive)
	c := e.newClient()
	forgot(t, c, u.Email)
	path := e.resetLink(u.Email)
	e.clock.Advance(30*time.Minute + time.Second)
	r := c.get(path)
	expectStatus(t, r, http.StatusNotFound)
	expectAlert(t, r, "This password reset link is invalid, was used already, or has expired. Links work once, for 30 minutes.")

	forgot(t, c, u.Email)
	path = e.resetLink(u.Email)
	expectStatus(t, c.get(path), http.StatusOK)
	if err := e.store.SetUserStatus(context.Background(), u.ID, store.StatusInactive, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	expectStatus(t, c.post(path, url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}), http.StatusNotFound)
	if e.user(u.ID).PasswordHash == "" || len(e.eventsOf("password_self_reset_completed")) != 0 {
		t.Error("a deactivated user's link set a password")
	}
	// A mistyped token is the same "does not work" page.
	expectStatus(t, c.get("/password/reset/not-a-token"), http.StatusNotFound)
}

func TestForgotPasswordThrottled(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("user@example.com", "User", store.RoleUser, store.StatusActive)
	c := e.newClient()
	for range 3 {
		forgot(t, c, u.Email)
	}
	r := c.post("/password/forgot", url.Values{"email": {u.Email}})
	expectStatus(t, r, http.StatusTooManyRequests)
	// An unknown address is limited the same way, so the limit says nothing about accounts.
	for range 3 {
		forgot(t, c, "nobody@example.com")
	}
	expectStatus(t, c.post("/password/forgot", url.Values{"email": {"nobody@example.com"}}), http.StatusTooManyRequests)
	for range 3 {
		e.resetLink(u.Email) // made after the answers
	}
	if n := len(e.eventsOf("password_reset_requested")); n != 3 {
		t.Errorf("%d password_reset_requested events, want 3", n)
	}
	// Per IP: 20 requests an hour, whatever the addresses.
	ip := e.newClient()
	for i := range 20 {
		forgot(t, ip, "someone"+itoa(int64(i))+"@example.com")
	}
	expectStatus(t, ip.post("/password/forgot", url.Values{"email": {"fresh@example.com"}}), http.StatusTooManyRequests)
	// An hour later the address may ask again.
	e.clock.Advance(time.Hour)
	forgot(t, c, u.Email)
}

func TestRequireResetForWeakerPasswords(t *testing.T) {
	e := newEnv(t)
	super, sc := e.signedIn("super@example.com", "Super", store.RoleSuperAdmin)
	ctx := context.Background()
	// Passwords set under 14/3 (the default rule), recorded as such.
	mk := func(email string, length, score int) store.User {
		u := e.createUser(email, email, store.RoleUser, store.StatusActive)
		if err := e.store.SetPassword(ctx, u.ID, store.NewPassword{Hash: u.PasswordHash, MinLength: length, MinScore: score}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		return u
	}
	a := mk("a@example.com", 14, 3)
	b := mk("b@example.com", 16, 3)
	strong := mk("c@example.com", 20, 4)
	if err := e.store.SetPassword(ctx, super.ID, store.NewPassword{Hash: super.PasswordHash, MinLength: 14, MinScore: 3}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := sc.get("/settings/security/passwords")
	if strings.Contains(r.Body, "weaker-passwords") {
		t.Fatal("the page offers resets while every password meets the rule")
	}

	// Raising the minimum length to 16 makes a's and the super admin's passwords weaker.
	expectRedirect(t, sc.post("/settings/security/passwords", url.Values{"minimum_password_length": {"16"}, "minimum_strength_score": {"3"}}),
		"/settings/security/passwords?notice=saved")
	r = sc.get("/settings/security/passwords")
	if !strings.Contains(r.Body, "2 users have a password set under a weaker rule") {
		t.Fatalf("the page does not count 2 weaker passwords:\n%s", r.Body)
	}
	// Raising the score too adds b's.
	expectRedirect(t, sc.post("/settings/security/passwords", url.Values{"minimum_password_length": {"16"}, "minimum_strength_score": {"4"}}),
		"/settings/security/passwords?notice=saved")
	if r = sc.get("/settings/security/passwords"); !strings.Contains(r.Body, "3 users have a password set under a weaker rule") {
		t.Fatalf("the page does not count 3 weaker passwords:\n%s", r.Body)
	}

	r = sc.post("/settings/security/passwords/require-reset", url.Values{})
	expectRedirect(t, r, "/settings/security/passwords?notice=resets_required&n=3")
	for _, u := range []store.User{a, b, super} {
		if !e.user(u.ID).PasswordResetRequired {
			t.Errorf("%s is not flagged", u.Email)
		}
	}
	if e.user(strong.ID).PasswordResetRequired {
		t.Error("a password set under the current rule was flagged")
	}
	evs := e.eventsOf("password_reset_forced")
	if len(evs) != 3 {
		t.Fatalf("password_reset_forced events %s, want 3", eventSummary(evs))
	}
	for _, ev := range evs {
		if ev.ActorID == nil || *ev.ActorID != super.ID || ev.Details["reason"] != "password_policy" {
			t.Errorf("event %+v: want actor %d and reason password_policy", ev, super.ID)
		}
	}
	if n := len(e.eventsOf("oauth2_user_tokens_revoked")); n != 3 {
		t.Errorf("%d oauth2_user_tokens_revoked events, want 3", n)
	}
	// The super admin flagged themselves too: their session ends on the next request.
	expectRedirect(t, sc.get("/settings/security/passwords?notice=resets_required&n=3"), "/login?notice=reset_required")

	// Admins cannot reach it.
	_, ac := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	expectStatus(t, ac.post("/settings/security/passwords/require-reset", url.Values{}), http.StatusForbidden)
}

func TestResetLinkMeterJudgesByTheLinksUser(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(8, 3)
	super := e.createUser("super@example.com", "Super", store.RoleSuperAdmin, store.StatusActive)
	c := e.newClient()
	forgot(t, c, super.Email)
	path := e.resetLink(super.Email)
	expectStatus(t, c.get(path), http.StatusOK)
	token := strings.TrimPrefix(path, "/password/reset/")
	// A super admin needs 14 characters whatever the policy: the meter knows whose link it is.
	if body := c.post("/password/strength", url.Values{"new_password": {"x"}, "reset": {token}}).Body; !strings.Contains(body, "At least 14 characters") {
		t.Errorf("the meter on a super admin's reset link:\n%s", body)
	}
	if body := c.post("/password/strength", url.Values{"new_password": {"x"}, "reset": {"wrong"}}).Body; !strings.Contains(body, "At least 8 characters") {
		t.Errorf("the meter without a valid link:\n%s", body)
	}
}
