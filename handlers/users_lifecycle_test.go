package handlers_test

// A user's life through the real app: admins edit a user's name and email on the Profile tab,
// send an invitation again and copy its link, super admins delete a user on the Danger tab, and
// users rename themselves on Account > Profile.

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// The lifecycle messages, copied on purpose (see harness_test.go).
const (
	msgProfileSaved  = "The name and email address are saved."
	msgEmailChanged  = "Saved. The new email address is in use: the user was signed out everywhere, and both the old and the new address were told by email."
	msgUserDeleted   = "The user was deleted. The event log keeps what they did, under their address."
	msgConfirmEmail  = "Type the user's email address exactly to confirm: what you typed is not it."
	msgEmailTakenNow = "A user with this email address already exists."
	msgOwnNameSaved  = "Your name is saved."
)

var inviteLinkCode = regexp.MustCompile(`<code id="invite-link">([^<]*)</code>`)

// fieldValue is the value attribute of the input with that id.
func fieldValue(body, id string) string {
	m := regexp.MustCompile(`<input id="` + regexp.QuoteMeta(id) + `"[^>]*\bvalue="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestEditUserProfile(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	ada, adaBrowser := e.signedIn("ada@example.com", "Ada", store.RoleUser)
	super := e.createUser("root@example.com", "Root", store.RoleSuperAdmin, store.StatusActive)
	e.createUser("taken@example.com", "Taken", store.RoleUser, store.StatusActive)

	r := admin.get(userURL(ada.ID, "profile"))
	expectStatus(t, r, http.StatusOK)
	if fieldValue(r.Body, "profile-name") != "Ada" || fieldValue(r.Body, "profile-email") != "ada@example.com" {
		t.Errorf("the form does not show the user's name and address")
	}
	bodyHas(t, "profile tab", r.Body, `action="`+userURL(ada.ID, "profile")+`"`, `<td id="user-last-sign-in">`)

	// A new name: saved, nobody signed out.
	expectRedirect(t, admin.post(userURL(ada.ID, "profile"), url.Values{"name": {"Ada Lovelace"}, "email": {"ada@example.com"}}),
		userURL(ada.ID, "profile?notice=profile_saved"))
	if got := notices(admin.get(userURL(ada.ID, "profile?notice=profile_saved")).Body); len(got) != 1 || got[0] != msgProfileSaved {
		t.Errorf("notice %q, want %q", got, msgProfileSaved)
	}
	expectStatus(t, adaBrowser.get("/dashboard"), http.StatusOK)

	// Refused forms come back with what was typed and what is wrong.
	r = admin.post(userURL(ada.ID, "profile"), url.Values{"name": {""}, "email": {"nope"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	bodyHas(t, "refused form", r.Body, "Enter a name of at most 200 characters.", "Enter a valid email address.")
	if fieldValue(r.Body, "profile-email") != "nope" {
		t.Errorf("the refused form does not keep what was typed")
	}
	r = admin.post(userURL(ada.ID, "profile"), url.Values{"name": {"Ada"}, "email": {"TAKEN@example.com"}})
	expectStatus(t, r, http.StatusConflict)
	bodyHas(t, "a taken address", r.Body, msgEmailTakenNow)

	// Who may: not an admin on a super admin, not on themselves, not a plain user.
	expectStatus(t, admin.post(userURL(super.ID, "profile"), url.Values{"name": {"X"}, "email": {"x@example.com"}}), http.StatusForbidden)
	bodyLacks(t, "a super admin's profile for an admin", admin.get(userURL(super.ID, "profile")).Body, `id="profile-email"`)
	expectStatus(t, adaBrowser.post(userURL(ada.ID, "profile"), url.Values{"name": {"X"}, "email": {"x@example.com"}}), http.StatusForbidden)
	if u := e.user(ada.ID); u.Name != "Ada Lovelace" || u.Email != "ada@example.com" {
		t.Fatalf("a refused change changed the user: %+v", u)
	}

	// A new address: the user's browser is signed out; both addresses get a mail.
	expectRedirect(t, admin.post(userURL(ada.ID, "profile"), url.Values{"name": {"Ada Lovelace"}, "email": {"ada.l@example.com"}}),
		userURL(ada.ID, "profile?notice=email_changed"))
	if got := notices(admin.get(userURL(ada.ID, "profile?notice=email_changed")).Body); len(got) != 1 || got[0] != msgEmailChanged {
		t.Errorf("notice %q, want %q", got, msgEmailChanged)
	}
	expectRedirect(t, adaBrowser.get("/dashboard"), "/login")
	old := e.waitSubject("ada@example.com", "The email address of your weftid account was changed")
	fresh := e.waitSubject("ada.l@example.com", "This is now the email address of your weftid account")
	for _, m := range []string{old.Text, fresh.Text} {
		bodyHas(t, "mail about the new address", m, "ada@example.com", "ada.l@example.com", "Admin (admin@example.com)", "IP address: "+admin.ip)
	}
	ev := e.lastEvent("user_updated")
	if o, n := ev.Details["old"].(map[string]any), ev.Details["new"].(map[string]any); o["email"] != "ada@example.com" || n["email"] != "ada.l@example.com" {
		t.Errorf("user_updated details %v", ev.Details)
	}
	// The new address signs in.
	e.newClient().signIn("ada.l@example.com", testPassword)
}

func TestResendInvitationAndCopyLink(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	expectRedirect(t, admin.post("/users", url.Values{"name": {"New"}, "email": {"new@example.com"}, "role": {"user"}}), "/users?notice=invited")
	first := mailLink(t, e.waitSubject("new@example.com", inviteSubject).Text, "/invite/")
	u, err := e.store.UserByEmail(t.Context(), "new@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// The Profile tab says when the invitation was sent and until when it works.
	r := admin.get(userURL(u.ID, "profile"))
	sent := e.clock.Now()
	bodyHas(t, "invited user's profile", pageText(r.Body),
		"has not set a password yet. Their invitation was sent "+sent.Format("2 Jan 2006 15:04 UTC")+
			" and works until "+sent.Add(7*24*time.Hour).Format("2 Jan 2006 15:04 UTC"), "Send a new invitation")

	e.clock.Advance(time.Hour)
	r = admin.post(userURL(u.ID, "resend-invitation"), nil)
	expectStatus(t, r, http.StatusOK)
	m := inviteLinkCode.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no link to copy on the page:\n%s", r)
	}
	link := html.UnescapeString(m[1])
	bodyHas(t, "after sending again", r.Body, "A new invitation was sent to new@example.com. The previous link no longer works.", `data-copy="invite-link"`)
	resent := e.clock.Now()
	bodyHas(t, "after sending again", pageText(r.Body), "Their invitation was sent "+resent.Format("2 Jan 2006 15:04 UTC")+
		" and works until "+resent.Add(7*24*time.Hour).Format("2 Jan 2006 15:04 UTC"))
	if got := mailLink(t, e.waitSubject("new@example.com", inviteSubject).Text, "/invite/"); got != link {
		t.Errorf("the mail carries %q, the page %q", got, link)
	}
	ev := e.lastEvent("user_invitation_resent")
	checkEvent(t, ev, "user_invitation_resent", u.ID, "")

	// The old link stops working; the new one works.
	anon := e.newClient()
	expectStatus(t, anon.get(strings.TrimPrefix(first, baseURL)), http.StatusNotFound)
	expectStatus(t, anon.get(strings.TrimPrefix(link, baseURL)), http.StatusOK)

	// Five an hour for one user; then 429 and no mail.
	for range 4 {
		expectStatus(t, admin.post(userURL(u.ID, "resend-invitation"), nil), http.StatusOK)
	}
	before := e.mailsTo("new@example.com")
	expectStatus(t, admin.post(userURL(u.ID, "resend-invitation"), nil), http.StatusTooManyRequests)
	if got := e.mailsTo("new@example.com"); got != before {
		t.Errorf("a refused resend sent mail")
	}

	// A user with a password has no invitation to send.
	other := e.createUser("set@example.com", "Set", store.RoleUser, store.StatusActive)
	bodyLacks(t, "profile of a user with a password", admin.get(userURL(other.ID, "profile")).Body, `action="`+userURL(other.ID, "resend-invitation")+`"`)
	r = admin.post(userURL(other.ID, "resend-invitation"), nil)
	expectStatus(t, r, http.StatusConflict)
	bodyHas(t, "refusal", r.Body, "has set their password already")
}

// mailLink is the first link under path in a mail's text.
func mailLink(t *testing.T, text, path string) string {
	t.Helper()
	i := strings.Index(text, baseURL+path)
	if i < 0 {
		t.Fatalf("no %s link in:\n%s", path, text)
	}
	return strings.Fields(text[i:])[0]
}

func TestDeleteUserPage(t *testing.T) {
	e := newEnv(t)
	rootUser, root := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	_, admin := e.signedIn("admin@example.com", "Admin", store.RoleAdmin)
	gone, goneBrowser := e.signedIn("gone@example.com", "Gone", store.RoleUser)

	// Only super admins see and may use it.
	bodyHas(t, "admin's Danger tab", admin.get(userURL(gone.ID, "danger")).Body, "Only a super admin can delete users.")
	expectStatus(t, admin.post(userURL(gone.ID, "delete"), url.Values{"confirm_email": {gone.Email}}), http.StatusForbidden)
	bodyHas(t, "own Danger tab", root.get(userURL(rootUser.ID, "danger")).Body, "You cannot delete your own account.")
	expectStatus(t, root.post(userURL(rootUser.ID, "delete"), url.Values{"confirm_email": {rootUser.Email}}), http.StatusConflict)
	r := root.get(userURL(gone.ID, "danger"))
	re := regexp.MustCompile(`(?s)<details class="confirm">\s*<summary[^>]*>Delete user</summary>\s*<form method="post" action="` + regexp.QuoteMeta(userURL(gone.ID, "delete")) + `"`)
	if !re.MatchString(r.Body) {
		t.Errorf("Delete user is not behind a closed confirmation")
	}

	// The wrong address: the tab comes back, confirmation open, saying why.
	r = root.post(userURL(gone.ID, "delete"), url.Values{"confirm_email": {"someone@example.com"}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, msgConfirmEmail)
	bodyHas(t, "refused deletion", r.Body, `<details class="confirm" open>`)
	if fieldValue(r.Body, "confirm_email") != "someone@example.com" {
		t.Errorf("the refused form does not keep what was typed")
	}

	// The address in another case: deleted.
	expectRedirect(t, root.post(userURL(gone.ID, "delete"), url.Values{"confirm_email": {"Gone@Example.com"}}), "/users?notice=deleted")
	if got := notices(root.get("/users?notice=deleted").Body); len(got) != 1 || got[0] != msgUserDeleted {
		t.Errorf("notice %q, want %q", got, msgUserDeleted)
	}
	expectStatus(t, root.get(userURL(gone.ID, "profile")), http.StatusNotFound)
	expectRedirect(t, goneBrowser.get("/dashboard"), "/login")
	c := e.newClient()
	c.get("/login")
	expectAlert(t, c.post("/login", url.Values{"email": {gone.Email}, "password": {testPassword}}), msgGeneric)
	checkEvent(t, e.lastEvent("user_deleted"), "user_deleted", gone.ID, "")

	// The event log still shows who: by the address they had, marked deleted, and finds them.
	r = root.get("/events?user=gone@example.com")
	expectStatus(t, r, http.StatusOK)
	bodyHas(t, "events of the deleted user", pageText(r.Body), "gone@example.com (deleted)", "User deleted", "Signed in")
}

func TestAccountProfilePage(t *testing.T) {
	e := newEnv(t)
	u, c := e.signedIn("ada@example.com", "Ada", store.RoleUser)
	r := c.get("/account/profile")
	expectStatus(t, r, http.StatusOK)
	if fieldValue(r.Body, "name") != "Ada" {
		t.Errorf("the form does not show the name")
	}
	bodyHas(t, "Account > Profile", r.Body, `<dd id="account-email">ada@example.com</dd>`, `href="/account/profile" aria-current="page"`)

	expectRedirect(t, c.post("/account/profile", url.Values{"name": {" Ada Lovelace "}}), "/account/profile?notice=saved")
	r = c.get("/account/profile?notice=saved")
	if got := notices(r.Body); len(got) != 1 || got[0] != msgOwnNameSaved {
		t.Errorf("notice %q, want %q", got, msgOwnNameSaved)
	}
	if fieldValue(r.Body, "name") != "Ada Lovelace" || e.user(u.ID).Name != "Ada Lovelace" {
		t.Errorf("the new name is not saved")
	}
	ev := e.lastEvent("user_updated")
	if *ev.ActorID != u.ID || ev.Details["new"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Errorf("user_updated: actor %d, details %v", *ev.ActorID, ev.Details)
	}

	r = c.post("/account/profile", url.Values{"name": {"   "}})
	expectStatus(t, r, http.StatusUnprocessableEntity)
	bodyHas(t, "refused name", r.Body, "Enter a name of at most 200 characters.")
	expectStatus(t, c.postRaw("/account/profile", url.Values{"name": {"Eve"}}, nil), http.StatusForbidden) // no CSRF token
	expectRedirect(t, e.newClient().get("/account/profile"), "/login")
}
