package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Groups and application access in Chromium (views/groups.templ, views/app_access.templ,
// views/access_denied.templ). Every name in this file starts with grp, so that it cannot clash
// with the helpers of the other files of the package.
const (
	grpNewSubmit    = `form[action="/groups/new"] button[type=submit]`
	grpMemberEmail  = `#member-email`
	grpMemberSubmit = `#add-member button[type=submit]`
	grpMembers      = `#group-members`
	grpDeleteOpen   = `#group-delete summary`
	grpDeleteYes    = `#group-delete form button[type=submit]`
	grpDenied       = `#access-denied`
	grpReturn       = `#access-return`
	// The form of an application's page that holds "Who may sign in", and its Save button.
	grpAccessSave = `form:has(#app-access) button[type=submit]`
)

// grpCreate makes a group through Groups > New group and returns its page's path.
func grpCreate(t *testing.T, ctx context.Context, srv *server, name, description string) string {
	t.Helper()
	do(t, ctx, "open the dashboard", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	clickMainNav(t, ctx, "/groups")
	do(t, ctx, "create the group "+name,
		waitPath("/groups"),
		chromedp.Click(chromedp.CSS(`main a[href="/groups/new"]`)),
		waitPath("/groups/new"),
		fill(`#group-name`, name),
		fill(`#group-description`, description),
		chromedp.Click(chromedp.CSS(grpNewSubmit)),
	)
	waitTrue(t, ctx, "wait for the group's page", `/^\/groups\/\d+$/.test(location.pathname) && !!document.querySelector(`+jsString(noticeSel)+`)`, navTimeout)
	if h1 := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != name {
		t.Errorf("the group's page is headed %q, want %q", h1, name)
	}
	return currentPath(t, ctx)
}

// grpAddMember adds the user with that address on the group's page at path.
func grpAddMember(t *testing.T, ctx context.Context, srv *server, path, email string) {
	t.Helper()
	do(t, ctx, "add "+email,
		chromedp.Navigate(srv.url(path)),
		waitPath(path),
		fill(grpMemberEmail, email),
		chromedp.Click(chromedp.CSS(grpMemberSubmit)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if got := read(t, ctx, "read the members", textOfAll(grpMembers)); !strings.Contains(got, email) {
		t.Errorf("the members %q do not list %s", got, email)
	}
}

// grpRestrict lets only the group named group sign in to the application whose page is path.
func grpRestrict(t *testing.T, ctx context.Context, srv *server, path, group string) {
	t.Helper()
	do(t, ctx, "open "+path, chromedp.Navigate(srv.url(path)), waitPath(path), chromedp.WaitVisible(chromedp.CSS(`#app-access`)))
	id := read(t, ctx, "find the box of "+group, chromedp.Evaluate[string](`(() => {
		const l = Array.from(document.querySelectorAll("#app-access .access-groups label")).find(l => l.innerText.trim().startsWith(`+jsString(group)+`));
		return l ? l.htmlFor : "";
	})()`))
	if id == "" {
		t.Fatalf("%s offers no group %s: %q", path, group, read(t, ctx, "read the fieldset", textOfAll(`#app-access`)))
	}
	do(t, ctx, "let only "+group+" sign in",
		chromedp.Click(chromedp.CSS(`#access-groups`)),
		chromedp.Click(chromedp.CSS(`#`+id)),
		chromedp.Click(chromedp.CSS(grpAccessSave)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if on := read(t, ctx, "read the choice", jsTruthy(`document.querySelector("#access-groups").checked && document.querySelector("#`+id+`").checked`)); !on {
		t.Errorf("after saving, %s does not show only %s chosen", path, group)
	}
}

// TestGroupsAndAppAccessInBrowser: an admin makes a group and lets only it sign in to a SAML
// service provider and an OpenID Connect app; a user outside it gets weftid's no-access page
// from both (the OIDC one leads back to the RP with access_denied) and neither on the
// dashboard; added to the group, the user reaches the SP; the user's Groups and Apps tabs say so;
// deleting the group (confirmed) shuts the app again.
func TestGroupsAndAppAccessInBrowser(t *testing.T) {
	const (
		adminEmail = "frances@example.com"
		email      = "alan@example.com"
		name       = "Alan Turing"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Frances Allen", "super_admin", admPassword)
	srv.addUser(t, email, name, "user", admPassword)
	sp := startSAMLSP(t, srv)
	rp := startRP(t)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	group := grpCreate(t, ctx, srv, "Finance", "Pays people")
	registerSAMLApp(t, ctx, srv, "Payroll", sp)
	grpRestrict(t, ctx, srv, currentPath(t, ctx), "Finance")
	clientID, secret := registerOIDCApp(t, ctx, srv, "Ledger", rp.redirectURI())
	rp.configure(srv.baseURL, clientID, secret)
	grpRestrict(t, ctx, srv, "/applications/oidc/"+clientID, "Finance")
	lap("a group, and two apps only it may open")

	user := admTab(t, ctx, "user")
	pwSignIn(t, user, srv, email, admPassword)
	if apps := read(t, user, "read the dashboard", textOfAll(`#dashboard-apps`)); strings.Contains(apps, "Payroll") || strings.Contains(apps, "Ledger") {
		t.Errorf("the dashboard of a user outside Finance offers %q", apps)
	}
	do(t, user, "open the SP", chromedp.Navigate(sp.root+"/app"), chromedp.WaitVisible(chromedp.CSS(grpDenied)))
	if h1 := read(t, user, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "No access to Payroll" {
		t.Errorf("the no-access page is headed %q", h1)
	}
	if text := read(t, user, "read the page", textOfAll(grpDenied)); !strings.Contains(text, adminEmail) || !strings.Contains(text, "you may not sign in to Payroll") {
		t.Errorf("the no-access page does not say whom to ask: %q", text)
	}
	if n := len(sp.received()); n != 0 {
		t.Fatalf("the SP received %d assertions, want 0", n)
	}
	do(t, user, "open the RP", chromedp.Navigate(rp.srv.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(grpReturn)))
	do(t, user, "go back to the RP", chromedp.Click(chromedp.CSS(grpReturn)))
	waitTrue(t, user, "wait for the RP", `location.origin === `+jsString(rp.srv.URL)+` && document.readyState === "complete"`, navTimeout)
	if _, _, err := rp.result(); err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Errorf("the RP's answer: %v, want an access_denied error", err)
	}
	lap("refused at the SP and the RP")

	grpAddMember(t, ctx, srv, group, email)
	do(t, user, "open the SP again", chromedp.Navigate(sp.root+"/app"))
	checkSPState(t, waitSP(t, user, sp, "wait for the SP's page"), email, name, "user")
	lap("a member reaches the SP")

	id := admOpenUser(t, ctx, email)
	admClickTab(t, ctx, id, "groups", "Groups", "Groups")
	if got := read(t, ctx, "read the Groups tab", textOfAll(`#user-groups`)); !strings.Contains(got, "Finance") {
		t.Errorf("the Groups tab lists %q, want Finance", got)
	}
	admClickTab(t, ctx, id, "apps", "Apps", "Apps")
	if got := read(t, ctx, "read the Apps tab", textOfAll(`#user-apps`)); strings.Count(got, "Yes: member of Finance") != 2 {
		t.Errorf("the Apps tab says %q, want Payroll and Ledger through Finance", got)
	}

	do(t, ctx, "delete the group",
		chromedp.Navigate(srv.url(group)),
		waitPath(group),
		chromedp.Click(chromedp.CSS(grpDeleteOpen)),
		chromedp.WaitVisible(chromedp.CSS(grpDeleteYes)),
		chromedp.Click(chromedp.CSS(grpDeleteYes)),
		waitPath("/groups"),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	do(t, user, "open the dashboard", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	if apps := read(t, user, "read the dashboard", textOfAll(`#dashboard-apps`)); strings.Contains(apps, "Payroll") {
		t.Errorf("after the group was deleted the dashboard still offers Payroll: %q", apps)
	}
	lap("the group deleted")
}
