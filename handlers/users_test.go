package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/weftid/weftid/store"
)

// Words the users pages show, copied on purpose (see harness_test.go).
const (
	msgInvited          = "The user was added. An email with a link to set their password is on its way."
	msgInviteNotSent    = "The user was added, but the invitation email could not be sent. The server log says why."
	msgEmailTaken       = "A user with this email address already exists."
	msgLastSuperAdmin   = "This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."
	msgDeactivateSelf   = "You cannot deactivate your own account. Ask another admin to do it."
	msgReactivateSelf   = "You cannot reactivate your own account. Ask another admin to do it."
	msgRoleSelf         = "You cannot change your own role. Ask another admin to do it."
	msgInviteLinkDead   = "This invitation link does not work: it was used already, it expired, or it is mistyped. Ask an admin for a new invitation."
	inviteSubject       = "You are invited to weftid"
	invitedGoodPassword = "plum tractor velvet harbour 42"
)

var (
	inviteLinkRe = regexp.MustCompile(regexp.QuoteMeta(baseURL) + `(/invite/[A-Za-z0-9_-]{43})\b`)
	userRowRe    = regexp.MustCompile(`(?s)<tr id="user-(\d+)">(.*?)</tr>`)
)

// userRows maps each listed user's ID to the text of their row, tags stripped.
func userRows(t *testing.T, body string) map[int64]string {
	t.Helper()
	rows := map[int64]string{}
	for _, m := range userRowRe.FindAllStringSubmatch(body, -1) {
		var id int64
		fmt.Sscan(m[1], &id)
		text := html.UnescapeString(anyTag.ReplaceAllString(m[2], " "))
		rows[id] = strings.TrimSpace(spaces.ReplaceAllString(text, " "))
	}
	return rows
}

func listedIDs(t *testing.T, body string) []int64 {
	t.Helper()
	var ids []int64
	for _, m := range userRowRe.FindAllStringSubmatch(body, -1) {
		var id int64
		fmt.Sscan(m[1], &id)
		ids = append(ids, id)
	}
	return ids
}

// htmxGet is a GET as htmx sends it, with extra headers.
func (c *client) htmxGet(path string, extra ...string) *response {
	c.t.Helper()
	h := http.Header{"HX-Request": {"true"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return c.do(http.MethodGet, path, nil, h)
}

// addUser posts the "Add a user" form.
func addUser(c *client, name, email string, role store.Role) *response {
	c.t.Helper()
	if c.token() == "" {
		c.get("/users/new")
	}
	return c.post("/users", url.Values{"name": {name}, "email": {email}, "role": {string(role)}})
}

func detailsOf(ev store.Event) string { return fmt.Sprint(ev.Details) }

func actorOf(ev store.Event) int64 {
	if ev.ActorID == nil {
		return 0
	}
	return *ev.ActorID
}

func TestUsersList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	admin, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	root := e.createUser("root@example.com", "Rita Root", store.RoleSuperAdmin, store.StatusActive)
	if err := e.store.PutPendingTOTP(ctx, root.ID, []byte("sealed"), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ConfirmTOTP(ctx, root.ID, 1, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.addPasskey(root.ID, 1, "laptop")
	e.addPasskey(root.ID, 2, "phone")
	e.addPasskey(admin.ID, 3, "key")
	gone := e.createUser("gone@corp.example", "Gus Gone", store.RoleUser, store.StatusInactive)
	pat := e.createUser("pat@example.com", "Pat Plain", store.RoleUser, store.StatusActive)
	invited, err := e.store.CreateUser(ctx, store.User{Email: "ivy@example.com", Name: "Ivy Invited", Role: store.RoleUser}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}

	page := ac.get("/users")
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{"<!doctype html>", `<h1>Users</h1>`, `href="/users/new"`, `action="/users"`, `name="q"`,
		`hx-get="/users"`, `hx-target="#user-table"`, `hx-push-url="true"`, `<div id="user-table">`, `class="table-scroll"`,
		fmt.Sprintf(`href="/users/%d/profile"`, root.ID), "5 users"} {
		if !strings.Contains(strings.ToLower(page.Body), strings.ToLower(want)) {
			t.Errorf("/users lacks %s", want)
		}
	}
	if vary := page.Header.Values("Vary"); !slices.ContainsFunc(vary, func(v string) bool { return strings.Contains(v, "HX-Request") }) {
		t.Errorf("Vary: %q, want HX-Request", vary)
	}
	rows := userRows(t, page.Body)
	want := map[int64]string{
		admin.ID:   "Ada Admin ada@example.com Admin Active Passkey",
		gone.ID:    "Gus Gone gone@corp.example User Inactive Email only",
		invited.ID: "Ivy Invited ivy@example.com User Active (invitation pending) Email only",
		pat.ID:     "Pat Plain pat@example.com User Active Email only",
		root.ID:    "Rita Root root@example.com Super admin Active TOTP Passkey ×2",
	}
	for id, w := range want {
		if rows[id] != w {
			t.Errorf("row of user %d: got %q, want %q", id, rows[id], w)
		}
	}
	if got := listedIDs(t, page.Body); !slices.Equal(got, []int64{admin.ID, gone.ID, invited.ID, pat.ID, root.ID}) {
		t.Errorf("order: got %v, want by name", got)
	}

	searches := []struct {
		query string
		want  []int64
	}{
		{"q=RITA", []int64{root.ID}},
		{"q=example.com", []int64{admin.ID, invited.ID, pat.ID, root.ID}},
		{"q=corp", []int64{gone.ID}},
		{"role=user", []int64{gone.ID, invited.ID, pat.ID}},
		{"role=super_admin", []int64{root.ID}},
		{"status=inactive", []int64{gone.ID}},
		{"q=plain&role=user&status=active", []int64{pat.ID}},
		{"q=plain&status=inactive", nil},
		{"role=wizard&status=asleep", []int64{admin.ID, gone.ID, invited.ID, pat.ID, root.ID}}, // unknown filters are ignored
		{"q=nobody", nil},
	}
	for _, s := range searches {
		r := ac.get("/users?" + s.query)
		expectStatus(t, r, http.StatusOK)
		if got := listedIDs(t, r.Body); !slices.Equal(got, s.want) {
			t.Errorf("/users?%s: got %v, want %v", s.query, got, s.want)
		}
		if s.want == nil && !strings.Contains(r.Body, "No users match.") {
			t.Errorf("/users?%s: no \"No users match.\"", s.query)
		}
	}
	// The form shows the search it ran.
	r := ac.get("/users?q=pat&role=user&status=inactive")
	for _, want := range []string{`value="pat"`, `<option value="user" selected>`, `<option value="inactive" selected>`} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the search form does not keep %s", want)
		}
	}

	// htmx from the search field gets the table alone; a boosted navigation or a history
	// restore gets the page.
	frag := ac.htmxGet("/users?q=rita")
	expectStatus(t, frag, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(frag.Body), `<div id="user-table">`) || strings.Contains(frag.Body, "<html") || strings.Contains(frag.Body, "<nav") {
		t.Errorf("htmx request: want the #user-table fragment alone, got:\n%s", frag)
	}
	if got := listedIDs(t, frag.Body); !slices.Equal(got, []int64{root.ID}) {
		t.Errorf("htmx fragment rows: got %v, want [%d]", got, root.ID)
	}
	for _, extra := range [][]string{{"HX-Boosted", "true"}, {"HX-History-Restore-Request", "true"}} {
		r := ac.htmxGet("/users?q=rita", extra...)
		if !strings.Contains(r.Body, "<html") || !strings.Contains(r.Body, `<div id="user-table">`) {
			t.Errorf("htmx with %s: want the whole page", extra[0])
		}
	}
}

func TestUsersListCapped(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	for i := range 200 {
		if _, err := e.store.CreateUser(context.Background(), store.User{Email: fmt.Sprintf("u%03d@example.com", i), Name: fmt.Sprintf("User %03d", i), Role: store.RoleUser}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	page := ac.get("/users")
	if n := len(listedIDs(t, page.Body)); n != 200 || !strings.Contains(page.Body, "Showing the first 200 users. Narrow the search to find the others.") {
		t.Errorf("201 users: %d rows listed, want 200 and a note that the list is capped", n)
	}
	page = ac.get("/users?q=user+1")
	if n := len(listedIDs(t, page.Body)); n != 100 || strings.Contains(page.Body, "Showing the first") || !strings.Contains(page.Body, "100 users") {
		t.Errorf("q=user 1: %d rows, want 100 and no cap note", n)
	}
}

// Every users route refuses a plain user, and sends a signed-out browser to sign in.
func TestUsersRoutesNeedAdmin(t *testing.T) {
	e := newEnv(t)
	_, uc := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	other := e.createUser("other@example.com", "Other", store.RoleUser, store.StatusActive)
	out := e.newClient()
	out.get("/login")
	id := fmt.Sprint(other.ID)
	routes := []struct{ method, path string }{
		{"GET", "/users"}, {"GET", "/users/new"}, {"POST", "/users"},
		{"POST", "/users/" + id + "/role"}, {"POST", "/users/" + id + "/deactivate"}, {"POST", "/users/" + id + "/reactivate"},
	}
	form := url.Values{"name": {"X"}, "email": {"x@example.com"}, "role": {"user"}}
	for _, rt := range routes {
		for _, who := range []struct {
			name string
			c    *client
			want int
		}{{"user", uc, http.StatusForbidden}, {"signed out", out, http.StatusSeeOther}} {
			var r *response
			if rt.method == "GET" {
				r = who.c.get(rt.path)
			} else {
				r = who.c.post(rt.path, form)
			}
			if r.Status != who.want {
				t.Errorf("%s %s as %s: got %d, want %d", rt.method, rt.path, who.name, r.Status, who.want)
			}
		}
	}
	if _, err := e.store.UserByEmail(context.Background(), "x@example.com"); err == nil {
		t.Error("a plain user created a user")
	}
	if got := e.user(other.ID); got.Role != store.RoleUser || !got.Active() {
		t.Errorf("a plain user changed another: %+v", got)
	}
}

func TestChangeRole(t *testing.T) {
	e := newEnv(t)
	admin, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	root, sc := e.signedIn("root@example.com", "Rita Root", store.RoleSuperAdmin)
	pat := e.createUser("pat@example.com", "Pat", store.RoleUser, store.StatusActive)
	second := e.createUser("sid@example.com", "Sid", store.RoleSuperAdmin, store.StatusActive)
	ac.get("/users")
	sc.get("/users")

	setRole := func(c *client, u store.User, role store.Role) *response {
		return c.post(fmt.Sprintf("/users/%d/role", u.ID), url.Values{"role": {string(role)}})
	}
	changed := func(u store.User) string { return fmt.Sprintf("/users/%d/profile?notice=role_changed", u.ID) }

	// An admin promotes a user to admin and back.
	expectRedirect(t, setRole(ac, pat, store.RoleAdmin), changed(pat))
	ev := e.lastEvent("user_role_changed")
	checkEvent(t, ev, "user_role_changed", pat.ID, "")
	if actorOf(ev) != admin.ID || ev.Details["old"] != "user" || ev.Details["new"] != "admin" {
		t.Errorf("user_role_changed: actor %d details %v, want actor %d, old user, new admin", actorOf(ev), ev.Details, admin.ID)
	}
	expectRedirect(t, setRole(ac, pat, store.RoleUser), changed(pat))
	if got := e.user(pat.ID).Role; got != store.RoleUser {
		t.Errorf("pat's role: %s, want user", got)
	}
	// The same role again changes nothing and logs nothing.
	n := len(e.eventsOf("user_role_changed"))
	expectRedirect(t, setRole(ac, pat, store.RoleUser), changed(pat))
	if len(e.eventsOf("user_role_changed")) != n {
		t.Error("setting the same role logged user_role_changed")
	}

	// An admin can neither grant super admin nor touch a super admin.
	expectStatus(t, setRole(ac, pat, store.RoleSuperAdmin), http.StatusForbidden)
	expectStatus(t, setRole(ac, second, store.RoleAdmin), http.StatusForbidden)
	expectStatus(t, setRole(ac, second, store.RoleSuperAdmin), http.StatusForbidden)
	if e.user(pat.ID).Role != store.RoleUser || e.user(second.ID).Role != store.RoleSuperAdmin {
		t.Fatal("a refused role change was made")
	}
	// Nonsense is refused.
	expectStatus(t, setRole(ac, pat, "owner"), http.StatusBadRequest)
	expectStatus(t, ac.post("/users/9999/role", url.Values{"role": {"user"}}), http.StatusNotFound)

	// A super admin grants and takes away super admin.
	expectRedirect(t, setRole(sc, pat, store.RoleSuperAdmin), changed(pat))
	expectRedirect(t, setRole(sc, pat, store.RoleUser), changed(pat))
	expectRedirect(t, setRole(sc, second, store.RoleAdmin), changed(second))
	if ev := e.lastEvent("user_role_changed"); actorOf(ev) != root.ID || ev.Details["old"] != "super_admin" || ev.Details["new"] != "admin" {
		t.Errorf("demotion by the super admin: actor %d, details %v", actorOf(ev), ev.Details)
	}

	// Nobody changes their own role (another admin does, as with every change to a user), so
	// the last super admin cannot demote herself either; the page offers no role form.
	n = len(e.eventsOf("user_role_changed"))
	for _, self := range []struct {
		c    *client
		u    store.User
		role store.Role
	}{{sc, root, store.RoleAdmin}, {sc, root, store.RoleSuperAdmin}, {ac, admin, store.RoleUser}, {ac, admin, store.RoleAdmin}} {
		r := setRole(self.c, self.u, self.role)
		expectStatus(t, r, http.StatusConflict)
		expectAlert(t, r, msgRoleSelf)
		if !strings.Contains(r.Body, fmt.Sprintf(`href="/users/%d/profile"`, self.u.ID)) {
			t.Error("the refusal has no way back to the user")
		}
		page := self.c.get(userURL(self.u.ID, "profile")).Body
		bodyLacks(t, "own Profile tab", page, `action="`+userURL(self.u.ID, "role")+`"`)
		bodyHas(t, "own Profile tab", page, `id="role-self"`)
	}
	if e.user(root.ID).Role != store.RoleSuperAdmin || e.user(admin.ID).Role != store.RoleAdmin || len(e.eventsOf("user_role_changed")) != n {
		t.Fatal("someone changed their own role")
	}
	// An inactive super admin does not count, and may be demoted: it leaves Rita.
	inactive := e.createUser("ina@example.com", "Ina", store.RoleSuperAdmin, store.StatusInactive)
	expectRedirect(t, setRole(sc, inactive, store.RoleUser), changed(inactive))

	// With two, one may demote the other.
	expectRedirect(t, setRole(sc, second, store.RoleSuperAdmin), changed(second))
	expectRedirect(t, setRole(sc, second, store.RoleAdmin), changed(second))

	// CSRF.
	r := sc.postRaw(fmt.Sprintf("/users/%d/role", pat.ID), url.Values{"role": {"admin"}}, nil)
	expectStatus(t, r, http.StatusForbidden)
	if e.user(pat.ID).Role != store.RoleUser {
		t.Error("a role change without the CSRF token was made")
	}
}

// Two super admins demoting each other at once: one wins, the other is refused, and one
// super admin is left (the count is read in the transaction of the change).
func TestLastSuperAdminRace(t *testing.T) {
	e := newEnv(t)
	a, ca := e.signedIn("a@example.com", "A", store.RoleSuperAdmin)
	b, cb := e.signedIn("b@example.com", "B", store.RoleSuperAdmin)
	ca.get("/users")
	cb.get("/users")
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, pair := range []struct {
		c      *client
		target store.User
	}{{ca, b}, {cb, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"role": {"admin"}, "_csrf": {pair.c.token()}}
			r, err := pair.c.send(http.MethodPost, fmt.Sprintf("/users/%d/role", pair.target.ID), strings.NewReader(form.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			if err == nil {
				statuses[i] = r.Status
			}
		}()
	}
	wg.Wait()
	// The loser is refused as the last super admin (409) when both got past the role check
	// together, or as an admin by then (403) when the winner had finished first.
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusSeeOther, http.StatusForbidden}) && !slices.Equal(statuses, []int{http.StatusSeeOther, http.StatusConflict}) {
		t.Errorf("statuses: %v, want one 303 and one 403 or 409", statuses)
	}
	if n, _ := e.store.CountActiveSuperAdmins(context.Background()); n != 1 {
		t.Errorf("active super admins: %d, want 1", n)
	}
}

func TestDeactivateReactivate(t *testing.T) {
	e := newEnv(t)
	admin, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	root, sc := e.signedIn("root@example.com", "Rita Root", store.RoleSuperAdmin)
	pat, pc := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	ac.get("/users")
	sc.get("/users")
	// Pat is also halfway through signing in on another browser.
	half := e.newClient()
	half.startSignIn(pat.Email, testPassword)
	code := e.waitCode(pat.Email)

	post := func(c *client, u store.User, action string) *response {
		return c.post(fmt.Sprintf("/users/%d/%s", u.ID, action), nil)
	}
	danger := func(u store.User, notice string) string {
		return fmt.Sprintf("/users/%d/danger?notice=%s", u.ID, notice)
	}

	expectRedirect(t, post(ac, pat, "deactivate"), danger(pat, "deactivated"))
	if e.user(pat.ID).Active() {
		t.Fatal("pat is still active")
	}
	ev := e.lastEvent("user_deactivated")
	checkEvent(t, ev, "user_deactivated", pat.ID, "")
	if actorOf(ev) != admin.ID || detailsOf(ev) != "map[sessions_ended:1]" {
		t.Errorf("user_deactivated: actor %d details %v, want actor %d, 1 session ended", actorOf(ev), ev.Details, admin.ID)
	}
	// Pat's session is over, the sign-in in progress cannot finish, and a new one fails generically.
	expectRedirect(t, pc.get("/dashboard"), "/login")
	expectRedirect(t, postCode(half, code), "/login?notice=expired")
	nc := e.newClient()
	nc.get("/login")
	r := loginAttempt(nc, pat.Email, testPassword)
	expectStatus(t, r, http.StatusUnauthorized)
	expectAlert(t, r, msgGeneric)
	// Deactivating again changes and logs nothing.
	expectRedirect(t, post(ac, pat, "deactivate"), danger(pat, "deactivated"))
	if n := len(e.eventsOf("user_deactivated")); n != 1 {
		t.Errorf("user_deactivated events: %d, want 1", n)
	}

	expectRedirect(t, post(ac, pat, "reactivate"), danger(pat, "reactivated"))
	ev = e.lastEvent("user_reactivated")
	checkEvent(t, ev, "user_reactivated", pat.ID, "")
	if actorOf(ev) != admin.ID {
		t.Errorf("user_reactivated actor: %d, want %d", actorOf(ev), admin.ID)
	}
	e.newClient().signIn(pat.Email, testPassword)

	// An admin cannot deactivate or reactivate a super admin; a super admin can.
	sid := e.createUser("sid@example.com", "Sid", store.RoleSuperAdmin, store.StatusActive)
	expectStatus(t, post(ac, sid, "deactivate"), http.StatusForbidden)
	expectRedirect(t, post(sc, sid, "deactivate"), danger(sid, "deactivated"))
	expectStatus(t, post(ac, sid, "reactivate"), http.StatusForbidden)
	if e.user(sid.ID).Active() {
		t.Error("an admin reactivated a super admin")
	}
	expectRedirect(t, post(sc, sid, "reactivate"), danger(sid, "reactivated"))
	// Admins deactivate admins.
	al := e.createUser("al@example.com", "Al", store.RoleAdmin, store.StatusActive)
	expectRedirect(t, post(ac, al, "deactivate"), danger(al, "deactivated"))

	// Nobody deactivates themselves, the last super admin included.
	for _, self := range []struct {
		c *client
		u store.User
	}{{ac, admin}, {sc, root}} {
		r := post(self.c, self.u, "deactivate")
		expectStatus(t, r, http.StatusConflict)
		expectAlert(t, r, msgDeactivateSelf)
		if !e.user(self.u.ID).Active() {
			t.Fatalf("%s deactivated themselves", self.u.Email)
		}
		// Nor reactivates themselves: nothing to do for an active user, and nobody acts on
		// themselves.
		n := len(e.eventsOf("user_reactivated"))
		r = post(self.c, self.u, "reactivate")
		expectStatus(t, r, http.StatusConflict)
		expectAlert(t, r, msgReactivateSelf)
		if len(e.eventsOf("user_reactivated")) != n {
			t.Errorf("%s reactivated themselves", self.u.Email)
		}
	}
	expectStatus(t, sc.post("/users/9999/deactivate", nil), http.StatusNotFound)

	// CSRF.
	expectStatus(t, ac.postRaw(fmt.Sprintf("/users/%d/deactivate", pat.ID), url.Values{}, nil), http.StatusForbidden)
	expectStatus(t, ac.postRaw(fmt.Sprintf("/users/%d/reactivate", al.ID), url.Values{}, nil), http.StatusForbidden)
	if !e.user(pat.ID).Active() || e.user(al.ID).Active() {
		t.Error("a status change without the CSRF token was made")
	}
}
