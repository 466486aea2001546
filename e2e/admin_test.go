package e2e

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail/mailtest"
)

// The admin pages: Users, a user's detail page with its tabs, and the event log
// (views/users.templ, views/users_detail.templ, views/events.templ). Every name in this file
// starts with adm, so that it cannot clash with the helpers of the other files of the package.
const (
	admPassword = "correct horse battery staple 42"

	admNavUsers  = `nav[aria-label=Main] a[href="/users"]`
	admNavEvents = `nav[aria-label=Main] a[href="/events"]`

	admSearch     = `#q`
	admUserTable  = `#user-table`
	admUserRows   = admUserTable + ` tbody tr`
	admRoleFilter = `#filter-role`

	admTabs       = `#user-tabs`
	admPanel      = `#user-tab-panel`
	admResetBox   = `#reset-mfa`
	admResetOpen  = admResetBox + ` details > summary`
	admResetYes   = admResetBox + ` form button[type=submit]`
	admPasskeyRow = `#passkeys tbody tr`

	admEventRows   = `#event-rows tr[id^="event-"]`
	admEventsMore  = `#events-more a`
	admEventsForm  = `form[aria-label="Filter events"]`
	admEventType   = admEventsForm + ` select[name=type]`
	admEventUser   = admEventsForm + ` input[name=user]`
	admEventFilter = admEventsForm + ` button[type=submit]`
	admEventExport = admEventsForm + ` a[download]`

	admPolicySave     = `form[action="/settings/security/authentication"] button[type=submit]`
	admPolicyEnhanced = `form[action="/settings/security/authentication"] input[name=required_auth_strength][value=enhanced]`
)

// Messages of the user detail page (handlers/users_detail.go).
const (
	admResetNotice   = "Two-step verification was reset. The user was told by email."
	admRevokedNotice = "The passkey was revoked."
)

// admTab opens a tab in a new browser context of the browser that ctx belongs to: its own
// cookies and storage, as a second browser would have, without starting another Chromium.
// If the test fails, the tab's page is logged (newBrowser's dump covers only its first tab).
func admTab(t *testing.T, ctx context.Context, label string) context.Context {
	t.Helper()
	return admOpenTab(t, ctx, label, chromedp.WithNewBrowserContext())
}

// admSameBrowserTab opens another tab of the same browser context as ctx: the same cookies,
// as a second tab of one browser has.
func admSameBrowserTab(t *testing.T, ctx context.Context, label string) context.Context {
	t.Helper()
	return admOpenTab(t, ctx, label)
}

func admOpenTab(t *testing.T, ctx context.Context, label string, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx, opts...)
	t.Cleanup(cancel)
	// The first run ties the tab's life to the context it gets: give it the tab's own context,
	// and stop a start that hangs with a timer, as newBrowser does.
	watchdog := time.AfterFunc(stepTimeout, cancel)
	err := chromedp.Do(tab)
	if !watchdog.Stop() {
		t.Fatalf("the %s tab did not open within %v", label, stepTimeout)
	}
	if err != nil {
		t.Fatalf("open the %s tab: %v", label, err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		type page struct {
			URL  string `json:"url"`
			Text string `json:"text"`
		}
		p, err := chromedp.Run(dctx, chromedp.Evaluate[page](`({url: location.href, text: document.body ? document.body.innerText : ""})`))
		if err != nil {
			t.Logf("%s tab: the page cannot be read: %v", label, err)
			return
		}
		t.Logf("%s tab: URL %s; text:\n%s", label, p.URL, p.Text)
	})
	return tab
}

// admLap logs the time since the test began, for the report.
func admLap(t *testing.T, began time.Time) func(string) {
	return func(what string) {
		t.Helper()
		t.Logf("%-48s %6v", what, time.Since(began).Round(10*time.Millisecond))
	}
}

// admWaitHTMX waits until htmx has processed the element sel, so that a click on it or typing
// in it is handled by htmx rather than by the browser alone.
func admWaitHTMX(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitTrue(t, ctx, "wait for htmx to process "+sel,
		`window.htmx && document.readyState === "complete" && document.querySelector(`+jsString(sel)+`)?.["htmx-internal-data"]`, stepTimeout)
}

// admSetEnhanced signs the super admin in and sets Settings > Security > Authentication to
// Enhanced, through the navigation.
func admSetEnhanced(t *testing.T, ctx context.Context, srv *server, email string) {
	t.Helper()
	pwSignIn(t, ctx, srv, email, admPassword)
	do(t, ctx, "Settings > Security > Authentication > Enhanced > Save",
		chromedp.Click(chromedp.CSS(`nav[aria-label=Main] a[href="/settings/security"]`)),
		waitPath("/settings/security"),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Security settings"] a[href="/settings/security/authentication"]`)),
		waitPath("/settings/security/authentication"),
		chromedp.WaitVisible(chromedp.CSS(admPolicySave)),
		removeNotices(),
		chromedp.Click(chromedp.CSS(admPolicyEnhanced)),
		chromedp.Click(chromedp.CSS(admPolicySave)),
		policyConfirm(), // the preview of who meets enrollment, then the notice
	)
	if on := read(t, ctx, "read the Enhanced radio", jsTruthy(`document.querySelector(`+jsString(admPolicyEnhanced)+`).checked`)); !on {
		t.Fatal("after saving, Enhanced is not checked")
	}
}

// admOpenUser goes Users (main navigation) > the user's name, and returns the user's id. It
// ends on the Profile tab with htmx ready on the tab bar.
func admOpenUser(t *testing.T, ctx context.Context, email string) int64 {
	t.Helper()
	do(t, ctx, "open Users from the navigation",
		chromedp.Click(chromedp.CSS(admNavUsers)),
		waitPath("/users"),
		chromedp.WaitVisible(chromedp.CSS(admUserTable)),
	)
	rowID := read(t, ctx, "find the row of "+email, chromedp.Evaluate[string](`(() => {
		const tr = Array.from(document.querySelectorAll(`+jsString(admUserRows)+`)).find(tr => tr.cells[1]?.innerText.trim() === `+jsString(email)+`);
		return tr ? tr.id : "";
	})()`))
	id, err := strconv.ParseInt(strings.TrimPrefix(rowID, "user-"), 10, 64)
	if rowID == "" || err != nil {
		t.Fatalf("Users lists no row for %s (row id %q): %q", email, rowID, read(t, ctx, "read the table", textOfAll(admUserTable)))
	}
	profile := fmt.Sprintf("/users/%d/profile", id)
	do(t, ctx, "click the name of "+email,
		chromedp.Click(chromedp.CSS(`#`+rowID+` td:first-child a`)),
		waitPath(profile),
		chromedp.WaitVisible(chromedp.CSS(admTabs)),
	)
	admWaitHTMX(t, ctx, admTabs+` a[aria-current=page]`)
	return id
}

// admDetail is what a user's detail page shows, read in one go.
type admDetail struct {
	Path     string `json:"path"`
	Marker   bool   `json:"marker"`   // window.__noReload survived: no page was loaded
	Kept     bool   `json:"kept"`     // the h1 marked before is the same element
	Current  string `json:"current"`  // the tab with aria-current=page
	NCurrent int    `json:"nCurrent"` // how many tabs have aria-current
	Panel    string `json:"panel"`    // the first heading of the panel: Details, Danger or Events
	Tabs     int    `json:"tabs"`     // how many #user-tabs there are
	H1s      int    `json:"h1s"`
	Title    string `json:"title"`
	Notice   string `json:"notice"`
	Ready    bool   `json:"ready"` // document complete and the tab bar processed by htmx
}

func (d admDetail) String() string {
	return fmt.Sprintf("{path=%q panel=%q current=%q(%d) marker=%v kept=%v tabs=%d h1s=%d title=%q notice=%q ready=%v}",
		d.Path, d.Panel, d.Current, d.NCurrent, d.Marker, d.Kept, d.Tabs, d.H1s, d.Title, d.Notice, d.Ready)
}

func admReadDetail() chromedp.Action[admDetail] {
	return chromedp.Evaluate[admDetail](`(() => {
		const cur = Array.from(document.querySelectorAll("#user-tabs a[aria-current=page]"));
		const h1 = document.querySelector("h1");
		const h2 = document.querySelector("#user-tab-panel h2");
		const a = document.querySelector("#user-tabs a[aria-current=page]");
		return {
			path: location.pathname,
			marker: window.__noReload === 1,
			kept: !!h1 && h1.__kept === 1,
			current: cur.map(a => a.innerText.trim()).join(","),
			nCurrent: cur.length,
			panel: h2 ? h2.innerText.trim() : "",
			tabs: document.querySelectorAll("#user-tabs").length,
			h1s: document.querySelectorAll("h1").length,
			title: document.title,
			notice: Array.from(document.querySelectorAll(".notice[role=status]"), e => e.innerText.trim()).join("\n"),
			ready: document.readyState === "complete" && !!window.htmx && !!a && !!a["htmx-internal-data"],
		};
	})()`)
}

// admWaitTab waits until the page shows the tab at path with its panel (heading panel) and the
// tab bar marking label, and returns what it shows.
func admWaitTab(t *testing.T, ctx context.Context, what, path, label, panel string) admDetail {
	t.Helper()
	return pollUntil(t, ctx, what, navTimeout, admReadDetail(), func(d admDetail) bool {
		return d.Path == path && d.Current == label && d.Panel == panel && d.Ready
	})
}

// admClickTab clicks a tab of the tab bar and waits for its panel.
func admClickTab(t *testing.T, ctx context.Context, id int64, slug, label, panel string) admDetail {
	t.Helper()
	path := fmt.Sprintf("/users/%d/%s", id, slug)
	admWaitHTMX(t, ctx, admTabs+` a[href="`+path+`"]`)
	do(t, ctx, "click the "+label+" tab", chromedp.Click(chromedp.CSS(admTabs+` a[href="`+path+`"]`)))
	return admWaitTab(t, ctx, "wait for the "+label+" tab", path, label, panel)
}

// admPasskeyNames reads the names in the Passkeys table of the Profile tab.
func admPasskeyNames() chromedp.Action[[]string] {
	return chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(` + jsString(admPasskeyRow) + `), tr => tr.cells[0].innerText.trim())`)
}

// admMail waits for the next message to address with that subject (the mail server's cursor for
// it moves on, past other messages such as the notices mailed in the background).
func admMail(t *testing.T, ctx context.Context, srv *server, address, subject, what string) mailtest.Received {
	t.Helper()
	mctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mctx, address, subject)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return msg
}

// TestAdminResetsTwoStepVerification: a user sets up TOTP through Account > Security; a super
// admin sets Enhanced; an admin (signed in before, so not interrupted) goes Users > the user >
// Danger > Reset two-step verification and confirms. The user is told by email; at their next
// sign-in they get an email code, as they have no TOTP any more, and then must enroll again.
func TestAdminResetsTwoStepVerification(t *testing.T) {
	const (
		superEmail = "frances@example.com"
		adminEmail = "hedy@example.com"
		adminName  = "Hedy Lamarr"
		email      = "mary@example.com"
		name       = "Mary Jackson"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, superEmail, "Frances Allen", "super_admin", admPassword)
	srv.addUser(t, adminEmail, adminName, "admin", admPassword)
	srv.addUser(t, email, name, "user", admPassword)
	ctx := newBrowser(t) // the user's
	actx := admTab(t, ctx, "admin")
	sctx := admTab(t, ctx, "super admin")
	lap("server, browser and tabs up")

	pwSignIn(t, ctx, srv, email, admPassword)
	setupTOTP(t, ctx, srv)
	signOut(t, ctx)
	lap("user has TOTP")

	// The admin signs in under Baseline; Enhanced does not interrupt that session.
	pwSignIn(t, actx, srv, adminEmail, admPassword)
	admSetEnhanced(t, sctx, srv, superEmail)
	lap("admin signed in; Enhanced saved")

	id := admOpenUser(t, actx, email)
	profile := admWaitTab(t, actx, "wait for the Profile tab", fmt.Sprintf("/users/%d/profile", id), "Profile", "Details")
	if profile.Title != name+" · Profile · weftid" {
		t.Errorf("Profile tab title %q", profile.Title)
	}
	totp := read(t, actx, "read the TOTP row", textOfAll(`#user-totp`))
	backup := read(t, actx, "read the backup codes row", textOfAll(`#user-backup-codes`))
	if totp != "Set up" || backup != strconv.Itoa(auth.BackupCodeCount) {
		t.Errorf("before the reset the Profile tab says TOTP %q, backup codes %q; want \"Set up\" and %d", totp, backup, auth.BackupCodeCount)
	}

	admClickTab(t, actx, id, "danger", "Danger", "Danger")
	do(t, actx, "open the confirmation",
		chromedp.Click(chromedp.CSS(admResetOpen)),
		chromedp.WaitVisible(chromedp.CSS(admResetYes)),
	)
	confirm := read(t, actx, "read the confirmation", textOfAll(admResetBox+` form`))
	if !strings.Contains(confirm, email) || !strings.Contains(confirm, name) {
		t.Errorf("the confirmation does not name the user: %q", confirm)
	}
	if b := read(t, actx, "read the button", textOfAll(admResetYes)); b != "Yes, reset two-step verification" {
		t.Errorf("the confirming button reads %q", b)
	}
	do(t, actx, "confirm the reset", removeNotices(), chromedp.Click(chromedp.CSS(admResetYes)))
	d := pollUntil(t, actx, "wait for the reset's notice", navTimeout, admReadDetail(), func(d admDetail) bool { return d.Notice != "" })
	if d.Path != fmt.Sprintf("/users/%d/danger", id) || d.Notice != admResetNotice || d.Current != "Danger" {
		t.Errorf("after the reset: %v, want the Danger tab with the notice %q", d, admResetNotice)
	}
	lap("reset confirmed")

	msg := admMail(t, ctx, srv, email, "Your two-step verification was reset", "wait for the mail about the reset")
	if msg.Subject != "Your two-step verification was reset" {
		t.Errorf("the mail to the user has the subject %q", msg.Subject)
	}
	if !strings.Contains(msg.Text, adminName) || !strings.Contains(msg.Text, adminEmail) {
		t.Errorf("the mail does not say which admin reset it:\n%s", msg.Text)
	}
	if c := mailtest.FindCode(msg.Text); c != "" {
		t.Errorf("the reset mail carries something that looks like a code (%s):\n%s", c, msg.Text)
	}

	// The admin sees it: no TOTP, no backup codes, and the event on the Events tab.
	admClickTab(t, actx, id, "profile", "Profile", "Details")
	totp = read(t, actx, "read the TOTP row", textOfAll(`#user-totp`))
	backup = read(t, actx, "read the backup codes row", textOfAll(`#user-backup-codes`))
	if totp != "Not set up" || backup != "0" {
		t.Errorf("after the reset the Profile tab says TOTP %q, backup codes %q; want \"Not set up\" and 0", totp, backup)
	}
	admClickTab(t, actx, id, "events", "Events", "Events")
	// Each row as its type (the machine-readable value of its label) and the rest of its text.
	readRows := chromedp.Evaluate[string](`Array.from(document.querySelectorAll(` + jsString(admPanel+` tbody tr`) + `),
		tr => (tr.querySelector("td data")?.value ?? "") + "\t" + Array.from(tr.cells).slice(2).map(c => c.innerText).join("\t")).join("\n")`)
	if ev := read(t, actx, "read the events", readRows); !strings.Contains(ev, "mfa_reset_by_admin\t"+adminEmail) {
		t.Errorf("the Events tab does not show mfa_reset_by_admin by %s:\n%s", adminEmail, ev)
	}
	lap("admin sees the reset")

	// The user's next sign-in: no TOTP asked, an email code, then enrollment.
	passwordOnly(t, ctx, srv, email, admPassword)
	do(t, ctx, "wait for the email code form", chromedp.WaitVisible(chromedp.CSS(codeInput)))
	if n := read(t, ctx, "look for a TOTP form", chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(verifyTOTPForm)+`).length`)); n != 0 {
		t.Errorf("after the reset the second-factor page still asks for a TOTP code")
	}
	code := mailtest.FindCode(admMail(t, ctx, srv, email, codeSubject, "wait for the sign-in code").Text)
	if code == "" {
		t.Fatal("no code in the sign-in mail")
	}
	do(t, ctx, "submit the email code",
		fill(codeInput, code),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath("/login/enroll"),
		chromedp.WaitVisible(chromedp.CSS(`.enroll-options`)),
	)
	if links := read(t, ctx, "read the options", textOfAll(`.enroll-options a`)); links != "Register a passkey\nSet up TOTP" {
		t.Errorf("enrollment offers %q", links)
	}
	do(t, ctx, "try /dashboard before enrolling",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login/enroll"),
	)
	lap("user must enroll again")
}

// TestAdminRevokesOnePasskey: a user registers "Laptop" in one browser and "Phone" in another,
// each with its own virtual authenticator. An admin revokes "Laptop" on Users > the user >
// Profile > Passkeys. The laptop's passkey no longer signs in; the phone's still does.
func TestAdminRevokesOnePasskey(t *testing.T) {
	const (
		adminEmail = "hedy@example.com"
		email      = "grace@example.com"
		name       = "Grace Hopper"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	srv.addUser(t, email, name, "user", admPassword)
	laptop := newBrowser(t)
	laptopAuth := addAuthenticator(t, laptop)
	phone := admTab(t, laptop, "phone")
	phoneAuth := addAuthenticator(t, phone)
	actx := admTab(t, laptop, "admin")
	lap("server, browser, tabs and authenticators up")

	pwSignIn(t, laptop, srv, email, admPassword)
	registerPasskey(t, laptop, srv, "Laptop")
	pwSignIn(t, phone, srv, email, admPassword)
	s := registerPasskey(t, phone, srv, "Phone")
	if len(s.Passkeys) != 2 {
		t.Fatalf("after registering in two browsers Account > Security lists %v, want Laptop and Phone", s.Passkeys)
	}
	// Each browser's authenticator holds only its own passkey, so each sign-in below can offer
	// only that one.
	lc, pc := authenticatorCredentials(t, laptop, laptopAuth), authenticatorCredentials(t, phone, phoneAuth)
	if len(lc) != 1 || len(pc) != 1 || string(lc[0].CredentialID) == string(pc[0].CredentialID) {
		t.Fatalf("the laptop's authenticator holds %d credential(s), the phone's %d; want one each, not the same", len(lc), len(pc))
	}
	lap("Laptop and Phone registered")

	pwSignIn(t, actx, srv, adminEmail, admPassword)
	id := admOpenUser(t, actx, email)
	names := read(t, actx, "read the passkeys", admPasskeyNames())
	slices.Sort(names)
	if !slices.Equal(names, []string{"Laptop", "Phone"}) {
		t.Fatalf("Profile > Passkeys lists %q, want Laptop and Phone", names)
	}
	admShot(t, actx, "/tmp/weftid-users-profile-passkeys-375.png", 375, 740, func() {
		do(t, actx, "open every Revoke", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#passkeys details").forEach(d => d.open = true)`))
	})
	do(t, actx, "close every Revoke", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#passkeys details").forEach(d => d.open = false)`))
	row := read(t, actx, "find the row of Laptop", chromedp.Evaluate[string](`Array.from(document.querySelectorAll(`+jsString(admPasskeyRow)+`)).find(tr => tr.cells[0].innerText.trim() === "Laptop")?.id ?? ""`))
	if row == "" {
		t.Fatal("no row for Laptop")
	}
	yes := `#` + row + ` button[aria-label="Yes, revoke passkey Laptop"]`
	do(t, actx, "Revoke > Yes, revoke on Laptop",
		chromedp.Click(chromedp.CSS(`#`+row+` summary`)),
		chromedp.WaitVisible(chromedp.CSS(yes)),
		removeNotices(),
		chromedp.Click(chromedp.CSS(yes)),
	)
	d := pollUntil(t, actx, "wait for the revocation's notice", navTimeout, admReadDetail(), func(d admDetail) bool { return d.Notice != "" })
	if d.Path != fmt.Sprintf("/users/%d/profile", id) || d.Notice != admRevokedNotice {
		t.Errorf("after revoking: %v, want the Profile tab with %q", d, admRevokedNotice)
	}
	if names := read(t, actx, "read the passkeys", admPasskeyNames()); !slices.Equal(names, []string{"Phone"}) {
		t.Errorf("after revoking Laptop, Profile > Passkeys lists %q, want only Phone", names)
	}
	lap("Laptop revoked")

	// The laptop: its authenticator still offers the credential; the server refuses it.
	signOut(t, laptop)
	do(t, laptop, "sign in with the Laptop passkey",
		removeAlerts(),
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
	)
	waitTrue(t, laptop, "wait for the answer to the Laptop passkey",
		`location.pathname !== "/login" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if p := currentPath(t, laptop); p != "/login" {
		t.Errorf("the revoked Laptop passkey signed in: path %q", p)
	} else if a := read(t, laptop, "read the error", textOfAll(passkeySignInAlert)); a != passkeyRefused {
		t.Errorf("the revoked Laptop passkey: alert %q, want %q", a, passkeyRefused)
	}
	lap("Laptop refused")

	// The phone: still signs in.
	signOut(t, phone)
	do(t, phone, "sign in with the Phone passkey",
		removeAlerts(),
		chromedp.WaitVisible(chromedp.CSS(passkeySignInButton)),
		chromedp.Click(chromedp.CSS(passkeySignInButton)),
	)
	waitTrue(t, phone, "wait for the answer to the Phone passkey",
		`location.pathname !== "/login" || document.querySelector(`+jsString(passkeySignInAlert)+`)`, navTimeout)
	if a := read(t, phone, "look for an error", textOfAll(passkeySignInAlert)); a != "" {
		t.Fatalf("the Phone passkey was refused after Laptop was revoked: %q", a)
	}
	do(t, phone, "wait for the dashboard", waitPath("/dashboard"))
	if nav := read(t, phone, "read the navigation", textOfAll("nav")); !strings.Contains(nav, name) {
		t.Errorf("signed in with Phone, the navigation shows %q", nav)
	}
	lap("Phone signs in")
}

// TestUserTabsSwapOnlyThePanel: on a user's page, clicking a tab swaps only the panel (the page
