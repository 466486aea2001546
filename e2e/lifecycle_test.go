package e2e

// A user's life in the browser: an admin edits a user's name and email on the Profile tab,
// sends an invitation again and copies its link, a super admin deletes a user on the Danger tab,
// a user renames themselves on Account > Profile, a super admin turns idle-user deactivation on,
// and a sign-in from a new browser is mailed. Every name in this file starts with lif, so that
// it cannot clash with the helpers of the other files of the package.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/mail/mailtest"
)

const (
	lifProfileForm = `#edit-profile form`
	lifResend      = `form[action$="/resend-invitation"] button[type=submit]`
	lifDeleteBox   = `#delete-user`
	lifAlert       = `[role=alert]`
	lifInviteSubj  = "You are invited to weftid"
)

// lifMail waits for the next mail to address with that subject.
func lifMail(t *testing.T, ctx context.Context, srv *server, address, subject string) mailtest.Received {
	t.Helper()
	mctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mctx, address, subject)
	if err != nil {
		t.Fatalf("wait for %q to %s: %v", subject, address, err)
	}
	return msg
}

// lifInvite adds a user on Users > Add a user, which mails them an invitation.
func lifInvite(t *testing.T, ctx context.Context, srv *server, name, email string) {
	t.Helper()
	do(t, ctx, "add "+email+" on Users > Add a user",
		chromedp.Navigate(srv.url("/users/new")),
		fill(`#name`, name),
		fill(`#email`, email),
		chromedp.SetValue(chromedp.CSS(`#role`), "user"),
		chromedp.Click(chromedp.CSS(`form[action="/users"] button[type=submit]`)),
		waitPath("/users"),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
}

// TestEditUserInBrowser: an admin renames a user and gives them a new address on the Profile
// tab; the user's browser is signed out, both addresses get a mail, and a taken address is
// refused in words with the form kept.
func TestEditUserInBrowser(t *testing.T) {
	srv := startServer(t)
	srv.addUser(t, "grace@example.com", "Grace Hopper", "admin", admPassword)
	srv.addUser(t, "ann@example.com", "Ann Smith", "user", admPassword)
	srv.addUser(t, "bob@example.com", "Bob Jones", "user", admPassword)
	ctx := newBrowser(t)
	annTab := admTab(t, ctx, "ann")
	pwSignIn(t, annTab, srv, "ann@example.com", admPassword)
	pwSignIn(t, ctx, srv, "grace@example.com", admPassword)
	ann := admOpenUser(t, ctx, "ann@example.com")

	// A taken address: the form comes back with the words and what was typed.
	do(t, ctx, "give Ann Bob's address",
		fill(`#profile-email`, "BOB@example.com"),
		chromedp.Click(chromedp.CSS(lifProfileForm+` button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-profile `+lifAlert)),
	)
	if got := read(t, ctx, "read the alert", textOfAll(`#edit-profile `+lifAlert)); !strings.Contains(got, "A user with this email address already exists.") {
		t.Errorf("alert %q", got)
	}
	if v := read(t, ctx, "read the field", valueOf(`#profile-email`)); v == nil || *v != "BOB@example.com" {
		t.Errorf("the refused form lost what was typed: %v", v)
	}

	do(t, ctx, "rename Ann and give her a new address",
		fill(`#profile-name`, "Ann Lovelace"),
		fill(`#profile-email`, "ann.l@example.com"),
		chromedp.Click(chromedp.CSS(lifProfileForm+` button[type=submit]`)),
		waitPath(fmt.Sprintf("/users/%d/profile", ann)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if h := read(t, ctx, "read the heading", textOfAll(`h1`)); h != "Ann Lovelace" {
		t.Errorf("heading %q after the rename", h)
	}
	if n := read(t, ctx, "read the notice", textOfAll(noticeSel)); !strings.Contains(n, "signed out everywhere") {
		t.Errorf("notice %q", n)
	}
	auditHere(t, ctx, "the Profile tab after an address change")
	lifMail(t, ctx, srv, "ann@example.com", "The email address of your weftid account was changed")
	msg := lifMail(t, ctx, srv, "ann.l@example.com", "This is now the email address of your weftid account")
	if !strings.Contains(msg.Text, "Grace Hopper (grace@example.com)") {
		t.Errorf("the mail to the new address does not name the admin:\n%s", msg.Text)
	}
	do(t, annTab, "Ann's browser opens a page", chromedp.Navigate(srv.url("/account/security")), waitPath("/login"))
}

// TestResendInvitationInBrowser: an invited user's Profile tab says until when the invitation
// works; "Send a new invitation" mails a new link, shows it once with a Copy button that copies
// exactly it, and the old link stops working.
func TestResendInvitationInBrowser(t *testing.T) {
	srv := startServer(t)
	srv.addUser(t, "grace@example.com", "Grace Hopper", "admin", admPassword)
	ctx := newBrowser(t)
	allowClipboard(t, ctx, srv)
	pwSignIn(t, ctx, srv, "grace@example.com", admPassword)
	lifInvite(t, ctx, srv, "Cleo New", "cleo@example.com")
	first := mailtest.FindLink(lifMail(t, ctx, srv, "cleo@example.com", lifInviteSubj).Text, srv.url("/invite/"))
	admOpenUser(t, ctx, "cleo@example.com")
	if got := read(t, ctx, "read the invitation", textOfAll(`#invitation-state`)); !strings.Contains(got, "has not set a password yet. Their invitation was sent") || !strings.Contains(got, "works until") {
		t.Errorf("invitation section %q", got)
	}

	do(t, ctx, "send a new invitation",
		chromedp.Click(chromedp.CSS(lifResend)),
		chromedp.WaitVisible(chromedp.CSS(`#invite-link`)),
	)
	clip, shown := copyAndRead(t, ctx, "invite-link")
	if clip != shown || !strings.HasPrefix(shown, srv.url("/invite/")) || shown == first {
		t.Errorf("copied %q, shown %q (the first link was %q)", clip, shown, first)
	}
	if !fitsWidth(t, ctx, "invite-link") {
		t.Error("the link runs off the page")
	}
	auditHere(t, ctx, "the new invitation link")
	if got := mailtest.FindLink(lifMail(t, ctx, srv, "cleo@example.com", lifInviteSubj).Text, srv.url("/invite/")); got != shown {
		t.Errorf("the mail carries %q, the page %q", got, shown)
	}
	anon := admTab(t, ctx, "invited")
	do(t, anon, "open the old link", chromedp.Navigate(first), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := read(t, anon, "read the heading", textOfAll(`h1`)); h != "Invitation link not valid" {
		t.Errorf("the old link shows %q", h)
	}
	do(t, anon, "open the new link", chromedp.Navigate(shown), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if h := read(t, anon, "read the heading", textOfAll(`h1`)); h != "Set your password" {
		t.Errorf("the new link shows %q", h)
	}
}

// TestDeleteUserInBrowser: a super admin deletes a user from the Danger tab by typing their
// address; a wrong one is refused with the confirmation left open; the event log still names
// them.
func TestDeleteUserInBrowser(t *testing.T) {
	srv := startServer(t)
	srv.addUser(t, "frances@example.com", "Frances Allen", "super_admin", admPassword)
	srv.addUser(t, "bob@example.com", "Bob Jones", "user", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, "frances@example.com", admPassword)
	bob := admOpenUser(t, ctx, "bob@example.com")
	admClickTab(t, ctx, bob, "danger", "Danger", "Danger")
	do(t, ctx, "open Delete user and type another address",
		chromedp.Click(chromedp.CSS(lifDeleteBox+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm_email`)),
		fill(`#confirm_email`, "rob@example.com"),
		chromedp.Click(chromedp.CSS(lifDeleteBox+` button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(lifDeleteBox+` `+lifAlert)),
	)
	if open := read(t, ctx, "is the confirmation open", jsTruthy(`document.querySelector("#delete-user details").open`)); !open {
		t.Error("after a refusal the confirmation is closed")
	}
	auditHere(t, ctx, "the refused deletion")
	shoot(t, ctx, "user-delete-refused")
	do(t, ctx, "type Bob's address",
		fill(`#confirm_email`, "Bob@Example.com"),
		chromedp.Click(chromedp.CSS(lifDeleteBox+` button[type=submit]`)),
		waitPath("/users"),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if rows := read(t, ctx, "read the users", textOfAll(admUserTable)); strings.Contains(rows, "bob@example.com") {
		t.Errorf("Users still lists Bob: %q", rows)
	}
	do(t, ctx, "filter the events by Bob's address",
		chromedp.Navigate(srv.url("/events?user=bob@example.com")),
		chromedp.WaitVisible(chromedp.CSS(admEventRows)),
	)
	if got := read(t, ctx, "read the events", textOfAll(`#event-rows`)); !strings.Contains(got, "bob@example.com (deleted)") {
		t.Errorf("the events do not name Bob as deleted:\n%s", got)
	}
}

// TestAccountProfileAndIdleSettingsInBrowser: a user renames themselves under Account >
// Profile; a super admin turns idle-user deactivation on under Settings > Security, and the
// overview says so.
func TestAccountProfileAndIdleSettingsInBrowser(t *testing.T) {
	srv := startServer(t)
	srv.addUser(t, "frances@example.com", "Frances Allen", "super_admin", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, "frances@example.com", admPassword)
	do(t, ctx, "open Account > Profile",
		chromedp.Navigate(srv.url("/account/security")),
		chromedp.Click(chromedp.CSS(`nav[aria-label=Account] a[href="/account/profile"]`)),
		waitPath("/account/profile"),
		fill(`#name`, "Frances E. Allen"),
		chromedp.Click(chromedp.CSS(`form[action="/account/profile"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if v := read(t, ctx, "read the name", valueOf(`#name`)); v == nil || *v != "Frances E. Allen" {
		t.Errorf("the name field after saving: %v", v)
	}

	do(t, ctx, "open Settings > Security > Idle users",
		chromedp.Navigate(srv.url("/settings/security")),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Security settings"] a[href="/settings/security/idle-users"]`)),
		waitPath("/settings/security/idle-users"),
		chromedp.SetValue(chromedp.CSS(`#idle_deactivation_days`), "90"),
		chromedp.Click(chromedp.CSS(`form[action="/settings/security/idle-users"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	auditHere(t, ctx, "the idle-user setting saved")
	do(t, ctx, "back to the overview", chromedp.Navigate(srv.url("/settings/security")), waitPath("/settings/security"))
	if got := read(t, ctx, "read the overview", textOfAll(`main`)); !strings.Contains(got, "Deactivate idle users: after 90 days without a sign-in") {
		t.Errorf("the overview does not show the setting:\n%s", got)
	}
}

// TestNewBrowserSignInMailed: a sign-in from a second browser is mailed to the user, naming it;
// signing in again from that browser is not.
func TestNewBrowserSignInMailed(t *testing.T) {
	srv := startServer(t)
	srv.addUser(t, "ann@example.com", "Ann Smith", "user", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, "ann@example.com", admPassword)
	other := admTab(t, ctx, "another browser")
	pwSignIn(t, other, srv, "ann@example.com", admPassword)
	msg := lifMail(t, ctx, srv, "ann@example.com", "New sign-in to your weftid account")
	for _, want := range []string{"Browser: Chrome on Linux", "IP address: 127.0.0.1", "If it was not"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("the notice does not say %q:\n%s", want, msg.Text)
		}
	}
	// The same browser again tells nothing; a third one does. (Notices go in the background: the
	// third's is waited for, and one the second sign-in sent wrongly would have come first.)
	signOut(t, other)
	pwSignIn(t, other, srv, "ann@example.com", admPassword)
	third := admTab(t, ctx, "a third browser")
	pwSignIn(t, third, srv, "ann@example.com", admPassword)
	lifMail(t, ctx, srv, "ann@example.com", "New sign-in to your weftid account")
	n := 0
	for _, m := range srv.mail.Messages() {
		if m.Subject == "New sign-in to your weftid account" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d new-browser notices after two new browsers and one known one, want 2", n)
	}
}
