package handlers_test

// The live strength meter (POST /password/strength), and that it agrees with the server.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

func TestPasswordStrengthMeter(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(8, 3)
	_, ada := e.signedIn("ada.lovelace@example.com", "Ada Lovelace", store.RoleUser)
	_, bob := e.signedIn("bob@example.com", "Bob Jones", store.RoleUser)
	_, root := e.signedIn("grace.hopper@example.com", "Grace Hopper", store.RoleSuperAdmin)

	t.Run("the signed-in user's rule", func(t *testing.T) {
		nine := "kR7#vQ2!m"
		v := meterFor(t, bob, nine)
		if !v.OK || !slices.Contains(v.Met, "At least 8 characters") || !slices.Contains(v.Met, "Strength at least Strong") {
			t.Errorf("user, 9 random characters under policy 8: %+v, want accepted", v)
		}
		v = meterFor(t, root, nine)
		if v.OK || !reflect.DeepEqual(v.Unmet, []string{"At least 14 characters"}) || !slices.Contains(v.Met, "Strength at least Strong") {
			t.Errorf("super admin, 9 characters under policy 8: %+v, want refused for \"At least 14 characters\" only", v)
		}
		if v := meterFor(t, root, pwRandom(14, 3)); !v.OK {
			t.Errorf("super admin, 14 random characters: %+v, want accepted", v)
		}
	})

	t.Run("the user's address and name are dictionary words", func(t *testing.T) {
		for _, pw := range []string{"ada.lovelace@example.com", "ada.lovelace1815"} {
			v := meterFor(t, ada, pw)
			if v.OK || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Strong"}) {
				t.Errorf("Ada, %q: ok=%v unmet %q (score %d), want refused for strength", pw, v.OK, v.Unmet, v.Score)
			}
			if v := meterFor(t, bob, pw); !v.OK {
				t.Errorf("Bob, %q: %+v, want accepted", pw, v)
			}
		}
		// The product's name too, for everyone.
		v := meterFor(t, bob, "weftidweftid")
		if v.OK || !slices.Contains(v.Unmet, "Strength at least Strong") {
			t.Errorf("weftidweftid: %+v, want refused for strength", v)
		}
	})

	t.Run("what the fragment shows", func(t *testing.T) {
		r := bob.post("/password/strength", url.Values{"new_password": {"password1234"}})
		expectStatus(t, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type: %q", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control: %q, want no-store", cc)
		}
		v := parseMeter(t, r.Body)
		if v.OK || v.Empty || v.Score > 2 {
			t.Errorf("password1234: %+v, want a weak non-empty refused verdict", v)
		}
		if v.CrackTime == "" || v.Warning == "" || len(v.Suggestions) == 0 {
			t.Errorf("password1234: crack time %q, warning %q, suggestions %q; want all three", v.CrackTime, v.Warning, v.Suggestions)
		}
		if !reflect.DeepEqual(v.Met, []string{"At least 8 characters"}) || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Strong"}) {
			t.Errorf("requirements: met %q unmet %q", v.Met, v.Unmet)
		}
		// The five-step bar: score+1 steps on, with the score's label.
		if on := strings.Count(r.Body, `class="on s`); on != v.Score+1 {
			t.Errorf("bar: %d steps on, want %d", on, v.Score+1)
		}
		if !strings.Contains(r.Body, "Strength: "+auth.ScoreLabels[v.Score]) {
			t.Errorf("no label %q", auth.ScoreLabels[v.Score])
		}

		strong := meterFor(t, bob, pwRandom(24, 9))
		if !strong.OK || strong.Score != 4 || strong.CrackTime == "" || strong.Warning != "" {
			t.Errorf("24 random characters: %+v, want Very strong, accepted, a crack time, no warning", strong)
		}
		// The field as posted under the name "password" works too.
		if v := meterOf(t, bob, url.Values{"password": {"password1234"}}); v.OK || v.Empty {
			t.Errorf("posted as password: %+v", v)
		}
	})

	t.Run("empty", func(t *testing.T) {
		v := meterFor(t, bob, "")
		if v.OK || !v.Empty || v.CrackTime != "" {
			t.Errorf("empty password: %+v, want refused, empty, no crack time", v)
		}
		if !reflect.DeepEqual(v.Unmet, []string{"At least 8 characters", "Strength at least Strong"}) {
			t.Errorf("empty password: unmet %q", v.Unmet)
		}
	})

	t.Run("257 characters", func(t *testing.T) {
		v := meterFor(t, bob, pwRandom(257, 1))
		if v.OK || !reflect.DeepEqual(v.Unmet, []string{"At most 256 characters"}) {
			t.Errorf("257 characters: ok=%v unmet %q", v.OK, v.Unmet)
		}
		if v := meterFor(t, bob, pwRandom(256, 1)); !v.OK {
			t.Errorf("256 characters: %+v, want accepted", v)
		}
	})

	t.Run("a sign-in in progress: that user's rule", func(t *testing.T) {
		c := e.newClient()
		c.startSignIn("grace.hopper@example.com", testPassword)
		e.waitCode("grace.hopper@example.com")
		v := meterFor(t, c, "kR7#vQ2!m")
		if v.OK || !slices.Contains(v.Unmet, "At least 14 characters") {
			t.Errorf("super admin's sign-in, 9 characters: %+v, want the super admin rule", v)
		}
	})

	t.Run("signed out: a user's rule", func(t *testing.T) {
		c := e.newClient()
		c.get("/login")
		if v := meterFor(t, c, "kR7#vQ2!m"); !v.OK {
			t.Errorf("signed out, 9 characters under policy 8: %+v", v)
		}
	})

	t.Run("without CSRF", func(t *testing.T) {
		r := bob.postRaw("/password/strength", url.Values{"new_password": {"password1234"}}, nil)
		expectStatus(t, r, http.StatusForbidden)
		other := e.newClient()
		other.get("/login")
		r = bob.postRaw("/password/strength", url.Values{"new_password": {"password1234"}, "_csrf": {other.token()}}, nil)
		expectStatus(t, r, http.StatusForbidden)
		// The X-CSRF-Token header the layout gives htmx works.
		r = bob.postRaw("/password/strength", url.Values{"new_password": {"password1234"}}, http.Header{"X-CSRF-Token": {bob.token()}})
		expectStatus(t, r, http.StatusOK)
	})
}

// During setup there is no session: the posted token, address and name make the rule the
// super admin's, with that address and name as dictionary words.
func TestPasswordStrengthDuringSetup(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(8, 3) // so the super admin's 14 differs from everyone else's minimum
	path := e.setupLink()
	token := strings.TrimPrefix(path, "/setup?token=")
	c := e.newClient()
	page := c.get(path)
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, `hx-post="/password/strength"`) || !strings.Contains(page.Body, `aria-live="polite"`) ||
		!strings.Contains(page.Body, `hx-params="new_password,name,email,token"`) {
		t.Error("the setup page's password field has no live meter")
	}
	form := func(tok, email, name, password string) url.Values {
		return url.Values{"token": {tok}, "email": {email}, "name": {name}, "new_password": {password}}
	}

	nine := "kR7#vQ2!m"
	v := meterOf(t, c, form(token, "ada.lovelace@example.com", "Ada Lovelace", nine))
	if v.OK || !reflect.DeepEqual(v.Unmet, []string{"At least 14 characters"}) {
		t.Errorf("setup, 9 characters: %+v, want refused for \"At least 14 characters\"", v)
	}
	// Without a valid token, the page is not the setup page: no super admin rule.
	v = meterOf(t, c, form("made-up-token", "ada.lovelace@example.com", "Ada Lovelace", nine))
	if !v.OK || !slices.Contains(v.Met, "At least 8 characters") {
		t.Errorf("a made-up token, 9 characters: %+v, want the policy's 8", v)
	}
	// The posted address and name are dictionary words.
	own := "ada.lovelace@example.com"
	v = meterOf(t, c, form(token, "Ada.Lovelace@Example.com", "Ada Lovelace", own))
	if v.OK || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Strong"}) {
		t.Errorf("setup, the address as password: %+v, want refused for strength", v)
	}
	if v := meterOf(t, c, form(token, "pat@example.com", "Pat Root", own)); !v.OK {
		t.Errorf("setup, someone else's address as password: %+v, want accepted", v)
	}

	// The setup form agrees with the meter.
	submit := func(email, name, password string) *response {
		return c.post("/setup", url.Values{"token": {token}, "email": {email}, "name": {name},
			"new_password": {password}, "confirm_password": {password}})
	}
	r := submit("Ada.Lovelace@Example.com", "Ada Lovelace", own)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if got := formErrors(r.Body); !slices.Contains(got, "Password: Strength at least Strong.") {
		t.Errorf("setup with the address as password: errors %q", got)
	}
	r = submit("ada.lovelace@example.com", "Ada Lovelace", nine)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if got := formErrors(r.Body); !slices.Contains(got, "Password: At least 14 characters.") {
		t.Errorf("setup with 9 characters: errors %q", got)
	}
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Fatalf("users after refused setups: %d", n)
	}
}

// A weak password of 14 or more characters is refused by setup for its strength.
func TestSetupRefusesWeakPassword(t *testing.T) {
	e := newEnv(t)
	path := e.setupLink()
	token := strings.TrimPrefix(path, "/setup?token=")
	c := e.newClient()
	c.get(path)
	weak := "aaaaaaaaaaaaaaaa"
	v := meterOf(t, c, url.Values{"token": {token}, "email": {"pat@example.com"}, "name": {"Pat Root"}, "new_password": {weak}})
	if v.OK || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Strong"}) {
		t.Fatalf("meter on %q: %+v", weak, v)
	}
	r := c.post("/setup", url.Values{"token": {token}, "email": {"pat@example.com"}, "name": {"Pat Root"},
		"new_password": {weak}, "confirm_password": {weak}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	want := []string{"Password: Strength at least Strong.", v.Warning}
	if got := formErrors(r.Body); !reflect.DeepEqual(got, want) {
		t.Errorf("setup errors: got %q, want %q", got, want)
	}
	// The page's meter shows the same verdict.
	if i := strings.Index(r.Body, `<div class="meter"`); i < 0 || parseMeter(t, r.Body[i:]).OK {
		t.Error("the refused setup page's meter does not show the refusal")
	}
	if n, _ := e.store.CountUsers(context.Background()); n != 0 {
		t.Errorf("users: %d, want 0", n)
	}
	// A strong one is accepted.
	good := pwRandom(16, 5)
	expectRedirect(t, c.post("/setup", url.Values{"token": {token}, "email": {"pat@example.com"}, "name": {"Pat Root"},
		"new_password": {good}, "confirm_password": {good}}), "/login?notice=setup_done")
}

// The meter is throttled per browser: 120 checks a minute.
func TestPasswordStrengthThrottle(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	c.get("/login")
	form := url.Values{"new_password": {"abc"}}
	for i := 1; i <= 120; i++ {
		if r := c.post("/password/strength", form); r.Status != http.StatusOK {
			t.Fatalf("request %d: got %d, want 200", i, r.Status)
		}
	}
	expectFriendly(t, c.post("/password/strength", form), http.StatusTooManyRequests, "Too many requests.")
	// Another browser, even from the same address, is still served.
	other := e.newClient()
	other.ip = c.ip
	other.get("/login")
	expectStatus(t, other.post("/password/strength", form), http.StatusOK)
	// The throttled browser still can use the rest of the site.
	expectStatus(t, c.get("/login"), http.StatusOK)
}

// The meter neither logs nor stores the password; neither does the change of password.
func TestPasswordNeverLoggedOrStored(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	c.get("/account/password")
	typed := "Quixotic-Marmalade-Zephyr-4417"
	weak := "quixoticquixotic"
	chosen := "Obsidian-Lantern-Fjord-9902"
	for _, pw := range []string{"", "Q", "Quixotic", typed, weak, chosen} {
		meterFor(t, c, pw)
		// As htmx sends it: the whole form, the current password included.
		meterOf(t, c, url.Values{"current_password": {testPassword}, "new_password": {pw}, "confirm_password": {""}})
	}
	expectStatus(t, c.postRaw("/password/strength", url.Values{"new_password": {typed}}, nil), http.StatusForbidden)
	expectStatus(t, changePassword(c, testPassword, weak, weak), http.StatusUnprocessableEntity)
	expectStatus(t, changePassword(c, "wrong "+typed, typed, typed), http.StatusUnprocessableEntity)
	expectStatus(t, changePassword(c, testPassword, typed, typed+"x"), http.StatusUnprocessableEntity)
	expectRedirect(t, changePassword(c, testPassword, chosen, chosen), "/account/password?notice=changed")
	if !e.verifies(u.ID, chosen) {
		t.Fatal("the password was not changed")
	}
	for _, pw := range []string{typed, weak, chosen, testPassword} {
		if strings.Contains(e.log.String(), pw) {
			t.Errorf("the server log contains the password %q", pw)
		}
		if hits := e.dbFilesContain(pw); len(hits) > 0 {
			t.Errorf("the database files %q contain the password %q", hits, pw)
		}
	}
}

func TestPasswordMeterAgreesWithServer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ada := e.createUser("ada.lovelace@example.com", "Ada Lovelace", store.RoleUser, store.StatusActive)
	grace := e.createUser("grace.hopper@example.com", "Grace Hopper", store.RoleSuperAdmin, store.StatusActive)
	original, err := auth.HashPassword(testPassword, testParams)
	if err != nil {
		t.Fatal(err)
	}
	passwords := []struct{ name, pw string }{
		{"empty", ""},
		{"one character", "x"},
		{"common", "password"},
		{"common with digits", "password1234"},
		{"keyboard walk", "qwertyuiopasdfgh"},
		{"repeated letter 20", strings.Repeat("a", 20)},
		{"digits 16", "1234567890123456"},
		{"product name", "weftidweftid"},
		{"product name long", "weftid-weftid-weftid-2024"},
		{"leet common", "P@ssw0rd!P@ssw0rd!"},
		{"Tr0ub4dor&3", "Tr0ub4dor&3"},
		{"Ada's address", "ada.lovelace@example.com"},
		{"Ada's name and year", "lovelaceada1815"},
		{"Ada's name", "AdaLovelaceAdaLovelace"},
		{"Grace's address", "grace.hopper@example.com"},
		{"Grace's name and year", "hoppergrace1906"},
		{"random 7", pwRandom(7, 1)},
		{"random 8 (Fair)", "kR7#vQ2!"},
		{"random 9", "kR7#vQ2!m"},
		{"random 10", pwRandom(10, 1)},
		{"random 12", pwRandom(12, 1)},
		{"random 13", pwRandom(13, 1)},
		{"random 14", pwRandom(14, 1)},
		{"random 16", pwRandom(16, 1)},
		{"random 19", pwRandom(19, 1)},
		{"random 20", pwRandom(20, 1)},
		{"random 21", pwRandom(21, 1)},
		{"passphrase", "purple monkey dishwasher lamp"},
		{"spaces around", "  velvet thunder orchard  "},
		{"tab and newline", "line one\nline\ttwo 99!"},
		{"random 256", pwRandom(256, 1)},
		{"random 257", pwRandom(257, 1)},
		{"é + 13 random (14 characters, 15 bytes)", "é" + pwRandom(13, 2)},
		{"13 two-byte characters (26 bytes)", runesRandom(13, 1, twoByteLetters)},
		{"14 two-byte characters", runesRandom(14, 1, twoByteLetters)},
		{"256 two-byte characters", runesRandom(256, 1, twoByteLetters)},
		{"257 two-byte characters", runesRandom(257, 1, twoByteLetters)},
		{"10 CJK characters", runesRandom(10, 1, cjkLetters)},
		{"20 CJK characters", runesRandom(20, 1, cjkLetters)},
		{"14 emoji (surrogate pairs to zxcvbn)", runesRandom(14, 1, emojiLetters)},
		{"mixed scripts", "Ωμέγα-Passwort-Straße-42"},
		{"invalid UTF-8", "kR7#vQ2!m\xffZ9@pL4^w"},
	}
	for _, p := range passwords {
		if p.pw == testPassword {
			t.Fatalf("test data: %q is the current password", p.name)
		}
	}
	policies := [][2]int{{8, 3}, {14, 3}, {20, 4}}
	for _, who := range []store.User{ada, grace} {
		for _, pol := range policies {
			t.Run(fmt.Sprintf("%s policy %d score %d", who.Role, pol[0], pol[1]), func(t *testing.T) {
				e.setPolicy(pol[0], pol[1])
				// A browser of its own: the meter allows 120 checks a minute per browser.
				c := e.newClient()
				c.signIn(who.Email, testPassword)
				c.get("/account/password")
				accepted, refused := 0, 0
				for _, p := range passwords {
					form := url.Values{"current_password": {testPassword}, "new_password": {p.pw}, "confirm_password": {p.pw}}
					v := meterOf(t, c, form)
					r := changePassword(c, testPassword, p.pw, p.pw)
					switch {
					case r.Status == http.StatusSeeOther:
						accepted++
						if !v.OK {
							t.Errorf("%s: the meter refused it (unmet %q) but the server accepted it", p.name, v.Unmet)
						}
						if !e.verifies(who.ID, p.pw) {
							t.Errorf("%s: accepted but not stored", p.name)
						}
						if err := e.store.SetPasswordHash(ctx, who.ID, original, e.clock.Now()); err != nil {
							t.Fatal(err)
						}
					case r.Status == http.StatusUnprocessableEntity:
						refused++
						if v.OK {
							t.Errorf("%s: the meter accepted it but the server refused it: %q", p.name, formErrors(r.Body))
						} else if got, want := formErrors(r.Body), wantChangeErrors(v); !reflect.DeepEqual(got, want) {
							t.Errorf("%s: the server's errors %q are not the meter's %q", p.name, got, want)
						}
					default:
						t.Fatalf("%s: got %d\n%s", p.name, r.Status, r)
					}
				}
				if accepted < 5 || refused < 10 {
					t.Errorf("accepted %d, refused %d: the table no longer tests both sides", accepted, refused)
				}
			})
		}
	}
}
