package e2e

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
)

// TestOIDCStepUpReachesRP: under a Baseline tenant, an app that requires Enhanced. A user
// signed in with an email code who turned TOTP on since opens the app: weftid asks for a TOTP
// code (the step-up), and the form's POST is answered with 303s that Chromium follows all the
// way to the app (the page's form-action lists the app's origin). The ID token says otp and
// Enhanced.
func TestOIDCStepUpReachesRP(t *testing.T) {
	const (
		adminEmail = "katherine@example.com"
		email      = "mary@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Katherine Johnson", "super_admin", enrollPassword)
	srv.addUser(t, email, "Mary Jackson", "user", enrollPassword)
	rp := startRP(t)
	actx := newBrowser(t)
	pwSignIn(t, actx, srv, adminEmail, enrollPassword)
	id, secret := registerOIDCApp(t, actx, srv, "Payroll", rp.redirectURI(),
		chromedp.Click(chromedp.CSS(`#strength-enhanced`)))
	rp.configure(srv.baseURL, id, secret)

	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, email, enrollPassword)
	setup := setupTOTP(t, ctx, srv)
	do(t, ctx, "open the app, which requires Enhanced",
		chromedp.Navigate(rp.srv.URL+"/login"),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(verifyTOTPCode)),
	)
	if n := read(t, ctx, "look for the email code form", chromedp.Evaluate[int](`document.querySelectorAll('input[name=method][value=email]').length`)); n != 0 {
		t.Errorf("the step-up offers an email code")
	}
	if tok, _, _ := rp.result(); tok != nil {
		t.Fatal("the RP got tokens before the step-up")
	}
	code, err := auth.TOTPCode(setup.secret, max(auth.TOTPStep(time.Now()), setup.step+1))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "submit the TOTP code",
		fill(verifyTOTPCode, code),
		chromedp.Click(chromedp.CSS(verifyTOTPSubmit)),
	)
	waitRP(t, ctx, rp, email)
	rp.mu.Lock()
	claims := rp.claims
	rp.mu.Unlock()
	if claims.ACR != auth.ACREnhanced || !slices.Contains(claims.AMR, "otp") {
		t.Errorf("ID token after the step-up: acr %q amr %q, want Enhanced with otp", claims.ACR, claims.AMR)
	}
}

// TestOIDCLogoutReturnsToRP: RP-initiated logout without an id_token_hint asks the user, and
// the confirmation's POST is answered with a 303 to the app's registered post-logout URI, which
// Chromium follows (the page's form-action lists it); the weftid session is over.
func TestOIDCLogoutReturnsToRP(t *testing.T) {
	const (
		adminEmail = "annie@example.com"
		email      = "evelyn@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Annie Easley", "super_admin", enrollPassword)
	srv.addUser(t, email, "Evelyn Boyd", "user", enrollPassword)
	rp := startRP(t)
	actx := newBrowser(t)
	pwSignIn(t, actx, srv, adminEmail, enrollPassword)
	id, secret := registerOIDCApp(t, actx, srv, "Wiki", rp.redirectURI(), fill(`#post_logout_redirect_uris`, rp.srv.URL+"/signed-out"))
	rp.configure(srv.baseURL, id, secret)

	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, email, enrollPassword)
	do(t, ctx, "open the app", chromedp.Navigate(rp.srv.URL+"/login"))
	waitRP(t, ctx, rp, email)

	q := url.Values{"client_id": {id}, "post_logout_redirect_uri": {rp.srv.URL + "/signed-out"}, "state": {"bye"}}
	do(t, ctx, "the app sends the browser to sign out",
		chromedp.Navigate(srv.url("/oauth2/end_session?"+q.Encode())),
		chromedp.WaitVisible(chromedp.CSS(`#logout-confirm`)),
		chromedp.Click(chromedp.CSS(`#logout-confirm`)),
	)
	waitTrue(t, ctx, "wait for the app's signed-out page",
		`location.origin === `+jsString(rp.srv.URL)+` && !!document.querySelector("#rp-signed-out")`, navTimeout)
	rp.mu.Lock()
	got := rp.loggedOut
	rp.mu.Unlock()
	if got != "state=bye" {
		t.Errorf("the app's post-logout page got %q, want state=bye", got)
	}
	do(t, ctx, "the weftid session is over",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
	)
}
