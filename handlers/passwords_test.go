package handlers_test

// Tests of the password rule over HTTP: Settings > Security > Passwords, the live strength meter
// (POST /password/strength), Account > Password, and the setup page and `weftid user add`
// (handlers.ValidateNewUser) applying the same rule.

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// The words the password pages show, copied on purpose (see the harness).
const (
	msgPolicyInvalid   = "Choose a minimum length of 8, 10, 12, 14, 16, 18 or 20 and a score of Strong or Very strong."
	msgPolicySaved     = "Saved. The new requirements apply to every password set from now on."
	msgWrongCurrent    = "Your current password is not correct."
	msgSameAsCurrent   = "The new password must be different from your current password."
	msgConfirmMismatch = "The new password and its confirmation do not match."
	msgChanged         = "Your password was changed. Your other sessions were signed out."
	msgForbidden       = "You do not have access to this page."
)

// pwRandom is a deterministic random password of n characters from a wide ASCII alphabet: long
// enough (10 or more), zxcvbn scores it 4, so only the length rule decides.
func pwRandom(n int, seed uint64) string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%&*+-=?@^_~"
	r := rand.New(rand.NewPCG(uint64(n), seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// runesRandom is n random characters from alphabet.
func runesRandom(n int, seed uint64, alphabet string) string {
	letters := []rune(alphabet)
	r := rand.New(rand.NewPCG(uint64(n), seed))
	out := make([]rune, n)
	for i := range out {
		out[i] = letters[r.IntN(len(letters))]
	}
	return string(out)
}

const (
	twoByteLetters = "éüöäßçñøåæœÉÜÖÄÇÑØÅÆŒ"
	cjkLetters     = "鍵盤猫犬鳥花山川海空雲雨雪風火水木金土日月星"
	emojiLetters   = "🔑🐈🌵🚲🎻🍋🌊🪐🦉🧩"
)

// meterView is what the strength meter fragment says.
type meterView struct {
	Score       int
	OK, Empty   bool
	Met, Unmet  []string
	CrackTime   string
	Warning     string
	Suggestions []string
}

var (
	meterRoot   = regexp.MustCompile(`^<div class="meter" data-score="([^"]*)" data-ok="([^"]*)" data-empty="([^"]*)">`)
	meterReq    = regexp.MustCompile(`<li class="(met|unmet)"><span class="visually-hidden">(Met|Not met): </span>([^<]*)</li>`)
	meterCrack  = regexp.MustCompile(`Time to crack: ([^<]*)</span>`)
	meterWarn   = regexp.MustCompile(`<p class="meter-warning">([^<]*)</p>`)
	meterSugg   = regexp.MustCompile(`<ul class="meter-suggestions">(.*?)</ul>`)
	listItem    = regexp.MustCompile(`<li>([^<]*)</li>`)
	errorListRe = regexp.MustCompile(`(?s)<div role="alert">(.*?)</div>`)
	optionRe    = regexp.MustCompile(`<option value="([^"]*)"( selected)?>([^<]*)</option>`)
	radioRe     = regexp.MustCompile(`<input type="radio" name="minimum_strength_score" value="([^"]*)"( checked)?>`)
)

// parseMeter reads a strength meter fragment: its root carries data-score 0-4, data-ok and
// data-empty, and it lists every requirement as met or not.
func parseMeter(t *testing.T, body string) meterView {
	t.Helper()
	body = strings.TrimSpace(body)
	m := meterRoot.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("not a strength meter fragment:\n%s", body)
	}
	var v meterView
	score, err := strconv.Atoi(m[1])
	if err != nil || score < 0 || score > 4 {
		t.Fatalf("data-score %q: want 0-4", m[1])
	}
	v.Score = score
	for i, attr := range []string{m[2], m[3]} {
		if attr != "true" && attr != "false" {
			t.Fatalf("data-ok/data-empty attribute %d is %q, want true or false", i, attr)
		}
	}
	v.OK, v.Empty = m[2] == "true", m[3] == "true"
	for _, r := range meterReq.FindAllStringSubmatch(body, -1) {
		if (r[1] == "met") != (r[2] == "Met") {
			t.Errorf("requirement %q: class %q but read out as %q", r[3], r[1], r[2])
		}
		if r[1] == "met" {
			v.Met = append(v.Met, html.UnescapeString(r[3]))
		} else {
			v.Unmet = append(v.Unmet, html.UnescapeString(r[3]))
		}
	}
	if len(v.Met)+len(v.Unmet) < 2 {
		t.Errorf("the meter lists %d requirements, want at least length and strength:\n%s", len(v.Met)+len(v.Unmet), body)
	}
	if v.OK != (len(v.Unmet) == 0) {
		t.Errorf("data-ok=%v but unmet requirements %q", v.OK, v.Unmet)
	}
	if c := meterCrack.FindStringSubmatch(body); c != nil {
		v.CrackTime = html.UnescapeString(c[1])
	}
	if w := meterWarn.FindStringSubmatch(body); w != nil {
		v.Warning = html.UnescapeString(w[1])
	}
	if s := meterSugg.FindStringSubmatch(body); s != nil {
		for _, li := range listItem.FindAllStringSubmatch(s[1], -1) {
			v.Suggestions = append(v.Suggestions, html.UnescapeString(li[1]))
		}
	}
	return v
}

// meterOf posts to the live meter as the htmx field does and parses the answer.
func meterOf(t *testing.T, c *client, form url.Values) meterView {
	t.Helper()
	r := c.post("/password/strength", form)
	expectStatus(t, r, http.StatusOK)
	if strings.Contains(strings.ToLower(r.Body), "<html") || strings.Contains(r.Body, "<main") {
		t.Errorf("/password/strength answered a whole page, want a fragment:\n%s", r)
	}
	return parseMeter(t, r.Body)
}

// meterFor is the meter's verdict on one new password typed on Account > Password.
func meterFor(t *testing.T, c *client, password string) meterView {
	t.Helper()
	return meterOf(t, c, url.Values{"new_password": {password}})
}

// formErrors lists the items of a page's error list (the role="alert" box).
func formErrors(body string) []string {
	m := errorListRe.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []string
	for _, li := range listItem.FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(li[1]))
	}
	return out
}

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

// signedIn creates an account and a browser signed in to it.
func (e *env) signedIn(email, name string, role store.Role) (store.User, *client) {
	e.t.Helper()
	u := e.createUser(email, name, role, store.StatusActive)
	c := e.newClient()
	c.signIn(email, testPassword)
	return u, c
}

// setPolicy stores the password settings directly, as a test's starting point.
func (e *env) setPolicy(length, score int) {
	e.t.Helper()
	if err := e.store.SetPasswordPolicy(context.Background(), length, score, e.clock.Now()); err != nil {
		e.t.Fatalf("SetPasswordPolicy(%d, %d): %v", length, score, err)
	}
}

func (e *env) settings() store.Settings {
	e.t.Helper()
	s, err := e.store.Settings(context.Background())
	if err != nil {
		e.t.Fatalf("Settings: %v", err)
	}
	return s
}

// verifies reports whether the user's stored hash accepts password.
func (e *env) verifies(id int64, password string) bool {
	e.t.Helper()
	ok, err := auth.VerifyPassword(e.user(id).PasswordHash, password)
	if err != nil {
		e.t.Fatalf("VerifyPassword: %v", err)
	}
	return ok
}

// dbFilesContain reports which of the test's SQLite files (the database, its WAL and shared
// memory) hold s. newEnv puts the database in t.TempDir(); every TempDir of a test shares
// one parent, so this finds it without the harness telling.
func dbFilesContain(t *testing.T, s string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "weftid.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no database file found: %v", err)
	}
	var hits []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		if bytes.Contains(b, []byte(s)) {
			hits = append(hits, filepath.Base(f))
		}
	}
	return hits
}

func mustContain(t *testing.T, list []string, want string) {
	t.Helper()
	if !slices.Contains(list, want) {
		t.Errorf("%q does not contain %q", list, want)
	}
}

// ---- Settings > Security > Passwords ----

func TestPasswordSettingsPage(t *testing.T) {
	e := newEnv(t)
	_, super := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	_, user := e.signedIn("user@example.com", "User", store.RoleUser)
	signedOut := e.newClient()
	signedOut.get("/login")

	r := super.get("/settings/security/passwords")
	expectStatus(t, r, http.StatusOK)
	type option struct {
		value, label string
		selected     bool
	}
	var options []option
	for _, m := range optionRe.FindAllStringSubmatch(r.Body, -1) {
		options = append(options, option{m[1], html.UnescapeString(m[3]), m[2] != ""})
	}
	wantOptions := []option{
		{"8", "8", false}, {"10", "10", false}, {"12", "12", false}, {"14", "14 (recommended)", true},
		{"16", "16", false}, {"18", "18", false}, {"20", "20", false},
	}
	if !reflect.DeepEqual(options, wantOptions) {
		t.Errorf("length options:\n got %+v\nwant %+v", options, wantOptions)
	}
	var radios [][2]string
	for _, m := range radioRe.FindAllStringSubmatch(r.Body, -1) {
		radios = append(radios, [2]string{m[1], m[2]})
	}
	if want := [][2]string{{"3", " checked"}, {"4", ""}}; !reflect.DeepEqual(radios, want) {
		t.Errorf("score radios: got %q, want %q (Strong checked)", radios, want)
	}
	for _, text := range []string{"Strong (score 3)", "Very strong (score 4)", "Super admins always require at least 14 characters"} {
		if !strings.Contains(r.Body, text) {
			t.Errorf("the page does not say %q", text)
		}
	}
	expectNoAlert(t, r)

	for _, tt := range []struct {
		who string
		c   *client
	}{{"admin", admin}, {"user", user}} {
		r := tt.c.get("/settings/security/passwords")
		expectStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.Body, msgForbidden) {
			t.Errorf("%s: 403 is not the friendly page:\n%s", tt.who, r)
		}
	}
	expectRedirect(t, signedOut.get("/settings/security/passwords"), "/login")
	expectRedirect(t, signedOut.post("/settings/security/passwords",
		url.Values{"minimum_password_length": {"8"}, "minimum_strength_score": {"3"}}), "/login")
	if s := e.settings(); s.MinimumPasswordLength != 14 || s.MinimumStrengthScore != 3 {
		t.Errorf("settings after refused requests: %+v, want the defaults 14 and 3", s)
	}
}

func TestPasswordSettingsSave(t *testing.T) {
	e := newEnv(t)
	root, super := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	super.get("/settings/security/passwords")
	admin.get("/dashboard")
	save := func(c *client, length, score string) *response {
		return c.post("/settings/security/passwords", url.Values{"minimum_password_length": {length}, "minimum_strength_score": {score}})
	}
	unchanged := func(t *testing.T, length, score, events int) {
		t.Helper()
		if s := e.settings(); s.MinimumPasswordLength != length || s.MinimumStrengthScore != score {
			t.Errorf("settings: got %d/%d, want %d/%d unchanged", s.MinimumPasswordLength, s.MinimumStrengthScore, length, score)
		}
		if n := len(e.eventsOf("password_policy_updated")); n != events {
			t.Errorf("password_policy_updated events: got %d, want %d", n, events)
		}
	}

	t.Run("without CSRF", func(t *testing.T) {
		r := super.postRaw("/settings/security/passwords", url.Values{"minimum_password_length": {"20"}, "minimum_strength_score": {"4"}}, nil)
		expectStatus(t, r, http.StatusForbidden)
		unchanged(t, 14, 3, 0)
	})
	t.Run("admin", func(t *testing.T) {
		r := save(admin, "20", "4")
		expectStatus(t, r, http.StatusForbidden)
		if !strings.Contains(r.Body, msgForbidden) {
			t.Errorf("403 is not the friendly page:\n%s", r)
		}
		unchanged(t, 14, 3, 0)
	})
	for _, tt := range []struct{ length, score string }{
		{"9", "3"}, {"0", "3"}, {"abc", "3"}, {"", "3"}, {"-14", "3"}, {"14.0", "3"}, {"21", "3"},
		{"14", "2"}, {"14", "5"}, {"14", "0"}, {"14", ""}, {"14", "strong"},
	} {
		t.Run(fmt.Sprintf("invalid length %q score %q", tt.length, tt.score), func(t *testing.T) {
			r := save(super, tt.length, tt.score)
			expectStatus(t, r, http.StatusUnprocessableEntity)
			expectAlert(t, r, msgPolicyInvalid)
			unchanged(t, 14, 3, 0)
		})
	}

	// A valid change: 303 back with a notice, stored, logged with the old and new values.
	r := save(super, "20", "4")
	expectRedirect(t, r, "/settings/security/passwords?notice=saved")
	if s := e.settings(); s.MinimumPasswordLength != 20 || s.MinimumStrengthScore != 4 {
		t.Errorf("settings after saving 20/4: %+v", s)
	}
	page := super.get(r.Location)
	expectStatus(t, page, http.StatusOK)
	if !strings.Contains(page.Body, msgPolicySaved) {
		t.Errorf("no notice after saving:\n%s", page)
	}
	if !strings.Contains(page.Body, `<option value="20" selected>20</option>`) ||
		!strings.Contains(page.Body, `value="4" checked>`) || strings.Contains(page.Body, `value="3" checked>`) {
		t.Error("the page does not show the saved values")
	}
	ev := e.lastEvent("password_policy_updated")
	if ev.ActorID == nil || *ev.ActorID != root.ID {
		t.Errorf("password_policy_updated actor: got %v, want the super admin %d", ev.ActorID, root.ID)
	}
	wantDetails := func(oldLen, oldScore, newLen, newScore float64) map[string]any {
		return map[string]any{
			"old": map[string]any{"minimum_password_length": oldLen, "minimum_strength_score": oldScore},
			"new": map[string]any{"minimum_password_length": newLen, "minimum_strength_score": newScore},
		}
	}
	if want := wantDetails(14, 3, 20, 4); !reflect.DeepEqual(ev.Details, want) {
		t.Errorf("password_policy_updated details:\n got %v\nwant %v", ev.Details, want)
	}

	// The same values again: nothing to log.
	expectRedirect(t, save(super, "20", "4"), "/settings/security/passwords?notice=saved")
	unchanged(t, 20, 4, 1)

	// Another change: the old values are the ones saved before.
	expectRedirect(t, save(super, "8", "3"), "/settings/security/passwords?notice=saved")
	unchanged(t, 8, 3, 2)
	if want := wantDetails(20, 4, 8, 3); !reflect.DeepEqual(e.lastEvent("password_policy_updated").Details, want) {
		t.Errorf("second password_policy_updated details: got %v, want %v", e.lastEvent("password_policy_updated").Details, want)
	}
	// And an invalid value after that still changes nothing.
	expectStatus(t, save(super, "9", "3"), http.StatusUnprocessableEntity)
	unchanged(t, 8, 3, 2)
}

// Saving takes effect at once: a user already signed in sees the new rule in the meter and on
// Account > Password.
func TestPasswordSettingsTakeEffectAtOnce(t *testing.T) {
	e := newEnv(t)
	_, super := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	u, user := e.signedIn("ann@example.com", "Ann Smith", store.RoleUser)
	user.get("/account/password")
	super.get("/settings/security/passwords")

	nineteen, twenty := pwRandom(19, 1), pwRandom(20, 1)
	if v := meterFor(t, user, nineteen); !v.OK {
		t.Fatalf("19 random characters under the default policy: %+v, want accepted", v)
	}

	expectRedirect(t, super.post("/settings/security/passwords",
		url.Values{"minimum_password_length": {"20"}, "minimum_strength_score": {"3"}}), "/settings/security/passwords?notice=saved")

	v := meterFor(t, user, nineteen)
	if v.OK || !reflect.DeepEqual(v.Unmet, []string{"At least 20 characters"}) {
		t.Errorf("meter, 19 characters under policy 20: ok=%v unmet %q, want refused for \"At least 20 characters\"", v.OK, v.Unmet)
	}
	page := user.get("/account/password")
	if !strings.Contains(page.Body, "At least 20 characters") {
		t.Error("Account > Password does not show the new minimum")
	}
	r := changePassword(user, testPassword, nineteen, nineteen)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if got, want := formErrors(r.Body), []string{"New password: At least 20 characters."}; !reflect.DeepEqual(got, want) {
		t.Errorf("errors: got %q, want %q", got, want)
	}
	if v := meterFor(t, user, twenty); !v.OK {
		t.Errorf("meter, 20 random characters under policy 20: %+v, want accepted", v)
	}
	expectRedirect(t, changePassword(user, testPassword, twenty, twenty), "/account/password?notice=changed")
	if !e.verifies(u.ID, twenty) {
		t.Error("the new password was not stored")
	}

	// Very strong, likewise: 9 random characters are Strong, not Very strong.
	expectRedirect(t, super.post("/settings/security/passwords",
		url.Values{"minimum_password_length": {"8"}, "minimum_strength_score": {"4"}}), "/settings/security/passwords?notice=saved")
	nine := "kR7#vQ2!m"
	v = meterFor(t, user, nine)
	if v.OK || !reflect.DeepEqual(v.Unmet, []string{"Strength at least Very strong"}) {
		t.Errorf("meter, %q under 8/Very strong: ok=%v unmet %q (score %d)", nine, v.OK, v.Unmet, v.Score)
	}
	r = changePassword(user, twenty, nine, nine)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	mustContain(t, formErrors(r.Body), "New password: Strength at least Very strong.")
}

// ---- POST /password/strength ----

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
		if hits := dbFilesContain(t, pw); len(hits) > 0 {
			t.Errorf("the database files %q contain the password %q", hits, pw)
		}
	}
}

// ---- The meter and the server never disagree ----

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

// ---- Account > Password ----

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
