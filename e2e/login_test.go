package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/weftid/weftid/mail/mailtest"
)

// Selectors of the sign-in pages, from the contract in DESIGN.md.
const (
	loginForm     = `form[action="/login"]`
	loginEmail    = loginForm + ` input[name=email]`
	loginPassword = loginForm + ` input[name=password]`
	loginCSRF     = loginForm + ` input[type=hidden][name=_csrf]`
	loginSubmit   = loginForm + ` button[type=submit]`

	// The verify page may hold other forms (resend), so find the one with
	// the code field.
	codeInput  = `input[name=code]`
	codeSubmit = `form:has(input[name=code]) button[type=submit]`

	logoutButton = `form[action="/logout"] button[type=submit]`
	alert        = `[role=alert]`
)

// genericSignInError is the start of the one message the app shows for every
// sign-in failure: "Incorrect email or password, or the account cannot sign in."
const genericSignInError = "Incorrect email or password"

// TestPasswordAndEmailCodeSignIn signs a user with no TOTP and no passkey in
// under the Baseline policy: password, then a code sent by mail; a wrong
// password and a wrong code first get the generic error; signing out ends the
// session.
func TestPasswordAndEmailCodeSignIn(t *testing.T) {
	const (
		email    = "ada@example.com"
		name     = "Ada Lovelace"
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)

	do(t, ctx, "open /login",
		chromedp.Navigate(srv.url("/login")),
		chromedp.WaitVisible(chromedp.CSS(loginSubmit)),
	)
	if csrf := read(t, ctx, "look for the CSRF field", valueOf(loginCSRF)); csrf == nil {
		t.Errorf("the sign-in form has no hidden _csrf input (%s)", loginCSRF)
	} else if *csrf == "" {
		t.Errorf("the sign-in form's _csrf input is empty")
	}

	// A wrong password: same page, the generic error.
	do(t, ctx, "sign in with a wrong password",
		removeAlerts(),
		fill(loginEmail, email),
		fill(loginPassword, "not the password at all 42"),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		chromedp.WaitVisible(chromedp.CSS(alert)),
	)
	if got := currentPath(t, ctx); got != "/login" {
		t.Errorf("after a wrong password: path %q, want /login", got)
	}
	if got := read(t, ctx, "read the error", textOfAll(alert)); !strings.Contains(got, genericSignInError) {
		t.Errorf("after a wrong password: alert %q, want it to contain %q", got, genericSignInError)
	}

	// The right password: on to the code page, and a code by mail.
	do(t, ctx, "sign in with the right password",
		fill(loginEmail, email),
		fill(loginPassword, password),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
		chromedp.WaitVisible(chromedp.CSS(codeSubmit)),
	)
	mailCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mailCtx, email, codeSubject)
	if err != nil {
		t.Fatalf("wait for the sign-in code mail: %v", err)
	}
	code := mailtest.FindCode(msg.Text)
	if code == "" {
		t.Fatalf("no 6-digit code in the mail's text:\n%s", msg.Text)
	}

	// A wrong code: same page, the generic error.
	do(t, ctx, "submit a wrong code",
		removeAlerts(),
		fill(codeInput, wrongCode(code)),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		chromedp.WaitVisible(chromedp.CSS(alert)),
	)
	if got := currentPath(t, ctx); got != "/login/verify" {
		t.Errorf("after a wrong code: path %q, want /login/verify", got)
	}

	// The right code: signed in.
	do(t, ctx, "submit the right code",
		fill(codeInput, code),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath("/dashboard"),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	if got := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(got, "Dashboard") {
		t.Errorf("dashboard h1: got %q, want it to contain %q", got, "Dashboard")
	}
	if got := read(t, ctx, "read the navigation", textOfAll("nav")); !strings.Contains(got, name) {
		t.Errorf("navigation text %q does not show the user's name %q", got, name)
	}

	// Sign out: back to /login, and the dashboard is closed again.
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(logoutButton)),
		waitPath("/login"),
	)
	do(t, ctx, "open /dashboard after signing out",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(loginSubmit)),
	)
}

// wrongCode is code with its last digit changed.
func wrongCode(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string(rune('0'+(last-'0'+1)%10))
}
