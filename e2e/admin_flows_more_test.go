package e2e

// The first-run checklist and the danger confirmations in the browser (issue 14, items 7 and 4).

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// checklistState reads which items of the dashboard's checklist are ticked, by id ("" when the
// checklist is not shown).
func checklistState() chromedp.Action[string] {
	return chromedp.Evaluate[string](`document.querySelector("#first-run") ? Array.from(document.querySelectorAll("#first-run li.check"), li => li.id + "=" + li.classList.contains("done")).join(" ") : ""`)
}

// TestFirstRunChecklistInBrowser: the super admin's dashboard ticks each item as it is done
// (mail: the test server is started with --smtp), and Dismiss hides the list for good.
func TestFirstRunChecklistInBrowser(t *testing.T) {
	const superEmail = "frances@example.com"
	srv := startServer(t)
	srv.addUser(t, superEmail, "Frances Allen", "super_admin", enrollPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, superEmail, enrollPassword)
	want := "check-second-factor=false check-mail=true check-invite=false check-app=false"
	if got := read(t, ctx, "read the checklist", checklistState()); got != want {
		t.Errorf("fresh checklist %q, want %q", got, want)
	}
	auditHere(t, ctx, "the dashboard with the checklist")
	shoot(t, ctx, "dashboard-checklist")

	srv.addUser(t, "ann@example.com", "Ann Smith", "user", enrollPassword)
	setupTOTP(t, ctx, srv)
	do(t, ctx, "back to the dashboard", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	want = "check-second-factor=true check-mail=true check-invite=true check-app=false"
	if got := read(t, ctx, "read the checklist", checklistState()); got != want {
		t.Errorf("checklist after TOTP and a second user %q, want %q", got, want)
	}
	// Each open item links to where it is done.
	if href := read(t, ctx, "read the app link", chromedp.Evaluate[string](`document.querySelector("#check-app a")?.getAttribute("href") ?? ""`)); href != "/applications" {
		t.Errorf("Register an application links to %q", href)
	}

	do(t, ctx, "dismiss the checklist",
		chromedp.Click(chromedp.CSS(`#first-run form[action="/dashboard/checklist/dismiss"] button`)),
		waitPath("/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	)
	waitTrue(t, ctx, "wait for the checklist to go", `!document.querySelector("#first-run")`, stepTimeout)
	do(t, ctx, "reload", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	if got := read(t, ctx, "read the checklist", checklistState()); got != "" {
		t.Errorf("after dismissing, the dashboard shows the checklist: %q", got)
	}
}

// TestDangerConfirmationInBrowser: the reset's confirmation names the user and says what
// happens, its button is red; for a user with nothing to reset the tab says so instead.
func TestDangerConfirmationInBrowser(t *testing.T) {
	const superEmail = "frances@example.com"
	srv := startServer(t)
	srv.addUser(t, superEmail, "Frances Allen", "super_admin", enrollPassword)
	srv.addUser(t, "ann@example.com", "Ann Smith", "user", enrollPassword)
	srv.addUser(t, "bob@example.com", "Bob Jones", "user", enrollPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, "ann@example.com", enrollPassword)
	setupTOTP(t, ctx, srv)
	signOut(t, ctx)

	pwSignIn(t, ctx, srv, superEmail, enrollPassword)
	ann := admOpenUser(t, ctx, "ann@example.com")
	admClickTab(t, ctx, ann, "danger", "Danger", "Danger")
	do(t, ctx, "open the reset's confirmation",
		chromedp.Click(chromedp.CSS(admResetOpen)),
		chromedp.WaitVisible(chromedp.CSS(admResetYes)),
	)
	text := read(t, ctx, "read the confirmation", textOfAll(admResetBox+` form p`))
	const want = "Reset two-step verification for Ann Smith (ann@example.com)? Their authenticator app and backup codes stop working at once; passkeys stay; they get an email."
	if text != want {
		t.Errorf("confirmation %q, want %q", text, want)
	}
	bg := read(t, ctx, "read the button's colour", chromedp.Evaluate[string](`getComputedStyle(document.querySelector(`+jsString(admResetYes)+`)).backgroundColor`))
	if bg != "rgb(198, 40, 40)" {
		t.Errorf("the confirming button's background is %s, want the danger red rgb(198, 40, 40)", bg)
	}
	auditHere(t, ctx, "the open reset confirmation")
	shoot(t, ctx, "user-danger-confirm")

	bob := admOpenUser(t, ctx, "bob@example.com")
	admClickTab(t, ctx, bob, "danger", "Danger", "Danger")
	if got := read(t, ctx, "read the reset section", textOfAll(admResetBox)); !strings.Contains(got, "nothing to reset") {
		t.Errorf("Bob's reset section %q, want it to say there is nothing to reset", got)
	}
	if n := read(t, ctx, "count reset buttons", chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(admResetBox+` summary, `+admResetBox+` form`)+`).length`)); n != 0 {
		t.Errorf("Bob's Danger tab offers a reset (%d controls)", n)
	}
}
