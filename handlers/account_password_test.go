package handlers_test

// Account > Password: changing your own password.

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// wantChangeErrors is what Account > Password must list for a refused new password: each
// requirement the meter shows unmet, in the meter's words, then zxcvbn's warning.
func wantChangeErrors(v meterView) []string {
	var out []string
	for _, u := range v.Unmet {
		out = append(out, "New password: "+u+".")
	}
	if v.Warning != "" && !v.OK {
		out = append(out, v.Warning)
	}
	return out
}

// changePassword posts Account > Password.
func changePassword(c *client, current, next, confirm string) *response {
	c.t.Helper()
	return c.post("/account/password", url.Values{
		"current_password": {current}, "new_password": {next}, "confirm_password": {confirm},
	})
}

func TestAccountPasswordPage(t *testing.T) {
	e := newEnv(t)
	_, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	r := c.get("/account/password")
	expectStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`name="current_password"`, `name="confirm_password"`, `id="new_password"`,
		`hx-post="/password/strength"`, `hx-target="#new_password-meter"`,
		`<div id="new_password-meter" class="meter-region" aria-live="polite">`, `autocomplete="new-password"`,
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	i := strings.Index(r.Body, `<div class="meter"`)
	if i < 0 {
		t.Fatal("no meter on the page")
	}
	v := parseMeter(t, r.Body[i:])
	if !v.Empty || v.OK || !reflect.DeepEqual(v.Unmet, []string{"At least 14 characters", "Strength at least Strong"}) {
		t.Errorf("the empty meter: %+v", v)
	}
	expectNoAlert(t, r)

	signedOut := e.newClient()
	expectRedirect(t, signedOut.get("/account/password"), "/login")
	signedOut.get("/login")
	expectRedirect(t, changePassword(signedOut, testPassword, pwRandom(16, 1), pwRandom(16, 1)), "/login")
}

func TestAccountPasswordChange(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	other := e.newClient()
	other.signIn(u.Email, testPassword)
	c.get("/account/password")
	oldHash := e.user(u.ID).PasswordHash
	good := pwRandom(18, 7)
	refused := func(t *testing.T, r *response, want []string) {
		t.Helper()
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if got := formErrors(r.Body); !reflect.DeepEqual(got, want) {
			t.Errorf("errors:\n got %q\nwant %q", got, want)
		}
		if e.user(u.ID).PasswordHash != oldHash {
			t.Error("a refused change changed the password")
		}
		if n := len(e.eventsOf("password_changed")); n != 0 {
			t.Errorf("password_changed events: %d", n)
		}
	}

	t.Run("without CSRF", func(t *testing.T) {
		r := c.postRaw("/account/password", url.Values{"current_password": {testPassword}, "new_password": {good}, "confirm_password": {good}}, nil)
		expectStatus(t, r, http.StatusForbidden)
		if e.user(u.ID).PasswordHash != oldHash {
			t.Error("the password changed")
		}
	})
	t.Run("wrong current password", func(t *testing.T) {
		refused(t, changePassword(c, "not my password", good, good), []string{msgWrongCurrent})
		checkEvent(t, e.lastEvent("password_change_failed"), "password_change_failed", u.ID, "wrong_current_password")
	})
	t.Run("wrong current password keeps the new ones", func(t *testing.T) {
		typed := "not my password 93"
		r := changePassword(c, typed, good, good+"x")
		refused(t, r, []string{msgWrongCurrent})
		for _, want := range []string{`name="new_password" value="` + good + `"`, `name="confirm_password" value="` + good + `x"`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("the page after a wrong current password lacks %s", want)
			}
		}
		if strings.Contains(r.Body, typed) {
			t.Error("the page sends the typed current password back")
		}
	})
	t.Run("refused new password is not sent back", func(t *testing.T) {
		r := changePassword(c, testPassword, good, good+"!")
		if strings.Contains(r.Body, good) {
			t.Error("the page sends a refused new password back")
		}
	})
	t.Run("empty current password", func(t *testing.T) {
		refused(t, changePassword(c, "", good, good), []string{msgWrongCurrent})
	})
	t.Run("same as current", func(t *testing.T) {
		refused(t, changePassword(c, testPassword, testPassword, testPassword), []string{msgSameAsCurrent})
	})
	t.Run("confirmation differs", func(t *testing.T) {
		refused(t, changePassword(c, testPassword, good, good+"!"), []string{msgConfirmMismatch})
		refused(t, changePassword(c, testPassword, good, ""), []string{msgConfirmMismatch})
	})
	t.Run("weak", func(t *testing.T) {
		weak := "aaaaaaaaaaaaaaaa"
		v := meterFor(t, c, weak)
		if v.Warning == "" || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Strong"}) {
			t.Fatalf("meter on %q: %+v", weak, v)
		}
		r := changePassword(c, testPassword, weak, weak)
		refused(t, r, []string{"New password: Strength at least Strong.", v.Warning})
		// The refused page comes back with an empty field, so its meter shows the empty verdict
		// (not a stale one for a password no longer in the field); the alert has the words.
		if i := strings.Index(r.Body, `<div class="meter"`); i < 0 || !strings.Contains(r.Body[i:i+200], `data-empty="true"`) || parseMeter(t, r.Body[i:]).Warning != "" {
			t.Error("the refused page's meter is not the empty verdict")
		}
		common := "password1234"
		v = meterFor(t, c, common)
		refused(t, changePassword(c, testPassword, common, common), wantChangeErrors(v))
		mustContain(t, formErrors(changePassword(c, testPassword, common, common).Body), "New password: At least 14 characters.")
	})
	t.Run("the user's own address", func(t *testing.T) {
		own := "ann@example.com2024" // Very strong for anyone else
		v := meterFor(t, c, own)
		if v.OK {
			t.Fatalf("meter on %q: %+v, want refused", own, v)
		}
		refused(t, changePassword(c, testPassword, own, own), wantChangeErrors(v))
		mustContain(t, formErrors(changePassword(c, testPassword, own, own).Body), "New password: Strength at least Strong.")
	})
	t.Run("too short", func(t *testing.T) {
		short := pwRandom(13, 7)
		refused(t, changePassword(c, testPassword, short, short), []string{"New password: At least 14 characters."})
	})
	t.Run("257 characters", func(t *testing.T) {
		long := pwRandom(257, 7)
		refused(t, changePassword(c, testPassword, long, long), []string{"New password: At most 256 characters."})
	})
	t.Run("every problem at once", func(t *testing.T) {
		refused(t, changePassword(c, testPassword, testPassword, "x"), []string{msgSameAsCurrent, msgConfirmMismatch})
		v := meterFor(t, c, "")
		refused(t, changePassword(c, testPassword, "", "x"), append(wantChangeErrors(v), msgConfirmMismatch))
	})

	t.Run("success", func(t *testing.T) {
		r := changePassword(c, testPassword, good, good)
		expectRedirect(t, r, "/account/password?notice=changed")
		page := c.get(r.Location)
		expectStatus(t, page, http.StatusOK)
		if !strings.Contains(page.Body, msgChanged) {
			t.Errorf("no notice after the change:\n%s", page)
		}
		if !e.verifies(u.ID, good) || e.verifies(u.ID, testPassword) {
			t.Error("the stored hash is not the new password's")
		}
		ev := e.lastEvent("password_changed")
		checkEvent(t, ev, "password_changed", u.ID, "")
		if ev.ActorID == nil || *ev.ActorID != u.ID {
			t.Errorf("password_changed actor: %v, want %d", ev.ActorID, u.ID)
		}
		if n, _ := ev.Details["other_sessions_ended"].(float64); n != 1 {
			t.Errorf("password_changed other_sessions_ended: %v, want 1", ev.Details)
		}
		// This session stays, the other one ended.
		expectStatus(t, c.get("/dashboard"), http.StatusOK)
		expectRedirect(t, other.get("/dashboard"), "/login")
		// The new password signs in, the old does not.
		fresh := e.newClient()
		fresh.signIn(u.Email, good)
		expectStatus(t, fresh.get("/dashboard"), http.StatusOK)
		old := e.newClient()
		old.get("/login")
		r = loginAttempt(old, u.Email, testPassword)
		expectStatus(t, r, http.StatusUnauthorized)
		expectAlert(t, r, msgGeneric)
	})
}

// A wrong current password counts as a failed password attempt: the fifth locks the form.
func TestAccountPasswordThrottle(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	c.get("/account/password")
	good := pwRandom(18, 7)
	for i := 1; i <= 5; i++ {
		r := changePassword(c, fmt.Sprintf("guess %d", i), good, good)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if got := formErrors(r.Body); !reflect.DeepEqual(got, []string{msgWrongCurrent}) {
			t.Fatalf("guess %d: errors %q", i, got)
		}
	}
	if n := len(e.eventsOf("password_change_failed")); n != 5 {
		t.Errorf("password_change_failed events: %d, want 5", n)
	}
	// Even the right password is not checked now.
	r := changePassword(c, testPassword, good, good)
	expectStatus(t, r, http.StatusTooManyRequests)
	if got := formErrors(r.Body); !reflect.DeepEqual(got, []string{msgThrottled}) {
		t.Errorf("throttled: errors %q, want %q", got, msgThrottled)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if !e.verifies(u.ID, testPassword) {
		t.Error("the password changed while throttled")
	}
	// The first refusal is logged; more refusals in the window only count, for the summary.
	for range 3 {
		expectStatus(t, changePassword(c, testPassword, good, good), http.StatusTooManyRequests)
	}
	if evs := e.eventsOf("password_change_failed"); len(evs) != 6 || evs[5].Details["reason"] != "throttled" {
		t.Errorf("password_change_failed events: %d (last %v), want the 5 guesses and one throttled", len(evs), evs[len(evs)-1].Details)
	}
	// After the window, the right password works.
	e.clock.Advance(throttle.PasswordPerAccount.Window())
	expectRedirect(t, changePassword(c, testPassword, good, good), "/account/password?notice=changed")
}

// A sign-in that passed the password step with the old password, still waiting for its e-mail
// code, must not become a session after the password changed: otherwise "the other sessions
// end" can be undone by whoever knew the old password.
func TestPasswordChangeEndsSignInsInProgress(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	pending := e.newClient()
	pending.startSignIn(u.Email, testPassword)
	code := e.waitCode(u.Email)

	c.get("/account/password")
	good := pwRandom(18, 7)
	expectRedirect(t, changePassword(c, testPassword, good, good), "/account/password?notice=changed")

	r := pending.post("/login/verify", url.Values{"code": {code}, "method": {"email"}})
	if r.Status == http.StatusSeeOther && r.Location == "/dashboard" {
		t.Errorf("a sign-in begun with the old password completed after the change")
	}
	if r := pending.get("/dashboard"); r.Status != http.StatusSeeOther || r.Location != "/login" {
		t.Errorf("the browser that knew the old password reaches the dashboard: %s", r)
	}
}

// A right current password proves the owner, as a successful sign-in does: the account's count
// of wrong passwords restarts. Otherwise four typos, a successful change and one more typo lock
// the owner out of this form and of signing in for 15 minutes.
func TestAccountPasswordRightPasswordRestartsCount(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	c.get("/account/password")
	first, second := pwRandom(18, 7), pwRandom(18, 8)
	for i := 1; i <= 4; i++ {
		expectStatus(t, changePassword(c, fmt.Sprintf("typo %d", i), first, first), http.StatusUnprocessableEntity)
	}
	expectRedirect(t, changePassword(c, testPassword, first, first), "/account/password?notice=changed")
	expectStatus(t, changePassword(c, "one more typo", second, second), http.StatusUnprocessableEntity)
	r := changePassword(c, first, second, second)
	if r.Status != http.StatusSeeOther {
		t.Errorf("the owner, after a successful change and one typo: got %d, want 303\n%s", r.Status, r)
	}
	other := e.newClient()
	other.get("/login")
	if r := loginAttempt(other, u.Email, second); r.Status == http.StatusTooManyRequests {
		t.Errorf("signing in after a successful change and one typo: throttled")
	}
}
