package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestPasskeyRegisterAndSignIn registers a passkey on Account > Security with
// a CDP virtual authenticator, signs out, and signs in with only the passkey:
// no password, no code, no mail. Then it renames and deletes the passkey; the
// authenticator still holds the credential, and the server refuses it.
func TestPasskeyRegisterAndSignIn(t *testing.T) {
	const (
		email    = "margaret@example.com"
		name     = "Margaret Hamilton"
		password = "correct horse battery staple 42"
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	authID := addAuthenticator(t, ctx)
	lap("server, browser and authenticator up")

	pwSignIn(t, ctx, srv, email, password)
	lap("signed in with password and email code")

	// Register "Laptop".
	s := openSecurity(t, ctx, srv)
	if !s.NoneYet || len(s.Passkeys) != 0 {
		t.Errorf("before registering: %v, want \"No passkeys yet.\" and no rows", s)
	}
	s = registerPasskey(t, ctx, srv, "Laptop")
	lap("passkey registered")
	if len(s.Passkeys) != 1 {
		t.Fatalf("after registering: %d passkey rows, want 1: %v", len(s.Passkeys), s)
	}
	row := s.Passkeys[0]
	if row.Name != "Laptop" {
		t.Errorf("passkey name: %q, want %q", row.Name, "Laptop")
	}
	checkDate(t, "the passkey's Added date", "2 Jan 2006", row.Added)
	if row.LastUsed != "never" {
		t.Errorf("a new passkey's Last used: %q, want \"never\"", row.LastUsed)
	}
	if s.NoneYet {
		t.Errorf("\"No passkeys yet.\" still shows with a passkey registered")
	}

	creds := authenticatorCredentials(t, ctx, authID)
	if len(creds) != 1 {
		t.Fatalf("the virtual authenticator holds %d credentials, want 1", len(creds))
	}
	cred := creds[0]
	if !cred.IsResidentCredential {
		t.Errorf("the credential is not resident (discoverable); a passkey sign-in without an email cannot find it")
	}
	if cred.RpID != "localhost" {
		t.Errorf("the credential's RP ID is %q, want \"localhost\"", cred.RpID)
	}
	if len(cred.UserHandle) == 0 {
		t.Errorf("the credential has no user handle")
	}
	t.Logf("credential: rpId=%q user.name=%q user.displayName=%q handle=%d bytes signCount=%v",
		cred.RpID, cred.UserName, cred.UserDisplayName, len(cred.UserHandle), cred.SignCount)
	if cred.UserName != email {
		t.Errorf("the credential's user.name is %q, want the email %q", cred.UserName, email)
	}

	// Sign out; sign in with only the passkey.
	signOut(t, ctx)
	mailsBefore := codeMailsTo(srv, email)
	do(t, ctx, "sign in with the passkey, typing nothing",
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
		waitPath("/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	lap("signed in with the passkey")
	if got := read(t, ctx, "read the navigation", textOfAll("nav")); !strings.Contains(got, name) {
		t.Errorf("after the passkey sign-in the navigation shows %q, not the user's name %q", got, name)
	}
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("the passkey sign-in sent %d mail(s) to the user, want none", n)
	}
	if creds := authenticatorCredentials(t, ctx, authID); len(creds) == 1 && creds[0].SignCount <= cred.SignCount {
		t.Logf("note: the authenticator's sign count did not grow (%v -> %v)", cred.SignCount, creds[0].SignCount)
	}

	s = openSecurity(t, ctx, srv)
	if len(s.Passkeys) != 1 {
		t.Fatalf("after the passkey sign-in: %d passkey rows, want 1: %v", len(s.Passkeys), s)
	}
	if s.Passkeys[0].LastUsed == "never" {
		t.Errorf("after the passkey sign-in, Last used still says \"never\"")
	} else {
		checkDate(t, "the passkey's Last used", "2 Jan 2006", s.Passkeys[0].LastUsed)
	}

	// Rename.
	do(t, ctx, "rename the passkey to Work laptop",
		removeNotices(),
		fill(passkeyRenameInput, "Work laptop"),
		chromedp.Click(chromedp.CSS(passkeyRenameButton)),
	)
	s = waitSecurityNotice(t, ctx, "wait for the rename", passkeyRenamedNotice)
	if len(s.Passkeys) != 1 || s.Passkeys[0].Name != "Work laptop" {
		t.Fatalf("after renaming: rows %+v, want one named \"Work laptop\"", s.Passkeys)
	}
	if s.Passkeys[0].LastUsed == "never" {
		t.Errorf("renaming the passkey reset its Last used to \"never\"")
	}
	lap("passkey renamed")

	// Delete.
	do(t, ctx, "delete the passkey",
		removeNotices(),
		chromedp.Click(chromedp.CSS(`#passkeys button[aria-label="Delete passkey Work laptop"]`)),
	)
	s = waitSecurityNotice(t, ctx, "wait for the deletion", passkeyDeletedNotice)
	if len(s.Passkeys) != 0 || !s.NoneYet {
		t.Errorf("after deleting: %v, want no rows and \"No passkeys yet.\"", s)
	}
	lap("passkey deleted")

	// The authenticator still offers the credential; the server refuses it.
	signOut(t, ctx)
	if n := len(authenticatorCredentials(t, ctx, authID)); n != 1 {
		t.Fatalf("the virtual authenticator holds %d credentials after the deletion on the server, want it to keep 1", n)
	}
	mailsBefore = codeMailsTo(srv, email)
	do(t, ctx, "sign in with the deleted passkey",
		removeAlerts(),
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
		chromedp.WaitVisible(chromedp.CSS(passkeySignInAlert)),
	)
	lap("deleted passkey refused")
	if got := read(t, ctx, "read the passkey error", textOfAll(passkeySignInAlert)); got != passkeyRefused {
		t.Errorf("the deleted passkey: alert %q, want %q", got, passkeyRefused)
	}
	if got := currentPath(t, ctx); got != "/login" {
		t.Errorf("the deleted passkey: path %q, want /login", got)
	}
	if busy := read(t, ctx, "read the button's aria-busy", jsTruthy(`document.querySelector(`+jsString(passkeySignInButton)+`).getAttribute("aria-busy")`)); busy {
		t.Errorf("after the refusal the passkey button is still aria-busy")
	}
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("the refused passkey sign-in sent %d mail(s)", n)
	}
	do(t, ctx, "open /dashboard after the refusal",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
	)
	lap("done")
}

// TestPasskeyOfferedAsSecondFactor registers a passkey, then signs in with
// the password: the second-factor page offers "Use a passkey instead", which
// signs in. With TOTP on too, the same holds on the TOTP page; there the test
// takes the screenshot of Account > Security with a passkey and TOTP on.
func TestPasskeyOfferedAsSecondFactor(t *testing.T) {
	const (
		email    = "barbara@example.com"
		name     = "Barbara Liskov"
		password = "correct horse battery staple 42"
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	addAuthenticator(t, ctx)
	pwSignIn(t, ctx, srv, email, password)
	registerPasskey(t, ctx, srv, "Laptop")
	lap("passkey registered")

	usePasskeyOnVerify := func(when string) {
		t.Helper()
		do(t, ctx, when+": wait for \"Use a passkey instead\"",
			chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		)
		if label := read(t, ctx, "read the passkey button", chromedp.Text(chromedp.CSS(passkeySignInButton))); label != "Use a passkey instead" {
			t.Errorf("%s: the passkey button reads %q, want \"Use a passkey instead\"", when, label)
		}
		do(t, ctx, when+": click \"Use a passkey instead\"",
			chromedp.Click(chromedp.CSS(passkeySignInButton)),
		)
		waitTrue(t, ctx, when+": wait for the dashboard",
			`location.pathname === "/dashboard" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
		if a := read(t, ctx, "look for the passkey error", textOfAll(passkeySignInAlert)); a != "" {
			t.Fatalf("%s: the passkey was refused: %q", when, a)
		}
		do(t, ctx, when+": wait for the dashboard", waitPath("/dashboard"))
	}

	// An email-code user: the code page offers the passkey too.
	signOut(t, ctx)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "wait for the email code form", chromedp.WaitVisible(chromedp.CSS(codeInput)))
	usePasskeyOnVerify("email-code user")
	lap("password + passkey (email-code user)")

	// With TOTP on as well.
	setupTOTP(t, ctx, srv)
	lap("TOTP on")
	s := openSecurity(t, ctx, srv)
	if len(s.Passkeys) != 1 || !strings.Contains(s.TOTP, "On.") {
		t.Errorf("Account > Security: %v, TOTP card %q; want one passkey and TOTP on", s, s.TOTP)
	}
	shot := read(t, ctx, "take a screenshot", chromedp.FullScreenshot(100))
	const shotFile = "/tmp/weftid-security.png"
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Errorf("save the screenshot: %v", err)
	} else {
		t.Logf("screenshot of Account > Security: %s", shotFile)
	}

	signOut(t, ctx)
	mailsBefore := codeMailsTo(srv, email)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "wait for the TOTP form", chromedp.WaitVisible(chromedp.CSS(verifyTOTPCode)))
	usePasskeyOnVerify("TOTP user")
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("password + passkey with TOTP on sent %d mail(s), want none", n)
	}
	lap("done")
}

// TestPasskeySignInAsSomeoneElse: a person types one account's password,
// then follows "Sign in as someone else" back to /login and signs in there
// with a passkey of another account. /login's "Sign in with a passkey" is a
// whole sign-in that names the user by the passkey, whatever was typed
// before, so it must sign in the passkey's owner.
func TestPasskeySignInAsSomeoneElse(t *testing.T) {
	const (
		emailA   = "alan@example.com" // no passkey
		emailB   = "joan@example.com" // has the passkey
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, emailA, "Alan Turing", "user", password)
	srv.addUser(t, emailB, "Joan Clarke", "user", password)
	ctx := newBrowser(t)
	addAuthenticator(t, ctx)
	pwSignIn(t, ctx, srv, emailB, password)
	registerPasskey(t, ctx, srv, "Laptop")
	signOut(t, ctx)

	passwordOnly(t, ctx, srv, emailA, password)
	do(t, ctx, "follow \"Sign in as someone else\"",
		chromedp.Click(chromedp.CSS(`a[href="/login"]:not(.brand)`)),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
	)
	do(t, ctx, "sign in with Joan's passkey",
		removeAlerts(),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
	)
	waitTrue(t, ctx, "wait for the dashboard",
		`location.pathname === "/dashboard" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if a := read(t, ctx, "look for the passkey error", textOfAll(passkeySignInAlert)); a != "" {
		t.Fatalf("\"Sign in with a passkey\" on /login, after Alan's password was typed, was refused with %q: the server took it for Alan's second factor instead of a passkey sign-in", a)
	}
	do(t, ctx, "wait for the dashboard", waitPath("/dashboard"))
	if got := read(t, ctx, "read the navigation", textOfAll("nav")); !strings.Contains(got, "Joan Clarke") {
		t.Errorf("signed in with Joan's passkey, the navigation shows %q", got)
	}
}
