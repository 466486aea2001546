package handlers_test

// Groups through the real app: the pages admins manage them on, the user detail page's Groups
// and Apps tabs, and who may open them.

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// The group messages, copied on purpose (see harness_test.go).
const (
	msgGroupNoName     = "Please fix the following: Enter a name for the group."
	msgGroupCreated    = "The group was created. Add its members below."
	msgMemberRemoved   = "The user was removed from the group. Their next sign-in to an application that only this group opened to them is refused."
	msgUserAddedToGrp  = "The user was added to the group."
	msgGroupDeletedMsg = "The group was deleted. Its members left it, and it was taken off every application's list."
)

// createGroup makes a group through its form as admin and returns its id.
func createGroup(t *testing.T, admin *client, name string) int64 {
	t.Helper()
	expectStatus(t, admin.get("/groups/new"), http.StatusOK)
	r := admin.post("/groups/new", url.Values{"name": {name}, "description": {"The " + name + " team"}})
	idText, ok := strings.CutPrefix(r.Location, "/groups/")
	idText, _, _ = strings.Cut(idText, "?")
	id, err := strconv.ParseInt(idText, 10, 64)
	if r.Status != http.StatusSeeOther || !ok || err != nil {
		t.Fatalf("creating group %s: %s (alerts %q)", name, r, alerts(r.Body))
	}
	return id
}

func groupURL(id int64, rest string) string {
	if rest == "" {
		return fmt.Sprintf("/groups/%d", id)
	}
	return fmt.Sprintf("/groups/%d/%s", id, rest)
}

func TestGroupPages(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)

	r := admin.get("/groups")
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "the empty list", r.Body, `id="no-groups"`, `href="/groups/new"`, `<a href="/groups" aria-current="page">Groups</a>`)

	// Refused forms come back with what is wrong and what was typed.
	expectStatus(t, admin.get("/groups/new"), http.StatusOK)
	r = admin.post("/groups/new", url.Values{"name": {"  "}, "description": {"kept"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, msgGroupNoName)
	bodyHas(t, "the refused form", r.Body, ">kept</textarea>")

	ops := createGroup(t, admin, "Ops")
	r = admin.get(groupURL(ops, "") + "?notice=created")
	expectStatus(t, r, http.StatusOK)
	if got := notices(r.Body); len(got) != 1 || got[0] != msgGroupCreated {
		t.Errorf("notices %q, want [%q]", got, msgGroupCreated)
	}
	bodyHas(t, "the new group's page", r.Body, "<h1>Ops</h1>", "The Ops team", `id="no-members"`,
		`action="`+groupURL(ops, "members")+`"`, `action="`+groupURL(ops, "delete")+`"`)
	ev := e.lastEvent("group_created")
	if ev.Details["name"] != "Ops" || ev.Details["description"] != "The Ops team" || ev.ActorID == nil {
		t.Errorf("group_created: %+v", ev)
	}

	expectStatus(t, admin.get("/groups/new"), http.StatusOK)
	r = admin.post("/groups/new", url.Values{"name": {"OPS"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Please fix the following: A group named “OPS” exists already. Choose another name.")

	// Rename and describe.
	expectStatus(t, admin.get(groupURL(ops, "")), http.StatusOK)
	r = admin.post(groupURL(ops, ""), url.Values{"name": {"Operations"}, "description": {"On call"}})
	expectRedirect(t, r, groupURL(ops, "")+"?notice=saved")
	if ev := e.lastEvent("group_updated"); ev.Details["previous_name"] != "Ops" || ev.Details["name"] != "Operations" {
		t.Errorf("group_updated details %v", ev.Details)
	}
	r = admin.post(groupURL(ops, ""), url.Values{"name": {""}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, msgGroupNoName)

	// Members, by address.
	for _, tc := range []struct{ email, alert string }{
		{"", "Please fix the following: Enter the email address of the user to add."},
		{"nobody@example.com", "Please fix the following: No user has the address nobody@example.com. Add them under Users first."},
	} {
		r = admin.post(groupURL(ops, "members"), url.Values{"email": {tc.email}})
		expectStatus(t, r, http.StatusUnprocessableEntity)
		expectAlert(t, r, tc.alert)
		bodyHas(t, "the refused member form", r.Body, `value="`+tc.email+`"`)
	}
	expectRedirect(t, admin.post(groupURL(ops, "members"), url.Values{"email": {"BOB@example.com"}}), groupURL(ops, "")+"?notice=member_added")
	checkEvent(t, e.lastEvent("group_member_added"), "group_member_added", bob.ID, "")
	r = admin.post(groupURL(ops, "members"), url.Values{"email": {"bob@example.com"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Please fix the following: bob@example.com is a member of Operations already.")
	r = admin.get(groupURL(ops, ""))
	remove := groupURL(ops, fmt.Sprintf("members/%d/remove", bob.ID))
	bodyHas(t, "the group's page", r.Body, `<td data-label="Email" class="break">bob@example.com</td>`, `action="`+remove+`"`, "1 member")
	r = admin.get("/groups")
	bodyHas(t, "the list", r.Body, `<a href="`+groupURL(ops, "")+`">Operations</a>`, `<td data-label="Members">1</td>`)

	expectRedirect(t, admin.post(remove, nil), groupURL(ops, "")+"?notice=member_removed")
	checkEvent(t, e.lastEvent("group_member_removed"), "group_member_removed", bob.ID, "")
	if got := notices(admin.get(groupURL(ops, "") + "?notice=member_removed").Body); len(got) != 1 || got[0] != msgMemberRemoved {
		t.Errorf("notices %q", got)
	}
	expectStatus(t, admin.post(remove, nil), http.StatusNotFound)

	// Delete; then the group is gone.
	expectRedirect(t, admin.post(groupURL(ops, "delete"), nil), "/groups?notice=deleted")
	if ev := e.lastEvent("group_deleted"); ev.Details["name"] != "Operations" {
		t.Errorf("group_deleted details %v", ev.Details)
	}
	if got := notices(admin.get("/groups?notice=deleted").Body); len(got) != 1 || got[0] != msgGroupDeletedMsg {
		t.Errorf("notices %q", got)
	}
	for _, p := range []string{"", "members", "delete"} {
		if p == "" {
			expectStatus(t, admin.get(groupURL(ops, "")), http.StatusNotFound)
			continue
		}
		expectStatus(t, admin.post(groupURL(ops, p), url.Values{"email": {"bob@example.com"}}), http.StatusNotFound)
	}
}

func TestGroupsAreForAdmins(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ops := createGroup(t, admin, "Ops")
	_, user := e.signedIn("bob@example.com", "Bob", store.RoleUser)
	dash := user.get("/dashboard")
	bodyLacks(t, "a user's menu", dash.Body, `href="/groups"`)
	for _, p := range []string{"/groups", "/groups/new", groupURL(ops, "")} {
		expectStatus(t, user.get(p), http.StatusForbidden)
	}
	for _, p := range []string{"/groups/new", groupURL(ops, ""), groupURL(ops, "members"), groupURL(ops, "delete")} {
		expectStatus(t, user.post(p, url.Values{"name": {"Mine"}, "email": {"bob@example.com"}}), http.StatusForbidden)
	}
	// Without the CSRF token an admin's post is refused too.
	expectStatus(t, admin.postRaw(groupURL(ops, "delete"), url.Values{}, nil), http.StatusForbidden)
	if n := len(e.eventsOf("group_deleted")) + len(e.eventsOf("group_member_added")); n != 0 {
		t.Errorf("%d group changes were written by refused posts", n)
	}
}

// TestUserGroupsAndAppsTabs: the Groups tab adds a user to a group and removes them; the Apps
// tab says which applications they may open, and why.
func TestUserGroupsAndAppsTabs(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	ann := e.createUser("ann@example.com", "Ann Example", store.RoleUser, store.StatusActive)
	ops := createGroup(t, admin, "Ops")
	createGroup(t, admin, "Dev")
	registerApp(t, admin, url.Values{"name": {"Chat"}, "redirect_uris": {rpRedirect}, "type": {"confidential"}})
	wiki := webApp()
	wiki.Set("access", "groups")
	wiki.Add("groups", fmt.Sprint(ops))
	registerApp(t, admin, wiki)

	r := admin.get(userURL(ann.ID, "groups"))
	expectStatus(t, r, http.StatusOK)
	if got := activeTab(t, r.Body); got != "Groups" {
		t.Errorf("current tab %q, want Groups", got)
	}
	bodyHas(t, "the Groups tab", r.Body, `id="user-no-groups"`, `action="`+userURL(ann.ID, "groups")+`"`,
		fmt.Sprintf(`<option value="%d">Ops</option>`, ops), ">Dev</option>")
	r = admin.get(userURL(ann.ID, "apps"))
	bodyHas(t, "the Apps tab", r.Body, "Yes: everyone may sign in", "No: only members of Ops")

	r = admin.post(userURL(ann.ID, "groups"), url.Values{"group": {fmt.Sprint(ops)}})
	expectRedirect(t, r, userURL(ann.ID, "groups?notice=group_added"))
	checkEvent(t, e.lastEvent("group_member_added"), "group_member_added", ann.ID, "")
	r = admin.get(userURL(ann.ID, "groups?notice=group_added"))
	if got := notices(r.Body); len(got) != 1 || got[0] != msgUserAddedToGrp {
		t.Errorf("notices %q", got)
	}
	remove := groupURL(ops, fmt.Sprintf("members/%d/remove", ann.ID))
	bodyHas(t, "the Groups tab", r.Body, `<a href="`+groupURL(ops, "")+`">Ops</a>`, `action="`+remove+`"`, `name="from" value="user"`)
	bodyLacks(t, "the Groups tab", r.Body, fmt.Sprintf(`<option value="%d">`, ops))
	// An htmx tab link gets only the panel.
	f := admin.htmxGet(userURL(ann.ID, "apps"))
	bodyLacks(t, "the Apps fragment", f.Body, "<html")
	bodyHas(t, "the Apps fragment", f.Body, "Yes: member of Ops", "<title>Ann Example · Apps · weftid</title>")
	// Adding twice (another tab did it) changes nothing and says nothing wrong.
	expectRedirect(t, admin.post(userURL(ann.ID, "groups"), url.Values{"group": {fmt.Sprint(ops)}}), userURL(ann.ID, "groups"))
	expectStatus(t, admin.post(userURL(ann.ID, "groups"), url.Values{"group": {"999"}}), http.StatusNotFound)
	expectStatus(t, admin.post(userURL(ann.ID, "groups"), url.Values{"group": {"x"}}), http.StatusBadRequest)

	expectRedirect(t, admin.post(remove, url.Values{"from": {"user"}}), userURL(ann.ID, "groups?notice=group_removed"))
	bodyHas(t, "the Apps tab", admin.get(userURL(ann.ID, "apps")).Body, "No: only members of Ops")
	if n := len(e.eventsOf("group_member_added")); n != 1 {
		t.Errorf("%d group_member_added events, want 1", n)
	}
}
