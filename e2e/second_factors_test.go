package e2e

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
)

// Selectors of Account > Security and of the second-factor pages
// (views/account_security.templ, views/login.templ, assets/passkey.js).
const (
	noticeSel = `.notice[role=status]`

	// Passkeys: the register form is shown by passkey.js (hidden without JS).
	passkeyRegisterForm   = `form[data-passkey="register"]`
	passkeyNameInput      = passkeyRegisterForm + ` #passkey_name`
	passkeyRegisterButton = passkeyRegisterForm + ` button[type=submit]`
	passkeyRows           = `#passkeys tbody tr`
	passkeyRenameInput    = passkeyRows + ` form.rename-form input[name=name]`
	passkeyRenameButton   = passkeyRows + ` form.rename-form button[type=submit]`

	// The passkey sign-in button, on /login and on /login/verify.
	passkeySignIn       = `[data-passkey="signin"]`
	passkeySignInButton = passkeySignIn + ` button[data-passkey-start]`
	passkeySignInAlert  = passkeySignIn + ` [data-passkey-error][role=alert]`

	// TOTP setup and the backup codes page.
	totpSetupButton   = `form[action="/account/security/totp/setup"] button[type=submit]`
	totpQR            = `img.qr`
	totpSecretSummary = `details:has(#totp-secret) > summary`
	totpSecret        = `#totp-secret`
	totpSetupCode     = `form[action="/account/security/totp"] input[name=code]`
	totpSetupSubmit   = `form[action="/account/security/totp"] button[type=submit]`
	backupCodesPre    = `#backup-codes`
	backupDownload    = `a[download]`

	// The second-factor page of a user with TOTP.
	verifyTOTPForm      = `form:has(input[name=method][value=totp])`
	verifyTOTPCode      = verifyTOTPForm + ` input[name=code]`
	verifyTOTPSubmit    = verifyTOTPForm + ` button[type=submit]`
	verifyBackupSummary = `details:has(input[name=method][value=backup]) > summary`
	verifyBackupForm    = `form:has(input[name=method][value=backup])`
	verifyBackupCode    = verifyBackupForm + ` input[name=code]`
	verifyBackupSubmit  = verifyBackupForm + ` button[type=submit]`
)

// Messages of the pages under test (handlers/account_security.go,
// handlers/login_passkey.go, handlers/login_verify.go).
const (
	passkeyAddedNotice   = "Your passkey was registered."
	passkeyRenamedNotice = "The passkey was renamed."
	passkeyDeletedNotice = "The passkey was deleted."
	passkeyRefused       = "That passkey could not sign you in."
	otpRefused           = "That code is incorrect or was used already."
)

// backupCodeForm is the XXXX-XXXX form of a backup code, in auth's alphabet.
var backupCodeForm = regexp.MustCompile(`^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)

// addAuthenticator enables the WebAuthn domain on the test's tab and adds a
// virtual platform authenticator that keeps resident (discoverable) keys and
// verifies the user at once, as a laptop's fingerprint reader would.
func addAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("enable the WebAuthn domain: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// authenticatorCredentials lists the credentials the virtual authenticator holds.
func authenticatorCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("read the virtual authenticator's credentials: %v", err)
	}
	return res.Credentials
}

// mailsTo counts the messages the mail server has received for address.
func mailsTo(srv *server, address string) int {
	n := 0
	for _, m := range srv.mail.Messages() {
		if addressedTo(m.To, address) {
			n++
		}
	}
	return n
}

func addressedTo(to []string, address string) bool {
	for _, rcpt := range to {
		if strings.EqualFold(rcpt, address) {
			return true
		}
	}
	return false
}

// removeNotices removes every notice from the page, so that a notice seen
// afterwards belongs to the page the next step loads.
func removeNotices() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelectorAll(` + jsString(noticeSel) + `).forEach(e => e.remove())`)
}

// securityState is what Account > Security shows, read in one go.
type securityState struct {
	Path     string       `json:"path"`
	Notice   string       `json:"notice"`
	Alert    string       `json:"alert"`
	TOTP     string       `json:"totp"`     // the text of the TOTP card
	Passkeys []passkeyRow `json:"passkeys"` // the rows of the passkeys table
	NoneYet  bool         `json:"noneYet"`  // "No passkeys yet." shows
	Ready    bool         `json:"ready"`    // the register form is visible (passkey.js ran)
	Busy     bool         `json:"busy"`     // the register button is aria-busy
}

type passkeyRow struct {
	Name     string `json:"name"`
	Added    string `json:"added"`
	LastUsed string `json:"lastUsed"`
}

func (s securityState) String() string {
	return fmt.Sprintf("{path=%q notice=%q alert=%q passkeys=%+v noneYet=%v ready=%v busy=%v}",
		s.Path, s.Notice, s.Alert, s.Passkeys, s.NoneYet, s.Ready, s.Busy)
}

// readSecurity reads Account > Security. It does not wait.
func readSecurity() chromedp.Action[securityState] {
	return chromedp.Evaluate[securityState](`(() => {
		const text = sel => Array.from(document.querySelectorAll(sel), e => e.innerText.trim()).join("\n");
		const form = document.querySelector(` + jsString(passkeyRegisterForm) + `);
		const button = form && form.querySelector("button[type=submit]");
		return {
			path: location.pathname,
			notice: text(` + jsString(noticeSel) + `),
			alert: text(` + jsString(alert) + `),
			totp: text("#totp"),
			passkeys: Array.from(document.querySelectorAll(` + jsString(passkeyRows) + `), tr => {
				const td = tr.querySelectorAll("td");
				return {
					name: tr.querySelector("input[name=name]")?.value ?? "",
					added: td[1]?.innerText.trim() ?? "",
					lastUsed: td[2]?.innerText.trim() ?? "",
				};
			}),
			noneYet: text("#passkeys p.muted").includes("No passkeys yet."),
			ready: !!form && !form.hidden && form.offsetParent !== null && document.readyState === "complete",
			busy: !!button && button.getAttribute("aria-busy") === "true",
		};
	})()`)
}

// openSecurity opens Account > Security and waits until passkey.js has shown
// the register form.
func openSecurity(t *testing.T, ctx context.Context, srv *server) securityState {
	t.Helper()
	do(t, ctx, "open /account/security",
		chromedp.Navigate(srv.url("/account/security")),
		waitPath("/account/security"),
	)
	return pollUntil(t, ctx, "wait for Account > Security to be ready", stepTimeout, readSecurity(),
		func(s securityState) bool { return s.Ready })
}

// waitSecurityNotice waits until Account > Security shows the notice want,
// failing at once if an alert (or the passkey script's error) shows instead.
func waitSecurityNotice(t *testing.T, ctx context.Context, what, want string) securityState {
	t.Helper()
	s := pollUntil(t, ctx, what, stepTimeout, readSecurity(), func(s securityState) bool {
		return s.Notice != "" || s.Alert != ""
	})
	if s.Path != "/account/security" || !strings.Contains(s.Notice, want) {
		t.Fatalf("%s: got %v, want the notice %q on /account/security", what, s, want)
	}
	return s
}

// registerPasskey registers a passkey named name on Account > Security with
// the virtual authenticator and returns the page it lands on.
func registerPasskey(t *testing.T, ctx context.Context, srv *server, name string) securityState {
	t.Helper()
	openSecurity(t, ctx, srv)
	do(t, ctx, "register a passkey named "+name,
		removeNotices(),
		removeAlerts(),
		fill(passkeyNameInput, name),
		chromedp.Click(chromedp.CSS(passkeyRegisterButton)),
	)
	return waitSecurityNotice(t, ctx, "wait for the passkey to be registered", passkeyAddedNotice)
}

// signOut signs out from any signed-in page.
func signOut(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(logoutButton)),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(loginSubmit)),
	)
}

// passwordOnly signs in with the password on /login and waits for the
// second-factor page.
func passwordOnly(t *testing.T, ctx context.Context, srv *server, email, password string) {
	t.Helper()
	do(t, ctx, "sign in with the password as "+email,
		chromedp.Navigate(srv.url("/login")),
		fill(loginEmail, email),
		fill(loginPassword, password),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
	)
}

// checkDate checks that s is today's date (UTC or local, for a run near
// midnight) in the layout of the security page.
func checkDate(t *testing.T, what, layout, s string) time.Time {
	t.Helper()
	d, err := time.Parse(layout, s)
	if err != nil {
		t.Errorf("%s: %q does not read as %q: %v", what, s, layout, err)
		return time.Time{}
	}
	if since := time.Since(d); since < -24*time.Hour || since > 48*time.Hour {
		t.Errorf("%s: %q is not today", what, s)
	}
	return d
}

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
	mailsBefore := mailsTo(srv, email)
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
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
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
	mailsBefore = mailsTo(srv, email)
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
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
		t.Errorf("the refused passkey sign-in sent %d mail(s)", n)
	}
	do(t, ctx, "open /dashboard after the refusal",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
	)
	lap("done")
}

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
	mailsBefore := mailsTo(srv, email)
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
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
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
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
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
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
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
	mailsBefore := mailsTo(srv, email)
	passwordOnly(t, ctx, srv, email, password)
	do(t, ctx, "wait for the TOTP form", chromedp.WaitVisible(chromedp.CSS(verifyTOTPCode)))
	usePasskeyOnVerify("TOTP user")
	if n := mailsTo(srv, email) - mailsBefore; n != 0 {
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
