package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
)

// Selectors of Settings > Security > Authentication and of the enrollment step
// (views/settings.templ, views/enroll.templ).
const (
	authPolicyForm     = `form[action="/settings/security/authentication"]`
	authPolicyBaseline = authPolicyForm + ` input[name=required_auth_strength][value=baseline]`
	authPolicyEnhanced = authPolicyForm + ` input[name=required_auth_strength][value=enhanced]`
	authPolicySave     = authPolicyForm + ` button[type=submit]`

	enrollPasskeyLink = `a[hx-get="/login/enroll?path=passkey"]`
	enrollTOTPLink    = `a[hx-get="/login/enroll/totp"]`
	enrollPath        = `#enroll-path`
	enrollRegister    = enrollPath + ` form[data-passkey="register"]`
	enrollPasskeyName = enrollRegister + ` input[name=name]`
	enrollPasskeyBtn  = enrollRegister + ` button[type=submit]`
	enrollPasskeyErr  = enrollRegister + ` [data-passkey-error][role=alert]`
	enrollTOTPCode    = enrollPath + ` form[action="/login/enroll/totp"] input[name=code]`
	enrollTOTPSubmit  = enrollPath + ` form[action="/login/enroll/totp"] button[type=submit]`
)

const enrollPassword = "correct horse battery staple 42"

// setEnhanced signs a super admin in, opens Settings > Security > Authentication from
// Settings > Security, selects Enhanced and saves.
func setEnhanced(t *testing.T, ctx context.Context, srv *server, email string) {
	t.Helper()
	pwSignIn(t, ctx, srv, email, enrollPassword)
	do(t, ctx, "open Settings > Security > Authentication",
		chromedp.Click(chromedp.CSS(`nav a[href="/settings/security"]`)),
		waitPath("/settings/security"),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Security settings"] a[href="/settings/security/authentication"]`)),
		waitPath("/settings/security/authentication"),
		chromedp.WaitVisible(chromedp.CSS(authPolicySave)),
	)
	checked := read(t, ctx, "read the policy radios", chromedp.Evaluate[[]bool](
		`[document.querySelector(`+jsString(authPolicyBaseline)+`).checked, document.querySelector(`+jsString(authPolicyEnhanced)+`).checked]`))
	if len(checked) != 2 || !checked[0] || checked[1] {
		t.Errorf("the policy radios [baseline enhanced] are checked %v, want Baseline by default", checked)
	}
	do(t, ctx, "select Enhanced and save",
		removeNotices(),
		chromedp.Click(chromedp.CSS(authPolicyEnhanced)),
		chromedp.Click(chromedp.CSS(authPolicySave)),
		policyConfirm(), // the preview of who meets enrollment, then the notice
	)
	if got := read(t, ctx, "read the notice", textOfAll(noticeSel)); !strings.Contains(got, "Saved.") {
		t.Errorf("after saving: notice %q", got)
	}
	if on := read(t, ctx, "read Enhanced", jsTruthy(`document.querySelector(`+jsString(authPolicyEnhanced)+`).checked`)); !on {
		t.Error("after saving, Enhanced is not checked")
	}
}

// signInToEnroll signs in with the password and the mailed code and expects the enrollment step.
func signInToEnroll(t *testing.T, ctx context.Context, srv *server, email string) {
	t.Helper()
	signInWithCode(t, ctx, srv, email, enrollPassword, "/login/enroll",
		chromedp.WaitVisible(chromedp.CSS(enrollPasskeyLink)),
		chromedp.WaitVisible(chromedp.CSS(enrollTOTPLink)),
	)
	if h1 := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "Set up two-step verification" {
		t.Errorf("enrollment heading %q", h1)
	}
	links := read(t, ctx, "read the options", textOfAll(`.enroll-options a`))
	if links != "Register a passkey\nSet up TOTP" {
		t.Errorf("enrollment options %q, want \"Register a passkey\" and \"Set up TOTP\"", links)
	}
	// Nothing else opens.
	do(t, ctx, "open /dashboard before enrolling",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login/enroll"),
		chromedp.WaitVisible(chromedp.CSS(enrollPasskeyLink)),
	)
}

// chooseEnrollPath clicks an option and checks htmx swapped it in without loading a new page,
// the URL following (hx-push-url).
func chooseEnrollPath(t *testing.T, ctx context.Context, link, wantURL, ready string) {
	t.Helper()
	waitTrue(t, ctx, "wait for htmx to process the options",
		`window.htmx && document.readyState === "complete" && document.querySelector(`+jsString(link)+`)["htmx-internal-data"]`, stepTimeout)
	do(t, ctx, "choose "+wantURL,
		chromedp.Evaluate[chromedp.Void](`window.__enrollMarker = "same page"`),
		chromedp.Click(chromedp.CSS(link)),
	)
	waitTrue(t, ctx, "wait for the path to swap in",
		`location.pathname + location.search === `+jsString(wantURL)+` && document.querySelector(`+jsString(ready)+`)`, navTimeout)
	if m := read(t, ctx, "read the marker", chromedp.Evaluate[string](`String(window.__enrollMarker)`)); m != "same page" {
		t.Errorf("choosing %s loaded a new page instead of an htmx swap", wantURL)
	}
}

// TestEnhancedEnrollmentWithPasskey: a super admin sets Enhanced; an e-mail-only user signs in,
// lands on enrollment, cannot open /dashboard, registers a passkey with the virtual
// authenticator and reaches the dashboard; the next sign-ins need no enrollment.
func TestEnhancedEnrollmentWithPasskey(t *testing.T) {
	const (
		adminEmail = "frances@example.com"
		email      = "katherine@example.com"
		name       = "Katherine Johnson"
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, adminEmail, "Frances Allen", "super_admin", enrollPassword)
	srv.addUser(t, email, name, "user", enrollPassword)
	actx := newBrowser(t)
	lap("server and browser up")
	setEnhanced(t, actx, srv, adminEmail)
	lap("Enhanced saved")

	ctx := newBrowser(t) // the user's own browser: its own profile and cookies
	authID := addAuthenticator(t, ctx)
	signInToEnroll(t, ctx, srv, email)
	lap("at enrollment; /dashboard refused")

	chooseEnrollPath(t, ctx, enrollPasskeyLink, "/login/enroll?path=passkey", enrollRegister)
	ready := `(() => { const f = document.querySelector(` + jsString(enrollRegister) + `); return f && !f.hidden && f.offsetParent !== null; })()`
	if !becomes(ctx, ready, 3*time.Second) {
		// The swapped-in form stays hidden: its script did not run (see the report). Go on from
		// the same path loaded as a page, so the rest of the flow is still tested.
		t.Errorf("after choosing \"Register a passkey\" the register form stays hidden: passkey.js never bound the swapped-in form")
		do(t, ctx, "reload the passkey path as a page",
			chromedp.Navigate(srv.url("/login/enroll?path=passkey")),
			waitPath("/login/enroll"),
		)
		waitTrue(t, ctx, "wait for the register form", ready, stepTimeout)
	}
	do(t, ctx, "name the passkey and register it",
		removeAlerts(),
		fill(enrollPasskeyName, "Laptop"),
		chromedp.Click(chromedp.CSS(enrollPasskeyBtn)),
	)
	waitTrue(t, ctx, "wait for the dashboard",
		`location.pathname === "/dashboard" || document.querySelector(`+jsString(enrollPasskeyErr)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(enrollPasskeyErr)); a != "" {
		t.Fatalf("registering the passkey at enrollment failed: %q", a)
	}
	do(t, ctx, "wait for the dashboard", waitPath("/dashboard"), chromedp.WaitVisible(chromedp.CSS(logoutButton)))
	if got := read(t, ctx, "read the navigation", textOfAll("nav")); !strings.Contains(got, name) {
		t.Errorf("after enrolling the navigation shows %q, not %q", got, name)
	}
	if n := len(authenticatorCredentials(t, ctx, authID)); n != 1 {
		t.Errorf("the authenticator holds %d credentials, want 1", n)
	}
	lap("passkey registered, dashboard")

	// The next sign-in, with the passkey alone: straight to the dashboard, no mail.
	signOut(t, ctx)
	mails := codeMailsTo(srv, email)
	do(t, ctx, "sign in with the passkey",
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
	)
	waitTrue(t, ctx, "wait for the dashboard",
		`location.pathname === "/dashboard" || location.pathname === "/login/enroll" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if p := currentPath(t, ctx); p != "/dashboard" {
		t.Fatalf("the passkey sign-in after enrolling went to %q (alert %q), want /dashboard", p, read(t, ctx, "read the alert", textOfAll(passkeySignInAlert)))
	}
	lap("passkey sign-in")

	// And with the password: the passkey is the only second factor offered.
	signOut(t, ctx)
	passwordOnly(t, ctx, srv, email, enrollPassword)
	do(t, ctx, "wait for the passkey button", chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)))
	if n := read(t, ctx, "look for the email code form", chromedp.Evaluate[int](`document.querySelectorAll('input[name=method][value=email], form[action="/login/verify/resend"]').length`)); n != 0 {
		t.Errorf("under Enhanced the second-factor page of a passkey user offers an email code")
	}
	do(t, ctx, "use the passkey", chromedp.Click(chromedp.CSS(passkeySignInButton)))
	waitTrue(t, ctx, "wait for the dashboard",
		`location.pathname === "/dashboard" || location.pathname === "/login/enroll" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if p := currentPath(t, ctx); p != "/dashboard" {
		t.Fatalf("password + passkey after enrolling went to %q, want /dashboard", p)
	}
	if n := codeMailsTo(srv, email) - mails; n != 0 {
		t.Errorf("%d mail(s) sent to the enrolled user's sign-ins, want none", n)
	}
	lap("done")
}

// TestEnhancedEnrollmentWithTOTP: the same with "Set up TOTP": the code computed from the key
// the page shows, the backup codes, then the dashboard; the next sign-in asks for a TOTP code.
func TestEnhancedEnrollmentWithTOTP(t *testing.T) {
	const (
		adminEmail = "barbara@example.com"
		email      = "dorothy@example.com"
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, adminEmail, "Barbara Liskov", "super_admin", enrollPassword)
	srv.addUser(t, email, "Dorothy Vaughan", "user", enrollPassword)
	actx := newBrowser(t)
	setEnhanced(t, actx, srv, adminEmail)
	ctx := newBrowser(t) // the user's own browser: its own profile and cookies
	signInToEnroll(t, ctx, srv, email)
	lap("at enrollment")

	chooseEnrollPath(t, ctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	do(t, ctx, "open \"Can't scan it?\"",
		chromedp.Click(chromedp.CSS(enrollPath+` details:has(#totp-secret) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(enrollPath+` #totp-secret`)),
	)
	shown := read(t, ctx, "read the key", chromedp.Text(chromedp.CSS(enrollPath+` #totp-secret`)))
	secret := strings.ReplaceAll(strings.TrimSpace(shown), " ", "")
	// Changing one's mind: to the passkey path and back. The key must not be left behind in
	// the browser's storage (htmx 2 keeps snapshots of pages it navigates away from in
	// sessionStorage, where they outlive the sign-in and a sign-out, unless a page says
	// hx-history="false").
	chooseEnrollPath(t, ctx, enrollPasskeyLink, "/login/enroll?path=passkey", enrollRegister)
	stored := read(t, ctx, "read the browser's storage", chromedp.Evaluate[string](
		`[localStorage, sessionStorage].flatMap(s => Object.keys(s).map(k => s.getItem(k))).join("\n")`))
	if strings.Contains(stored, shown) || strings.Contains(stored, secret) {
		t.Errorf("the TOTP key is kept in the browser's storage (htmx history cache, sessionStorage) after leaving the TOTP path")
	}
	chooseEnrollPath(t, ctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	if again := read(t, ctx, "read the key again", chromedp.Evaluate[string](`document.querySelector("#enroll-path #totp-secret").textContent`)); strings.ReplaceAll(strings.TrimSpace(again), " ", "") != secret {
		t.Errorf("back on the TOTP path the key changed: %q, was %q", again, shown)
	}

	step := auth.TOTPStep(time.Now())
	code, err := auth.TOTPCode(secret, step)
	if err != nil {
		t.Fatalf("a code from the key %q: %v", shown, err)
	}
	do(t, ctx, "turn TOTP on with "+code,
		removeAlerts(),
		fill(enrollTOTPCode, code),
		chromedp.Click(chromedp.CSS(enrollTOTPSubmit)),
	)
	waitTrue(t, ctx, "wait for the backup codes",
		`document.querySelector(`+jsString(backupCodesPre)+`) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("the code %s was refused: %q", code, a)
	}
	if n := len(strings.Fields(read(t, ctx, "read the backup codes", chromedp.Text(chromedp.CSS(backupCodesPre))))); n != auth.BackupCodeCount {
		t.Errorf("%d backup codes shown, want %d", n, auth.BackupCodeCount)
	}
	do(t, ctx, "continue to the dashboard",
		chromedp.Click(chromedp.CSS(`a[role=button][href="/dashboard"]`)),
		waitPath("/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(logoutButton)),
	)
	lap("TOTP on, dashboard")

	// The next sign-in asks for a TOTP code, not enrollment and not an e-mail code.
	signOut(t, ctx)
	mails := codeMailsTo(srv, email)
	passwordOnly(t, ctx, srv, email, enrollPassword)
	next, err := auth.TOTPCode(secret, max(auth.TOTPStep(time.Now()), step+1))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "enter a TOTP code",
		removeAlerts(),
		fill(verifyTOTPCode, next),
		chromedp.Click(chromedp.CSS(verifyTOTPSubmit)),
	)
	waitTrue(t, ctx, "wait for the dashboard",
		`location.pathname === "/dashboard" || location.pathname === "/login/enroll" || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if p := currentPath(t, ctx); p != "/dashboard" {
		t.Fatalf("the TOTP sign-in after enrolling went to %q (alert %q), want /dashboard", p, read(t, ctx, "read the alert", textOfAll(alert)))
	}
	if n := codeMailsTo(srv, email) - mails; n != 0 {
		t.Errorf("%d mail(s) sent to the enrolled TOTP user, want none", n)
	}
	lap("done")
}

// becomes reports whether the JavaScript expression expr turns truthy within d.
func becomes(ctx context.Context, expr string, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		readCtx, cancelRead := context.WithTimeout(ctx, time.Second)
		ok, err := chromedp.Run(readCtx, jsTruthy(expr))
		cancelRead()
		if err == nil && ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
}
