package e2e

// Issue 14, items 4, 7 and 8 in a real browser: the policy preview before Enhanced is saved,
// the first-run checklist on the super admin's dashboard, and the danger confirmations.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Selectors of the policy preview (views/settings_preview.templ).
const (
	previewBox     = `#policy-preview`
	previewConfirm = previewBox + ` button[name=confirm][value=yes]`
	previewCancel  = previewBox + ` a[role=button]`
)

// policyConfirm is the step after Save on a policy page: when the page shows the preview
// (someone is affected), its Confirm; then the saved notice.
func policyConfirm() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		if _, err := chromedp.WaitVisible(chromedp.CSS(noticeSel+`, `+previewConfirm))(ctx, tab); err != nil {
			return err
		}
		shown, err := jsTruthy(`document.querySelector(`+jsString(previewConfirm)+`)`)(ctx, tab)
		if err != nil {
			return err
		}
		if shown {
			if _, err := chromedp.Click(chromedp.CSS(previewConfirm))(ctx, tab); err != nil {
				return err
			}
		}
		_, err = chromedp.WaitVisible(chromedp.CSS(noticeSel))(ctx, tab)
		return err
	})
}

// openAuthPolicy goes Settings > Security > Authentication through the navigation.
func openAuthPolicy(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open Settings > Security > Authentication",
		chromedp.Click(chromedp.CSS(`nav a[href="/settings/security"]`)),
		waitPath("/settings/security"),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Security settings"] a[href="/settings/security/authentication"]`)),
		waitPath("/settings/security/authentication"),
		chromedp.WaitVisible(chromedp.CSS(authPolicySave)),
	)
}

// TestEnhancedPreviewInBrowser: choosing Enhanced and Save lists the e-mail-only users and
// saves nothing; Cancel goes back with Baseline still in force; Save again and Confirm saves.
func TestEnhancedPreviewInBrowser(t *testing.T) {
	const superEmail = "frances@example.com"
	srv := startServer(t)
	srv.addUser(t, superEmail, "Frances Allen", "super_admin", enrollPassword)
	srv.addUser(t, "ann@example.com", "Ann Smith", "user", enrollPassword)
	srv.addUser(t, "bob@example.com", "Bob Jones", "admin", enrollPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, superEmail, enrollPassword)
	openAuthPolicy(t, ctx)

	do(t, ctx, "select Enhanced and save",
		chromedp.Click(chromedp.CSS(authPolicyEnhanced)),
		chromedp.Click(chromedp.CSS(authPolicySave)),
		chromedp.WaitVisible(chromedp.CSS(previewConfirm)),
	)
	count := read(t, ctx, "read the count", textOfAll(`#policy-preview-count`))
	if !strings.Contains(count, "3 active users have neither TOTP nor a passkey.") {
		t.Errorf("preview count %q, want 3 users", count)
	}
	users := read(t, ctx, "read the users", textOfAll(`#policy-preview-users li`))
	for _, want := range []string{"Ann Smith (ann@example.com)", "Bob Jones (bob@example.com)", "Frances Allen (frances@example.com)"} {
		if !strings.Contains(users, want) {
			t.Errorf("preview lists %q, missing %q", users, want)
		}
	}
	auditHere(t, ctx, "the Enhanced preview")
	shoot(t, ctx, "settings-auth-preview")

	// Cancel: back to the form, Baseline still checked, no notice.
	do(t, ctx, "Cancel", chromedp.Click(chromedp.CSS(previewCancel)), chromedp.WaitVisible(chromedp.CSS(authPolicySave)))
	if on := read(t, ctx, "read Baseline", jsTruthy(`document.querySelector(`+jsString(authPolicyBaseline)+`).checked && !document.querySelector(`+jsString(noticeSel)+`)`)); !on {
		t.Error("after Cancel, Baseline is not checked (or a notice says something was saved)")
	}

	// Save again and confirm.
	do(t, ctx, "select Enhanced, save and confirm",
		removeNotices(),
		chromedp.Click(chromedp.CSS(authPolicyEnhanced)),
		chromedp.Click(chromedp.CSS(authPolicySave)),
		policyConfirm(),
	)
	if got := read(t, ctx, "read the notice", textOfAll(noticeSel)); !strings.Contains(got, "Saved.") {
		t.Errorf("after confirming: notice %q", got)
	}
	if on := read(t, ctx, "read Enhanced", jsTruthy(`document.querySelector(`+jsString(authPolicyEnhanced)+`).checked`)); !on {
		t.Error("after confirming, Enhanced is not checked")
	}

	// Raising the password rule: first how many passwords it leaves weaker (the three users'
	// were set under 14 characters), then Confirm.
	do(t, ctx, "Passwords: 16 characters, Save",
		chromedp.Navigate(srv.url("/settings/security/passwords")),
		waitPath("/settings/security/passwords"),
		chromedp.SetValue(chromedp.CSS(`select[name=minimum_password_length]`), "16"),
		chromedp.Click(chromedp.CSS(`form[action="/settings/security/passwords"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(previewConfirm)),
	)
	if got := read(t, ctx, "read the count", textOfAll(`#policy-preview-count`)); !strings.Contains(got, "3 passwords are weaker than the new rule") {
		t.Errorf("password preview %q, want 3 weaker passwords", got)
	}
	auditHere(t, ctx, "the password rule's preview")
	shoot(t, ctx, "settings-passwords-preview")
	do(t, ctx, "confirm the rule", removeNotices(), policyConfirm())
	if got := read(t, ctx, "read the weaker count", textOfAll(`#weaker-passwords p`)); !strings.Contains(got, "3 users have a password set under a weaker rule") {
		t.Errorf("after saving, the page says %q", got)
	}
}

// auditHere runs the accessibility test's audit (a11yAudit) on the page as it is now, for a
// state that test does not reach (a preview, an open confirmation, the checklist).
func auditHere(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	r := read(t, ctx, "audit "+what, chromedp.Evaluate[a11yReport](a11yAudit))
	if len(r.Unlabeled) > 0 || len(r.Nameless) > 0 || len(r.H1s) != 1 || r.Mains != 1 || r.Scroll > r.Inner+1 {
		t.Errorf("%s: unlabelled fields %q, nameless controls %q, h1s %q, mains %d, scrollWidth %d > %d",
			what, r.Unlabeled, r.Nameless, r.H1s, r.Mains, r.Scroll, r.Inner)
	}
}

// shoot saves full-page screenshots of the page at 390 and 1280 px wide in
// /tmp/weftid-admin-flows (admShot also fails the test when the phone width scrolls sideways).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "weftid-admin-flows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int64{390, 1280} {
		admShot(t, ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w)), w, 800, nil)
	}
}
