package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
)

// codeFormats are codes as people type or paste them: the browser must let the ones the server
// accepts through (its pattern) and stop the others before they are sent.
var codeFormats = []struct {
	typed string
	valid bool
}{
	{"123456", true}, {"123-456", true}, {"123 456", true}, {" 123-456 ", true},
	{"12a456", false}, {"12345", false}, {"1234-56", false}, {"123--456", false},
}

// checkCodeField types each format into the code field sel, key by key, and checks the field's
// validity as the browser judges it on submit.
func checkCodeField(t *testing.T, ctx context.Context, where, sel string) {
	t.Helper()
	for _, f := range codeFormats {
		do(t, ctx, "type "+f.typed, fill(sel, f.typed))
		valid := read(t, ctx, "check the field", chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`).checkValidity()`))
		if valid != f.valid {
			t.Errorf("%s: the code field takes %q as valid=%v, want %v", where, f.typed, valid, f.valid)
		}
	}
}

// TestCodeTypedWithADashOrSpace: the sign-in code and the TOTP set-up code can be typed
// "123-456" or "123 456" (codes are read aloud, and mail clients copy them with a dash); the
// browser sends them and the server accepts them.
func TestCodeTypedWithADashOrSpace(t *testing.T) {
	const (
		email    = "grace@example.com"
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, email, "Grace Hopper", "user", password)
	ctx := newBrowser(t)

	code := passwordThenCode(t, ctx, srv, email, password)
	checkCodeField(t, ctx, "/login/verify", codeInput)
	do(t, ctx, "submit the code typed with a dash",
		fill(codeInput, code[:3]+"-"+code[3:]),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath("/dashboard"),
	)

	openSecurity(t, ctx, srv)
	do(t, ctx, "start the TOTP setup",
		chromedp.Click(chromedp.CSS(totpSetupButton)),
		waitPath("/account/security/totp"),
		chromedp.WaitVisible(chromedp.CSS(totpSecretSummary)),
		chromedp.Click(chromedp.CSS(totpSecretSummary)),
		chromedp.WaitVisible(chromedp.CSS(totpSecret)),
	)
	checkCodeField(t, ctx, "TOTP set-up", totpSetupCode)
	shown := read(t, ctx, "read the key", chromedp.Text(chromedp.CSS(totpSecret)))
	totp, err := auth.TOTPCode(strings.ReplaceAll(strings.TrimSpace(shown), " ", ""), auth.TOTPStep(time.Now()))
	if err != nil {
		t.Fatalf("compute a TOTP code from the key %q: %v", shown, err)
	}
	do(t, ctx, "turn TOTP on with the code typed with a space",
		removeAlerts(),
		fill(totpSetupCode, totp[:3]+" "+totp[3:]),
		chromedp.Click(chromedp.CSS(totpSetupSubmit)),
	)
	waitTrue(t, ctx, "wait for the backup codes",
		`document.querySelector(`+jsString(backupCodesPre)+`) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Errorf("the TOTP code typed %q was refused: %q", totp[:3]+" "+totp[3:], a)
	}
}
