package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// Passkey autofill on /login (views/login.templ, assets/passkey.js).
const (
	autofillEmail = loginForm + ` input[name=email][autocomplete="username webauthn"]`

	// recordCeremonies, run in every page the tab loads, records in sessionStorage (which
	// outlives the page) the passkey begin requests the pages send and the WebAuthn get
	// requests they make ("conditional" or "modal").
	recordCeremonies = `(() => {
  const log = (k) => sessionStorage.setItem("e2e-" + k, String(Number(sessionStorage.getItem("e2e-" + k) || 0) + 1));
  const f = window.fetch;
  window.fetch = function (url) {
    if (String(url).indexOf("/passkey/begin") >= 0) log("begins");
    return f.apply(this, arguments);
  };
  if (navigator.credentials) {
    const get = navigator.credentials.get.bind(navigator.credentials);
    navigator.credentials.get = function (opts) {
      log(opts && opts.mediation === "conditional" ? "conditional" : "modal");
      return get(opts);
    };
  }
})();`
)

// ceremonies reads what recordCeremonies counted: begins, conditional and modal gets.
func ceremonies(t *testing.T, ctx context.Context) [3]int {
	t.Helper()
	got := read(t, ctx, "read the recorded ceremonies", chromedp.Evaluate[[]int](
		`["begins", "conditional", "modal"].map(k => Number(sessionStorage.getItem("e2e-" + k) || 0))`))
	var out [3]int
	copy(out[:], got)
	return out
}

func resetCeremonies(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "reset the recorded ceremonies", chromedp.Evaluate[chromedp.Void](
		`["begins", "conditional", "modal"].forEach(k => sessionStorage.removeItem("e2e-" + k))`))
}

// TestPasskeyAutofill: on /login the email field offers the user's passkeys
// (autocomplete="username webauthn" and a conditional-mediation request, which the virtual
// authenticator answers as soon as it is made). Loading the page starts nothing; pressing into
// the field starts one request, and the user lands where a passkey sign-in lands, with no mail.
// With a conditional request pending, the "Sign in with a passkey" button aborts it and signs in.
func TestPasskeyAutofill(t *testing.T) {
	const (
		email    = "mary@example.com"
		name     = "Mary Jackson"
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	authID := addAuthenticator(t, ctx)
	pwSignIn(t, ctx, srv, email, password)
	registerPasskey(t, ctx, srv, "Laptop")
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordCeremonies}); err != nil {
		t.Fatalf("add the recording script: %v", err)
	}

	// Through autofill.
	signOut(t, ctx)
	mails := codeMailsTo(srv, email)
	resetCeremonies(t, ctx)
	do(t, ctx, "open /login", chromedp.Navigate(srv.url("/login")), chromedp.WaitVisible(chromedp.CSS(autofillEmail)))
	waitTrue(t, ctx, "wait for the page's scripts", `document.readyState === "complete"`, stepTimeout)
	if c := ceremonies(t, ctx); c != [3]int{} {
		t.Errorf("loading /login started %d begin(s), %d conditional and %d modal request(s); want none before the user opens the field", c[0], c[1], c[2])
	}
	do(t, ctx, "press into the email field", chromedp.Click(chromedp.CSS(autofillEmail)))
	waitTrue(t, ctx, "wait for the autofill sign-in",
		`location.pathname !== "/login" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(passkeySignInAlert)); a != "" {
		t.Fatalf("the autofill sign-in failed: %q", a)
	}
	do(t, ctx, "wait for the dashboard", waitPath("/dashboard"), chromedp.WaitVisible(chromedp.CSS(logoutButton)))
	if got := read(t, ctx, "read the navigation", textOfAll("nav")); !strings.Contains(got, name) {
		t.Errorf("after the autofill sign-in the navigation shows %q, not %q", got, name)
	}
	if c := ceremonies(t, ctx); c != [3]int{1, 1, 0} {
		t.Errorf("the autofill sign-in made %d begin(s), %d conditional and %d modal request(s); want 1, 1, 0", c[0], c[1], c[2])
	}
	if n := codeMailsTo(srv, email) - mails; n != 0 {
		t.Errorf("the autofill sign-in sent %d mail(s), want none", n)
	}

	// The button, with a conditional request pending (the authenticator waiting for a touch).
	signOut(t, ctx)
	resetCeremonies(t, ctx)
	presence := func(on bool) {
		if _, err := chromedp.Call(ctx, cdpwebauthn.SetAutomaticPresenceSimulation, cdpwebauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: authID, Enabled: on}); err != nil {
			t.Fatalf("automatic presence %v: %v", on, err)
		}
	}
	presence(false)
	do(t, ctx, "press into the email field", chromedp.Click(chromedp.CSS(autofillEmail)))
	waitTrue(t, ctx, "wait for the conditional request",
		`sessionStorage.getItem("e2e-conditional") === "1"`, stepTimeout)
	presence(true)
	do(t, ctx, "click Sign in with a passkey", chromedp.Click(chromedp.CSS(passkeySignInButton)))
	waitTrue(t, ctx, "wait for the button's sign-in",
		`location.pathname !== "/login" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(passkeySignInAlert)); a != "" {
		t.Fatalf("the button after autofill started failed: %q", a)
	}
	do(t, ctx, "wait for the dashboard", waitPath("/dashboard"), chromedp.WaitVisible(chromedp.CSS(logoutButton)))
	if c := ceremonies(t, ctx); c != [3]int{2, 1, 1} {
		t.Errorf("autofill then the button made %d begin(s), %d conditional and %d modal request(s); want 2, 1, 1", c[0], c[1], c[2])
	}
}
