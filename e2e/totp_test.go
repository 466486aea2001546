package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
)

// totpSetup is what setting up TOTP through the pages gave the test.
type totpSetup struct {
	secret string
	step   int64 // the time step of the code that turned TOTP on
	codes  []string
}

// setupTOTP sets up TOTP from Account > Security: it reads the key shown
// under "Can't scan it?", answers with the code computed from it, reads the
// backup codes, and goes back to Account > Security.
func setupTOTP(t *testing.T, ctx context.Context, srv *server) totpSetup {
	t.Helper()
	openSecurity(t, ctx, srv)
	do(t, ctx, "start the TOTP setup",
		chromedp.Click(chromedp.CSS(totpSetupButton)),
		waitPath("/account/security/totp"),
		chromedp.WaitVisible(chromedp.CSS(totpQR)),
	)
	src := read(t, ctx, "read the QR code", chromedp.Evaluate[string](`(() => {
		const img = document.querySelector(`+jsString(totpQR)+`);
		return img && img.complete && img.naturalWidth > 0 ? img.getAttribute("src") : "(not loaded) " + (img ? img.getAttribute("src").slice(0, 40) : "");
	})()`))
	if !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Errorf("the QR code's src starts %.40q, want a loaded data:image/png;base64, image", src)
	}
	// The key is folded away until asked for: its <details> is closed and
	// the key is not rendered (checkVisibility sees the closed details'
	// content-visibility, which offsetParent does not).
	type fold struct {
		Open    bool `json:"open"`
		Visible bool `json:"visible"`
	}
	folded := read(t, ctx, "check the key is folded", chromedp.Evaluate[fold](`(() => {
		const el = document.querySelector(`+jsString(totpSecret)+`);
		return {open: el.closest("details").open, visible: el.checkVisibility()};
	})()`))
	if folded.Open || folded.Visible {
		t.Errorf("the key shows before \"Can't scan it?\" is opened: %+v", folded)
	}
	do(t, ctx, "open \"Can't scan it?\"",
		chromedp.Click(chromedp.CSS(totpSecretSummary)),
		chromedp.WaitVisible(chromedp.CSS(totpSecret)),
	)
	summary := read(t, ctx, "read the summary", textOfAll(totpSecretSummary))
	if !strings.HasPrefix(summary, "Can't scan it?") {
		t.Errorf("the key's summary reads %q, want \"Can't scan it? ...\"", summary)
	}
	shown := read(t, ctx, "read the key", chromedp.Text(chromedp.CSS(totpSecret)))
	secret := strings.ReplaceAll(strings.TrimSpace(shown), " ", "")
	if len(secret) != 32 {
		t.Errorf("the key %q has %d characters without spaces, want 32 (160 bits in base32)", shown, len(secret))
	}

	step := auth.TOTPStep(time.Now())
	code, err := auth.TOTPCode(secret, step)
	if err != nil {
		t.Fatalf("compute a TOTP code from the key %q: %v", shown, err)
	}
	do(t, ctx, "turn TOTP on with the code "+code,
		removeAlerts(),
		fill(totpSetupCode, code),
		chromedp.Click(chromedp.CSS(totpSetupSubmit)),
	)
	waitTrue(t, ctx, "wait for the backup codes",
		`document.querySelector(`+jsString(backupCodesPre)+`) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("the code %s from the key %q was refused: %q", code, shown, a)
	}
	if h1 := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "Your backup codes" {
		t.Errorf("after turning TOTP on: heading %q, want \"Your backup codes\"", h1)
	}
	codesText := read(t, ctx, "read the backup codes", chromedp.Text(chromedp.CSS(backupCodesPre)))
	codes := strings.Fields(codesText)
	if len(codes) != auth.BackupCodeCount {
		t.Errorf("%d backup codes shown, want %d: %q", len(codes), auth.BackupCodeCount, codesText)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !backupCodeForm.MatchString(c) {
			t.Errorf("backup code %q is not in XXXX-XXXX form", c)
		}
		if seen[c] {
			t.Errorf("backup code %q shows twice", c)
		}
		seen[c] = true
	}
	if len(codes) == 0 {
		t.FailNow()
	}
	type link struct {
		Text     string `json:"text"`
		Href     string `json:"href"`
		Download string `json:"download"`
		Visible  bool   `json:"visible"`
	}
	dl := read(t, ctx, "read the Download link", chromedp.Evaluate[*link](`(() => {
		const a = document.querySelector(`+jsString(backupDownload)+`);
		return a && {text: a.innerText.trim(), href: a.href, download: a.getAttribute("download"), visible: a.offsetParent !== null};
	})()`))
	switch {
	case dl == nil:
		t.Errorf("the backup codes page has no download link (%s)", backupDownload)
	case dl.Text != "Download" || !dl.Visible:
		t.Errorf("download link: text %q, visible %v; want a visible \"Download\"", dl.Text, dl.Visible)
	case !strings.HasPrefix(dl.Href, "data:text/plain"):
		t.Errorf("download link href %.60q, want a data:text/plain URL", dl.Href)
	default:
		for _, c := range codes {
			if !strings.Contains(dl.Href, c) {
				t.Errorf("the downloaded file lacks the code %s", c)
				break
			}
		}
		t.Logf("download link: %q as %q", dl.Text, dl.Download)
	}

	do(t, ctx, "click \"I have saved them\"",
		chromedp.Click(chromedp.CSS(`a[role=button][href="/account/security"]`)),
		waitPath("/account/security"),
	)
	s := pollUntil(t, ctx, "wait for Account > Security", stepTimeout, readSecurity(), func(s securityState) bool { return s.Ready })
	if !strings.Contains(s.TOTP, "On.") || !strings.Contains(s.TOTP, "10 of 10 backup codes left") {
		t.Errorf("after the setup the TOTP card reads %q, want \"On.\" and \"10 of 10 backup codes left\"", s.TOTP)
	}
	return totpSetup{secret: secret, step: step, codes: codes}
}

// TestTOTPSetupAndSignIn sets up TOTP with the code the test computes from
// the key shown on the page, then signs in with the password and a TOTP code
// (no mail), then with a backup code, which is then refused the second time.
func TestTOTPSetupAndSignIn(t *testing.T) {
	const (
		email    = "radia@example.com"
		name     = "Radia Perlman"
		password = "correct horse battery staple 42"
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	lap("server and browser up")

	pwSignIn(t, ctx, srv, email, password)
	lap("signed in with password and email code")
	setup := setupTOTP(t, ctx, srv)
	lap("TOTP on")

	// Password and a TOTP code; no mail. The code of the setup's step was
	// used, so the test gives the next step's code, which the server takes
	// within its drift window, rather than wait up to 30 s.
	signOut(t, ctx)
	mailsBefore := codeMailsTo(srv, email)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "wait for the TOTP form", chromedp.WaitVisible(chromedp.CSS(verifyTOTPCode)))
	if h1 := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "Two-step verification" {
		t.Errorf("second-factor page of a TOTP user: heading %q, want \"Two-step verification\"", h1)
	}
	if label := read(t, ctx, "read the code's label", textOfAll(verifyTOTPForm+` label`)); label != "Code from your authenticator app" {
		t.Errorf("the TOTP code's label is %q", label)
	}
	if n := read(t, ctx, "look for the email code form", chromedp.Evaluate[int](`document.querySelectorAll('input[name=method][value=email], form[action="/login/verify/resend"]').length`)); n != 0 {
		t.Errorf("the second-factor page of a TOTP user offers an email code")
	}
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("signing in with TOTP on sent %d mail(s), want none", n)
	}
	// The code that turned TOTP on was used: it cannot sign in.
	setupCode, err := auth.TOTPCode(setup.secret, setup.step)
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "submit the code used at setup",
		removeAlerts(),
		fill(verifyTOTPCode, setupCode),
		chromedp.Click(chromedp.CSS(verifyTOTPSubmit)),
		chromedp.WaitVisible(chromedp.CSS(alert)),
	)
	if got := currentPath(t, ctx); got != "/login/verify" {
		t.Errorf("the code used at setup, again: path %q, want /login/verify", got)
	}
	if got := read(t, ctx, "read the error", textOfAll(alert)); !strings.Contains(got, otpRefused) {
		t.Errorf("the code used at setup, again: alert %q, want it to contain %q", got, otpRefused)
	}

	step := max(auth.TOTPStep(time.Now()), setup.step+1)
	code, err := auth.TOTPCode(setup.secret, step)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup used step %d; signing in with step %d (now is step %d)", setup.step, step, auth.TOTPStep(time.Now()))
	do(t, ctx, "submit the TOTP code",
		removeAlerts(),
		fill(verifyTOTPCode, code),
		chromedp.Click(chromedp.CSS(verifyTOTPSubmit)),
	)
	waitTrue(t, ctx, "wait for the dashboard", `location.pathname === "/dashboard" || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("the TOTP code of step %d was refused: %q", step, a)
	}
	do(t, ctx, "wait for the dashboard", waitPath("/dashboard"))
	lap("signed in with TOTP")
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("the TOTP sign-in sent %d mail(s), want none", n)
	}

	// Password and a backup code.
	backup := setup.codes[3]
	signOut(t, ctx)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "open \"Use a backup code\" and enter "+backup,
		chromedp.WaitVisible(chromedp.CSS(verifyBackupSummary)),
		chromedp.Click(chromedp.CSS(verifyBackupSummary)),
		fill(verifyBackupCode, backup),
		chromedp.Click(chromedp.CSS(verifyBackupSubmit)),
		waitPath("/dashboard"),
	)
	lap("signed in with a backup code")
	s := openSecurity(t, ctx, srv)
	if !strings.Contains(s.TOTP, "9 of 10 backup codes left") {
		t.Errorf("after using a backup code the TOTP card reads %q, want \"9 of 10 backup codes left\"", s.TOTP)
	}

	// The same backup code again: refused.
	signOut(t, ctx)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "enter the used backup code "+backup,
		removeAlerts(),
		chromedp.WaitVisible(chromedp.CSS(verifyBackupSummary)),
		chromedp.Click(chromedp.CSS(verifyBackupSummary)),
		fill(verifyBackupCode, backup),
		chromedp.Click(chromedp.CSS(verifyBackupSubmit)),
		chromedp.WaitVisible(chromedp.CSS(alert)),
	)
	lap("used backup code refused")
	if got := currentPath(t, ctx); got != "/login/verify" {
		t.Errorf("after a used backup code: path %q, want /login/verify", got)
	}
	if got := read(t, ctx, "read the error", textOfAll(alert)); !strings.Contains(got, otpRefused) {
		t.Errorf("after a used backup code: alert %q, want it to contain %q", got, otpRefused)
	}
	if n := codeMailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("the TOTP and backup code sign-ins sent %d mail(s), want none", n)
	}
	// Another, unused code still works after the refusal.
	do(t, ctx, "enter an unused backup code",
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`),
		fill(verifyBackupCode, strings.ToLower(setup.codes[5])),
		chromedp.Click(chromedp.CSS(verifyBackupSubmit)),
		waitPath("/dashboard"),
	)
	lap("done")
}
