package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
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

// codeMailsTo counts the sign-in code mails the mail server has received for address (not the
// notices, which weftid mails in the background).
func codeMailsTo(srv *server, address string) int {
	n := 0
	for _, m := range srv.mail.Messages() {
		if addressedTo(m.To, address) && m.Subject == codeSubject {
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
