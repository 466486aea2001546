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
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
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
// memory) hold s: every byte of them, freed pages too. On PostgreSQL, whose files the test may
// not reach, it reports the tables whose rows hold s, as text or as bytes (storetest.Holding).
func (e *env) dbFilesContain(s string) []string {
	t := e.t
	t.Helper()
	if store.IsPostgresURL(e.db) {
		return storetest.RawDB(t, e.db).Holding(t, s)
	}
	files, err := filepath.Glob(e.db + "*")
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

// ---- Account > Password ----
