package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// allowClipboard lets the pages of srv write and read the clipboard without asking, as a person
// who clicked would (clipboard-read stands in for the "Allow" a browser asks before pasting).
func allowClipboard(t *testing.T, ctx context.Context, srv *server) {
	t.Helper()
	origin := strings.TrimSuffix(srv.url("/"), "/")
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
			Origin:     origin,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	// The clipboard works only in a focused page; a headless one is never focused otherwise.
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatalf("emulate focus: %v", err)
	}
}

// copyAndRead clicks the Copy button of the element with the id target, waits for "Copied" in
// its live region, and returns what the clipboard holds then, and the element's text.
func copyAndRead(t *testing.T, ctx context.Context, target string) (clipboard, shown string) {
	t.Helper()
	button := `button[data-copy="` + target + `"]`
	do(t, ctx, "copy #"+target,
		chromedp.Evaluate[chromedp.Void](`navigator.clipboard.writeText("(nothing copied yet)")`, chromedp.EvalAwaitPromise),
		chromedp.WaitVisible(chromedp.CSS(button)),
		chromedp.Click(chromedp.CSS(button)),
	)
	waitTrue(t, ctx, "wait for \"Copied\" after copying #"+target,
		`document.querySelector(`+jsString(button+` + [aria-live=polite]`)+`)?.textContent === "Copied"`, stepTimeout)
	clipboard = read(t, ctx, "read the clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	shown = read(t, ctx, "read #"+target, chromedp.Evaluate[string](`document.getElementById(`+jsString(target)+`).textContent.trim()`))
	return clipboard, shown
}

// fitsWidth reports whether the element with the id target ends inside the page's width (a
// value shown in full wraps rather than running off to the right).
func fitsWidth(t *testing.T, ctx context.Context, target string) bool {
	t.Helper()
	return read(t, ctx, "measure #"+target, chromedp.Evaluate[bool](`(() => {
		const r = document.getElementById(`+jsString(target)+`).getBoundingClientRect();
		return r.width > 0 && r.right <= document.documentElement.clientWidth;
	})()`))
}

// TestCopyButtons: the Copy buttons beside the new client secret, the client ID, the OIDC issuer
// and discovery URL and weftid's SAML metadata URL and entity ID put exactly the value shown on
// the clipboard, and say "Copied"; the secret is shown in full at phone width.
func TestCopyButtons(t *testing.T) {
	const (
		email    = "ada@example.com"
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, email, "Ada Lovelace", "admin", password)
	ctx := newBrowser(t)
	allowClipboard(t, ctx, srv)
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 1, Mobile: true}); err != nil {
		t.Fatalf("set a phone's width: %v", err)
	}
	signInWithCode(t, ctx, srv, email, password, "/dashboard")

	id, secret := registerOIDCApp(t, ctx, srv, "Copy test", "https://app.example.com/callback")
	for _, c := range []struct{ target, want string }{{"secret-value", secret}, {"client-id", id}} {
		got, shown := copyAndRead(t, ctx, c.target)
		if got != c.want || shown != c.want {
			t.Errorf("copying #%s: clipboard %q, shown %q, want %q", c.target, got, shown, c.want)
		}
		if !fitsWidth(t, ctx, c.target) {
			t.Errorf("#%s runs past the page's width at 390 px", c.target)
		}
	}

	do(t, ctx, "open Applications", chromedp.Navigate(srv.url("/applications")), waitPath("/applications"))
	issuer := strings.TrimSuffix(srv.url("/"), "/")
	for _, c := range []struct{ target, want string }{
		{"oidc-issuer", issuer}, {"oidc-discovery", issuer + "/.well-known/openid-configuration"},
	} {
		if got, shown := copyAndRead(t, ctx, c.target); got != c.want || shown != c.want {
			t.Errorf("copying #%s: clipboard %q, shown %q, want %q", c.target, got, shown, c.want)
		}
	}

	do(t, ctx, "open SAML applications and weftid's SAML details",
		chromedp.Navigate(srv.url("/applications/saml")),
		waitPath("/applications/saml"),
		chromedp.Click(chromedp.CSS(`details:has(.saml-idp) summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#saml-metadata-url`)),
	)
	for _, c := range []struct{ target, want string }{
		{"saml-metadata-url", issuer + "/saml/metadata"}, {"saml-entity-id", issuer + "/saml/metadata"},
	} {
		if got, shown := copyAndRead(t, ctx, c.target); got != c.want || shown != c.want {
			t.Errorf("copying #%s: clipboard %q, shown %q, want %q", c.target, got, shown, c.want)
		}
	}
}
