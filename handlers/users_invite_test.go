package handlers_test

// Invitations: adding a user, the invitation mail and link, its page and throttle.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// invitationLink waits for the invitation mail to addr and returns the path of its link.
func (e *env) invitationLink(addr string) string {
	e.t.Helper()
	msg := e.waitSubject(addr, inviteSubject)
	m := inviteLinkRe.FindStringSubmatch(msg.Text)
	if m == nil {
		e.t.Fatalf("no invitation link in the mail:\n%s", msg.Text)
	}
	if !strings.Contains(msg.HTML, baseURL+m[1]) {
		e.t.Errorf("the HTML part lacks the link %s", m[1])
	}
	return m[1]
}

// invite has admin add a user and returns the new account and its invitation link.
func (e *env) invite(admin *client, name, email string, role store.Role) (store.User, string) {
	e.t.Helper()
	expectRedirect(e.t, addUser(admin, name, email, role), "/users?notice=invited")
	u, err := e.store.UserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatalf("the added user %s: %v", email, err)
	}
	return u, e.invitationLink(email)
}

// acceptInvitation posts the invitation form.
func acceptInvitation(c *client, link, password, confirm string) *response {
	c.t.Helper()
	if c.token() == "" {
		c.get("/login")
	}
	token := strings.TrimPrefix(link, "/invite/")
	return c.post(link, url.Values{"invite": {token}, "new_password": {password}, "confirm_password": {confirm}})
}

// An admin adds a user; the invitation mail's link sets a password under the user's rule, the
// user signs in with it, and the link is dead afterwards.
func TestInvitationFlow(t *testing.T) {
	e := newEnv(t)
	admin, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)

	form := ac.get("/users/new")
	expectStatus(t, form, http.StatusOK)
	for _, want := range []string{`<label for="name">`, `<label for="email">`, `<label for="role">`, `name="_csrf"`,
		`<option value="admin">`, `<option value="user" selected>`} {
		if !strings.Contains(form.Body, want) {
			t.Errorf("/users/new lacks %s", want)
		}
	}
	if strings.Contains(form.Body, `value="super_admin"`) {
		t.Error("/users/new offers super admin to an admin")
	}

	expectRedirect(t, addUser(ac, "  Nia New ", "Nia.New@Example.com", store.RoleUser), "/users?notice=invited")
	list := ac.get("/users?notice=invited")
	if got := html.UnescapeString(list.Body); !strings.Contains(got, msgInvited) {
		t.Errorf("/users?notice=invited does not say %q", msgInvited)
	}
	u, err := e.store.UserByEmail(context.Background(), "nia.new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Nia New" || u.Role != store.RoleUser || !u.Active() || u.PasswordHash != "" {
		t.Errorf("the new user: %+v, want Nia New, user, active, no password", u)
	}
	ev := e.lastEvent("user_created")
	checkEvent(t, ev, "user_created", u.ID, "")
	if actorOf(ev) != admin.ID || ev.Details["role"] != "user" || ev.Details["via"] != "invite" {
		t.Errorf("user_created: actor %d details %v, want actor %d, role user, via invite", actorOf(ev), ev.Details, admin.ID)
	}

	link := e.invitationLink(u.Email)
	token := strings.TrimPrefix(link, "/invite/")
	if files := e.dbFilesContain(token); len(files) > 0 {
		t.Errorf("the invitation token is stored in %v; want only its keyed hash", files)
	}
	// The user cannot sign in before setting a password.
	nc := e.newClient()
	nc.get("/login")
	r := loginAttempt(nc, u.Email, invitedGoodPassword)
	expectStatus(t, r, http.StatusUnauthorized)
	expectAlert(t, r, msgGeneric)

	page := nc.get(link)
	expectStatus(t, page, http.StatusOK)
	for _, want := range []string{"Set your password", "nia.new@example.com", `hx-post="/password/strength"`, `hx-params="new_password,invite"`,
		`name="invite" value="` + token + `"`, `action="` + link + `"`, `<label for="confirm_password">`, "at least 14 characters"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the invitation page lacks %s", want)
		}
	}

	// A weak password, and one that does not match its confirmation, are refused.
	r = acceptInvitation(nc, link, "nia.new@example.com", "nia.new@example.com")
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if got := formErrors(r.Body); !slices.Contains(got, "Password: Strength at least Strong.") {
		t.Errorf("the address as password: errors %q", got)
	}
	r = acceptInvitation(nc, link, "short", "short")
	if got := formErrors(r.Body); r.Status != http.StatusUnprocessableEntity || !slices.Contains(got, "Password: At least 14 characters.") {
		t.Errorf("a short password: %d, errors %q", r.Status, got)
	}
	r = acceptInvitation(nc, link, invitedGoodPassword, invitedGoodPassword+"!")
	if got := formErrors(r.Body); r.Status != http.StatusUnprocessableEntity || !slices.Equal(got, []string{"The two passwords do not match."}) {
		t.Errorf("a mismatched confirmation: %d, errors %q", r.Status, got)
	}
	if e.user(u.ID).PasswordHash != "" {
		t.Fatal("a refused password was set")
	}

	r = acceptInvitation(nc, link, invitedGoodPassword, invitedGoodPassword)
	expectStatus(t, r, http.StatusOK)
	if !strings.Contains(r.Body, "Your password is set") || !strings.Contains(r.Body, `href="/login"`) {
		t.Errorf("after setting the password: %s", r)
	}
	if !e.verifies(u.ID, invitedGoodPassword) {
		t.Error("the stored hash does not accept the new password")
	}
	ev = e.lastEvent("user_invitation_accepted")
	checkEvent(t, ev, "user_invitation_accepted", u.ID, "")
	if actorOf(ev) != u.ID {
		t.Errorf("user_invitation_accepted actor: %d, want %d", actorOf(ev), u.ID)
	}

	// The link is dead now, for showing and for posting.
	dead := nc.get(link)
	expectFriendly(t, dead, http.StatusNotFound, msgInviteLinkDead)
	expectFriendly(t, acceptInvitation(nc, link, "another good passphrase 77", "another good passphrase 77"), http.StatusNotFound, msgInviteLinkDead)
	if !e.verifies(u.ID, invitedGoodPassword) {
		t.Error("a used link changed the password")
	}

	// The user signs in: password and the emailed code.
	sc := e.newClient()
	sc.signIn(u.Email, invitedGoodPassword)
	if r := sc.get("/dashboard"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Nia New") {
		t.Errorf("the invited user's dashboard: %s", r)
	}
}

func TestAddUserRules(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	root, sc := e.signedIn("root@example.com", "Rita Root", store.RoleSuperAdmin)

	e.setPolicy(8, 3) // so a super admin's 14 differs from everyone else's minimum

	// Admins add users and admins; only super admins add super admins.
	_, alLink := e.invite(ac, "Al Admin", "al@example.com", store.RoleAdmin)
	if page := e.newClient().get(alLink); !strings.Contains(page.Body, "at least 8 characters") {
		t.Error("an invited admin's page does not ask for the policy's 8 characters")
	}
	r := addUser(ac, "Sue Super", "sue@example.com", store.RoleSuperAdmin)
	expectStatus(t, r, http.StatusForbidden)
	if _, err := e.store.UserByEmail(context.Background(), "sue@example.com"); err == nil {
		t.Error("an admin created a super admin")
	}
	if !strings.Contains(sc.get("/users/new").Body, `<option value="super_admin">`) {
		t.Error("/users/new does not offer super admin to a super admin")
	}
	sue, link := e.invite(sc, "Sue Super", "sue@example.com", store.RoleSuperAdmin)
	if sue.Role != store.RoleSuperAdmin {
		t.Errorf("super admin's new super admin: role %s", sue.Role)
	}
	if ev := e.lastEvent("user_created"); actorOf(ev) != root.ID || ev.Details["role"] != "super_admin" {
		t.Errorf("user_created by the super admin: actor %d, details %v", actorOf(ev), ev.Details)
	}
	if page := e.newClient().get(link); !strings.Contains(page.Body, "at least 14 characters") {
		t.Error("an invited super admin's page does not ask for 14 characters")
	}

	created := len(e.eventsOf("user_created"))
	refusals := []struct {
		name, email string
		role        store.Role
		want        []string
	}{
		{"Al Again", "AL@example.com", store.RoleUser, []string{msgEmailTaken}},
		{"Bad", "not-an-address", store.RoleUser, []string{"Enter a valid email address."}},
		{"Bad", "Bob <bob@example.com>", store.RoleUser, []string{"Enter a valid email address."}},
		{"   ", "blank@example.com", store.RoleUser, []string{"Enter a name of at most 200 characters."}},
		{strings.Repeat("n", 201), "long@example.com", store.RoleUser, []string{"Enter a name of at most 200 characters."}},
		{"Role", "role@example.com", store.Role("owner"), []string{"Choose a role."}},
		{"", "", "", []string{"Enter a name of at most 200 characters.", "Enter a valid email address.", "Choose a role."}},
	}
	for _, tt := range refusals {
		r := addUser(ac, tt.name, tt.email, tt.role)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if got := formErrors(r.Body); !slices.Equal(got, tt.want) {
			t.Errorf("add %q <%s> as %q: errors %q, want %q", tt.name, tt.email, tt.role, got, tt.want)
		}
		if !strings.Contains(r.Body, `action="/users"`) {
			t.Errorf("add %q: the refused form is not shown again", tt.email)
		}
	}
	if n := len(e.eventsOf("user_created")); n != created {
		t.Errorf("refused additions wrote %d user_created events", n-created)
	}

	// Without the CSRF token nothing is created.
	r = ac.postRaw("/users", url.Values{"name": {"Csrf"}, "email": {"csrf@example.com"}, "role": {"user"}}, nil)
	expectStatus(t, r, http.StatusForbidden)
	if _, err := e.store.UserByEmail(context.Background(), "csrf@example.com"); err == nil {
		t.Error("a POST without the CSRF token created a user")
	}
}

func TestInvitationMailFailure(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	e.mail.FailNext(1000)
	expectRedirect(t, addUser(ac, "Nia New", "nia@example.com", store.RoleUser), "/users?notice=invite_failed")
	page := ac.get("/users?notice=invite_failed")
	expectAlert(t, page, msgInviteNotSent)
	if _, err := e.store.UserByEmail(context.Background(), "nia@example.com"); err != nil {
		t.Errorf("the user is gone after the mail failed: %v", err)
	}
	if !strings.Contains(e.log.String(), "invitation email not sent") {
		t.Error("the failed invitation mail is not logged")
	}
}

func TestInvitationExpires(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	_, link := e.invite(ac, "Nia New", "nia@example.com", store.RoleUser)
	c := e.newClient()
	e.clock.Advance(7*24*time.Hour - time.Second)
	expectStatus(t, c.get(link), http.StatusOK)
	e.clock.Advance(time.Second)
	expectFriendly(t, c.get(link), http.StatusNotFound, msgInviteLinkDead)
	expectFriendly(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusNotFound, msgInviteLinkDead)
}

// A deactivated user's invitation does not work; reactivated within the week, it does again.
func TestInvitationOfDeactivatedUser(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	u, link := e.invite(ac, "Nia New", "nia@example.com", store.RoleUser)
	id := fmt.Sprint(u.ID)
	expectRedirect(t, ac.post("/users/"+id+"/deactivate", nil), "/users/"+id+"/danger?notice=deactivated")
	c := e.newClient()
	expectFriendly(t, c.get(link), http.StatusNotFound, msgInviteLinkDead)
	expectFriendly(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusNotFound, msgInviteLinkDead)
	ac.get("/users")
	expectRedirect(t, ac.post("/users/"+id+"/reactivate", nil), "/users/"+id+"/danger?notice=reactivated")
	expectStatus(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusOK)
}

// The meter on the invitation page judges with the invited user's rule and words, whoever else
// is signed in to the browser.
func TestInvitationStrengthMeter(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(8, 3)
	_, sc := e.signedIn("root@example.com", "Rita Root", store.RoleSuperAdmin)
	_, link := e.invite(sc, "Sam Super", "sam.super@example.com", store.RoleSuperAdmin)
	token := strings.TrimPrefix(link, "/invite/")
	c := e.newClient()
	c.get(link)

	nine := "kR7#vQ2!m"
	form := func(tok, password string) url.Values {
		return url.Values{"invite": {tok}, "new_password": {password}}
	}
	if v := meterOf(t, c, form(token, nine)); v.OK || !slices.Equal(v.Unmet, []string{"At least 14 characters"}) {
		t.Errorf("invited super admin, 9 characters: %+v, want refused for 14 characters", v)
	}
	if v := meterOf(t, c, form("made-up-token", nine)); !v.OK {
		t.Errorf("a made-up token, 9 characters: %+v, want the policy's 8", v)
	}
	own := "sam.super@example.com"
	if v := meterOf(t, c, form(token, own)); v.OK || !slices.Equal(v.Unmet, []string{"Strength at least Strong"}) {
		t.Errorf("the invited user's address as password: %+v, want refused for strength", v)
	}
	// The signed-in super admin's own page would judge by their words; the invitation's by Sam's.
	if v := meterOf(t, sc, form(token, own)); v.OK {
		t.Errorf("a signed-in browser on the invitation page: %+v, want Sam's rule", v)
	}
	if v := meterOf(t, sc, form("", own)); !v.OK {
		t.Errorf("a signed-in browser without the token: %+v, want its own user's rule", v)
	}
	// Once the link is used, the token means nothing to the meter.
	expectStatus(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusOK)
	if v := meterOf(t, c, form(token, nine)); !v.OK {
		t.Errorf("a used token, 9 characters: %+v, want the policy's 8", v)
	}
}

func TestInvitationThrottle(t *testing.T) {
	e := newEnv(t)
	_, ac := e.signedIn("ada@example.com", "Ada Admin", store.RoleAdmin)
	_, link := e.invite(ac, "Nia New", "nia@example.com", store.RoleUser)
	c := e.newClient()
	for i := range 10 {
		r := acceptInvitation(c, fmt.Sprintf("/invite/wrong-%d", i), invitedGoodPassword, invitedGoodPassword)
		expectStatus(t, r, http.StatusNotFound)
	}
	expectStatus(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusTooManyRequests)
	// Another address is not held back, and the window passes.
	other := e.newClient()
	expectStatus(t, acceptInvitation(other, "/invite/wrong", invitedGoodPassword, invitedGoodPassword), http.StatusNotFound)
	e.clock.Advance(15 * time.Minute)
	expectStatus(t, acceptInvitation(c, link, invitedGoodPassword, invitedGoodPassword), http.StatusOK)
}
