package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/mail/mailtest"
)

// Forced and self-service password resets (handlers/force_reset.go, login_reset.go,
// password_forgot.go). Names in this file start with rst.
const (
	rstForceBox    = `#force-password-reset`
	rstForceOpen   = rstForceBox + ` details > summary`
	rstForceYes    = rstForceBox + ` form button[type=submit]`
	rstForceNotice = "A password reset is required."
	rstNewPassword = "quartz lantern drifts over copper meadows 7"
	rstTitle       = "Password Reset Required"
	rstSubmit      = `form[action="/login/reset-password"] button[type=submit]`
)

// rstMail waits for the next mail to address.
func rstMail(t *testing.T, ctx context.Context, srv *server, address string) mailtest.Received {
	t.Helper()
	mctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitFor(mctx, address)
	if err != nil {
		t.Fatalf("wait for mail to %s: %v", address, err)
	}
	return msg
}

// rstResetLink waits for the reset mail to address (skipping earlier mail, such as sign-in
// codes nobody read) and returns its link.
func rstResetLink(t *testing.T, ctx context.Context, srv *server, address string) string {
	t.Helper()
	for {
		msg := rstMail(t, ctx, srv, address)
		if link := mailtest.FindLink(msg.Text, srv.url("/password/reset/")); link != "" {
			return link
		}
	}
}

// rstTypeNewPassword types the new password with the live meter watching, waits for its
// verdict (it must accept the password), and types the confirmation.
func rstTypeNewPassword(t *testing.T, ctx context.Context, password string) {
	t.Helper()
	waitTrue(t, ctx, "wait for htmx to process the page",
		`window.htmx && document.readyState === "complete" && document.querySelector(`+jsString(pwNew)+`)["htmx-internal-data"]`, stepTimeout)
	do(t, ctx, "instrument the meter", instrumentMeter())
	do(t, ctx, "type a weak password", fill(pwNew, "password"))
	if m := waitMeterFor(t, ctx, "password"); m.OK != "false" || m.AriaLive != "polite" {
		t.Errorf("meter for a weak password: %v, want data-ok=false in an aria-live=polite region", m)
	}
	do(t, ctx, "type the new password", fill(pwNew, password))
	if m := waitMeterFor(t, ctx, password); m.OK != "true" {
		t.Errorf("meter for the new password: %v, want data-ok=true", m)
	}
	do(t, ctx, "confirm the new password", fill(pwConfirm, password))
}

// TestAdminForcesPasswordReset: an admin forces a reset of a signed-in user, whose next click
// lands on /login; the user signs in, sees "Password Reset Required", sets a new password with
// the meter, passes the email code, and reaches the dashboard.
func TestAdminForcesPasswordReset(t *testing.T) {
	const (
		adminEmail = "katherine@example.com"
		email      = "dorothy@example.com"
		name       = "Dorothy Vaughan"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Katherine Johnson", "admin", admPassword)
	srv.addUser(t, email, name, "user", admPassword)
	ctx := newBrowser(t) // the user's
	actx := admTab(t, ctx, "admin")

	pwSignIn(t, ctx, srv, email, admPassword)
	pwSignIn(t, actx, srv, adminEmail, admPassword)

	id := admOpenUser(t, actx, email)
	admClickTab(t, actx, id, "danger", "Danger", "Danger")
	do(t, actx, "open the confirmation",
		chromedp.Click(chromedp.CSS(rstForceOpen)),
		chromedp.WaitVisible(chromedp.CSS(rstForceYes)),
	)
	if confirm := read(t, actx, "read the confirmation", textOfAll(rstForceBox+` form`)); !strings.Contains(confirm, email) {
		t.Errorf("the confirmation does not name the user: %q", confirm)
	}
	do(t, actx, "confirm", removeNotices(), chromedp.Click(chromedp.CSS(rstForceYes)))
	d := pollUntil(t, actx, "wait for the notice", navTimeout, admReadDetail(), func(d admDetail) bool { return d.Notice != "" })
	if d.Path != fmt.Sprintf("/users/%d/danger", id) || !strings.HasPrefix(d.Notice, rstForceNotice) {
		t.Errorf("after forcing the reset: %v", d)
	}

	// The user's next click lands on /login, which says why.
	do(t, ctx, "click Account in the user's browser",
		chromedp.Click(chromedp.CSS(`nav[aria-label=Main] a[href="/account/security"]`)),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(loginSubmit)),
	)
	if n := read(t, ctx, "read the notice", textOfAll(noticeSel)); !strings.Contains(n, "you must choose a new password") {
		t.Errorf("/login's notice %q does not say why the session ended", n)
	}

	// The current password leads to "Password Reset Required", not to a code.
	do(t, ctx, "sign in with the current password",
		fill(loginEmail, email),
		fill(loginPassword, admPassword),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/reset-password"),
		chromedp.WaitVisible(chromedp.CSS(pwNew)),
	)
	if h := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h != rstTitle {
		t.Errorf("heading %q, want %q", h, rstTitle)
	}
	rstTypeNewPassword(t, ctx, rstNewPassword)
	do(t, ctx, "set the new password",
		chromedp.Click(chromedp.CSS(rstSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
	)
	code := codeFromMail(t, ctx, srv, email)
	do(t, ctx, "submit the email code",
		fill(codeInput, code),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath("/dashboard"),
	)
	// The new password is the one that works now.
	signOut(t, ctx)
	pwSignIn(t, ctx, srv, email, rstNewPassword)
}

// TestForgotPasswordLink: "Forgot password?" on /login sends a link, read from the SMTP server,
// whose page sets a new password; the user then signs in with it, email code included.
func TestForgotPasswordLink(t *testing.T) {
	const email = "annie@example.com"
	srv := startServer(t)
	srv.addUser(t, email, "Annie Easley", "user", admPassword)
	ctx := newBrowser(t)

	do(t, ctx, "open Forgot password? from /login",
		chromedp.Navigate(srv.url("/login")),
		chromedp.Click(chromedp.CSS(`a[href="/password/forgot"]`)),
		waitPath("/password/forgot"),
		fill(`#email`, email),
		chromedp.Click(chromedp.CSS(`form[action="/password/forgot"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if n := read(t, ctx, "read the answer", textOfAll(noticeSel)); !strings.Contains(n, "If an account exists for that address") {
		t.Errorf("answer %q", n)
	}
	link := rstResetLink(t, ctx, srv, email)
	do(t, ctx, "open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(pwNew)),
	)
	rstTypeNewPassword(t, ctx, rstNewPassword)
	do(t, ctx, "set the new password",
		chromedp.Click(chromedp.CSS(`form[action^="/password/reset/"] button[type=submit]`)),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if n := read(t, ctx, "read the notice", textOfAll(noticeSel)); !strings.Contains(n, "Your new password is set") {
		t.Errorf("notice %q", n)
	}
	pwSignIn(t, ctx, srv, email, rstNewPassword)
	// The link worked once.
	do(t, ctx, "open the link again",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)),
	)
}
