package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// admScreenshots saves /users and a user's Danger tab at 375 px and at 1280 px to
// /tmp/weftid-users*.png, checking that nothing scrolls sideways at 375 px.
func admScreenshots(t *testing.T, ctx context.Context, srv *server, email string) {
	t.Helper()
	do(t, ctx, "open Users", chromedp.Navigate(srv.url("/users")), waitPath("/users"))
	id := admOpenUser(t, ctx, email)
	shots := []struct {
		w, h int64
		path string
		file string
	}{
		{375, 740, "/users", "/tmp/weftid-users-375.png"},
		{375, 740, fmt.Sprintf("/users/%d/danger", id), "/tmp/weftid-users-danger-375.png"},
		{1280, 900, "/users", "/tmp/weftid-users-1280.png"},
		{1280, 900, fmt.Sprintf("/users/%d/danger", id), "/tmp/weftid-users-danger-1280.png"},
	}
	for _, s := range shots {
		do(t, ctx, "open "+s.path,
			chromedp.Navigate(srv.url(s.path)),
			waitPath(s.path),
			chromedp.WaitVisible(chromedp.CSS("h1")),
		)
		admShot(t, ctx, s.file, s.w, s.h, nil)
	}
	// The Danger tab with a confirmation open, at 375 px: Sign out everywhere's, since this user
	// has no TOTP or backup codes and so is offered no reset (TestDangerConfirmationInBrowser
	// opens the reset's).
	const signOutBox = `#sign-out-everywhere`
	admShot(t, ctx, "/tmp/weftid-users-danger-confirm-375.png", 375, 740, func() {
		do(t, ctx, "open the confirmation", chromedp.Click(chromedp.CSS(signOutBox+` details > summary`)), chromedp.WaitVisible(chromedp.CSS(signOutBox+` form button[type=submit]`)))
	})
}

// admShot saves a full-page screenshot of the page as it is at w x h px (prepare, if not nil,
// runs once the viewport is set), checks at phone widths that nothing scrolls sideways, and
// sets the viewport back to newBrowser's 1280 x 900.
func admShot(t *testing.T, ctx context.Context, file string, w, h int64, prepare func()) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("emulate %d x %d", w, h), chromedp.EmulateViewport(w, h))
	if prepare != nil {
		prepare()
	}
	if w < 500 {
		checkNoSidewaysScroll(t, ctx, fmt.Sprintf("%s at %d px", file, w))
	}
	png := read(t, ctx, "take a screenshot for "+file, chromedp.FullScreenshot(100))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("save %s: %v", file, err)
	} else {
		t.Logf("screenshot: %s", file)
	}
	do(t, ctx, "emulate 1280 x 900 again", chromedp.EmulateViewport(1280, 900))
}

// TestEventLogLoadMoreAndCSV: with more than a page of events, "Load more" appends the next rows
// without loading a page; the filters carry over to "Load more" and to the Export CSV link,
// whose file holds exactly the filtered events.
func TestEventLogLoadMoreAndCSV(t *testing.T) {
	const (
		adminEmail = "hedy@example.com"
		email      = "alan@example.com"
		toggles    = 56 // user_role_changed events: more than a page (50) of them alone
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	srv.addUser(t, email, "Alan Turing", "user", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	id := admOpenUser(t, ctx, email)

	// Make the events through the app: the role form's own POST, many times over.
	n := read(t, ctx, "change the role back and forth", chromedp.Evaluate[int](fmt.Sprintf(`(async () => {
		const csrf = document.querySelector("input[name=_csrf]").value;
		let ok = 0;
		for (let i = 0; i < %d; i++) {
			const body = new URLSearchParams({_csrf: csrf, role: i %% 2 ? "user" : "admin"});
			const r = await fetch("/users/%d/role", {method: "POST", body, credentials: "same-origin"});
			if (r.ok) ok++;
		}
		return ok;
	})()`, toggles, id), chromedp.EvalAwaitPromise))
	if n != toggles {
		t.Fatalf("%d of %d role changes went through", n, toggles)
	}
	lap(fmt.Sprintf("%d role changes", toggles))

	type log struct {
		Search string   `json:"search"`
		IDs    []int    `json:"ids"`
		Types  []string `json:"types"`
		More   string   `json:"more"`
		Export string   `json:"export"`
		Marker bool     `json:"marker"`
		Ready  bool     `json:"ready"`
	}
	readLog := chromedp.Evaluate[log](`({
		search: location.search,
		ids: Array.from(document.querySelectorAll(` + jsString(admEventRows) + `), tr => +tr.id.slice(6)),
		types: Array.from(document.querySelectorAll(` + jsString(admEventRows) + `), tr => tr.cells[1].querySelector("data")?.value ?? ""),
		more: document.querySelector(` + jsString(admEventsMore) + `)?.getAttribute("href") ?? "",
		export: document.querySelector(` + jsString(admEventExport) + `)?.getAttribute("href") ?? "",
		marker: window.__noReload === 1,
		ready: document.readyState === "complete",
	})`)
	checkOrder := func(when string, l log) {
		t.Helper()
		for i := 1; i < len(l.IDs); i++ {
			if l.IDs[i] >= l.IDs[i-1] {
				t.Errorf("%s: event ids not newest first, or repeated: %v", when, l.IDs)
				return
			}
		}
	}

	do(t, ctx, "open Events", chromedp.Click(chromedp.CSS(admNavEvents)), waitPath("/events"))
	l := read(t, ctx, "read the log", readLog)
	if len(l.IDs) != 50 || l.More == "" {
		t.Fatalf("the first page: %d rows, Load more %q; want 50 and a Load more", len(l.IDs), l.More)
	}
	total := l.IDs[0] // ids count up from 1 in a fresh database
	admWaitHTMX(t, ctx, admEventsMore)
	do(t, ctx, "mark the page and click Load more",
		chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`),
		chromedp.Click(chromedp.CSS(admEventsMore)),
	)
	l = pollUntil(t, ctx, "wait for the next rows", navTimeout, readLog, func(l log) bool { return len(l.IDs) > 50 })
	if !l.Marker {
		t.Errorf("Load more loaded a new page")
	}
	if len(l.IDs) != min(100, total) {
		t.Errorf("after Load more: %d rows, want %d", len(l.IDs), min(100, total))
	}
	checkOrder("after Load more", l)
	if n := read(t, ctx, "count the Load more rows", chromedp.Evaluate[int](`document.querySelectorAll("#events-more").length`)); n > 1 {
		t.Errorf("after Load more there are %d Load more rows", n)
	}
	// The script localises the new rows once htmx has swapped them in (htmx:load), just after
	// they appear: wait for it, and fail if some never are.
	pollUntil(t, ctx, "after Load more, wait for every time in local time", navTimeout,
		chromedp.Evaluate[int](`document.querySelectorAll("time[data-local]").length`), func(n int) bool { return n == 0 })
	lap("Load more")

	// Filter by type and user: the URL, Load more and the export keep both.
	do(t, ctx, "filter user_role_changed of "+email,
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(admEventType)+`).value = "user_role_changed"`),
		fill(admEventUser, email),
		chromedp.Click(chromedp.CSS(admEventFilter)),
	)
	l = pollUntil(t, ctx, "wait for the filtered log", navTimeout, readLog, func(l log) bool {
		// The new page, parsed to its end: a read while it loads sees only its first rows.
		return !l.Marker && strings.Contains(l.Search, "type=") && l.Ready
	})
	wantQuery := "type=user_role_changed&user=" + strings.ReplaceAll(email, "@", "%40")
	if l.Export != "/events.csv?"+wantQuery {
		t.Errorf("Export CSV links to %q, want /events.csv?%s", l.Export, wantQuery)
	}
	if !strings.Contains(l.More, wantQuery) {
		t.Errorf("Load more links to %q, want it to carry %s", l.More, wantQuery)
	}
	if len(l.IDs) != 50 || slices.ContainsFunc(l.Types, func(s string) bool { return s != "user_role_changed" }) {
		t.Errorf("filtered first page: %d rows of types %v", len(l.IDs), slices.Compact(slices.Clone(l.Types)))
	}
	do(t, ctx, "mark the page and Load more", chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`))
	admWaitHTMX(t, ctx, admEventsMore)
	do(t, ctx, "click Load more", chromedp.Click(chromedp.CSS(admEventsMore)))
	l = pollUntil(t, ctx, "wait for the rest", navTimeout, readLog, func(l log) bool { return len(l.IDs) > 50 })
	if len(l.IDs) != toggles || l.More != "" || !l.Marker || slices.ContainsFunc(l.Types, func(s string) bool { return s != "user_role_changed" }) {
		t.Errorf("filtered, after Load more: %d rows (want %d), Load more %q, same page %v, types %v", len(l.IDs), toggles, l.More, l.Marker, slices.Compact(slices.Clone(l.Types)))
	}
	checkOrder("filtered, after Load more", l)

	// The export link's file: the header and exactly those events.
	csv := read(t, ctx, "fetch the export", chromedp.Evaluate[string](`fetch(document.querySelector(`+jsString(admEventExport)+`).href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	lines := strings.Split(strings.TrimRight(csv, "\r\n"), "\n")
	if len(lines) != toggles+1 || !strings.HasPrefix(lines[0], "id,time,type,") {
		t.Errorf("the export has %d lines (want %d) starting %q", len(lines), toggles+1, lines[0])
	}
	for _, line := range lines[1:] {
		if f := strings.Split(line, ","); len(f) < 5 || f[2] != "user_role_changed" || f[4] != email {
			t.Errorf("an exported line is not a user_role_changed of %s: %q", email, line)
			break
		}
	}
	lap("filters, Load more and export")
}

// TestAdminPagesAfterSignOutGoToSignIn: an admin has a user's page open in one tab and Users in
// another, and signs out in a third. Clicking a tab of the user's page, or typing in the
// search, must then take the browser to the sign-in page, as a page of its own: not swap the
// sign-in page into the tab panel or the table under the old header with the admin's name.
func TestAdminPagesAfterSignOutGoToSignIn(t *testing.T) {
	const (
		adminEmail = "hedy@example.com"
		email      = "ada@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	srv.addUser(t, email, "Ada Lovelace", "user", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	id := admOpenUser(t, ctx, email)
	users := admSameBrowserTab(t, ctx, "users")
	do(t, users, "open Users in a second tab", chromedp.Navigate(srv.url("/users")), waitPath("/users"))
	admWaitHTMX(t, users, admSearch)
	third := admSameBrowserTab(t, ctx, "third")
	do(t, third, "sign out in a third tab",
		chromedp.Navigate(srv.url("/dashboard")),
		chromedp.Click(chromedp.CSS(logoutButton)),
		waitPath("/login"),
	)

	type page struct {
		Path     string `json:"path"`
		Complete bool   `json:"complete"`
		H1s      string `json:"h1s"`
		Navs     int    `json:"navs"`
		Stale    bool   `json:"stale"` // the admin page is still around the sign-in form
	}
	readPage := chromedp.Evaluate[page](`({
		path: location.pathname,
		complete: document.readyState === "complete",
		h1s: Array.from(document.querySelectorAll("h1"), h => h.innerText.trim()).join(" | "),
		navs: document.querySelectorAll("nav[aria-label=Main]").length,
		stale: !!document.querySelector("#user-tab-panel, #user-table, .nav-user"),
	})`)
	expectSignInPage := func(ctx context.Context, when string) {
		t.Helper()
		p := pollUntil(t, ctx, when+": wait for /login", navTimeout, readPage, func(p page) bool { return p.Path == "/login" && p.Complete })
		if p.H1s != "Sign in" || p.Stale || p.Navs != 1 {
			t.Errorf("%s: the sign-in page was swapped into the old admin page instead of loading as a page: h1s %q, %d main navigation(s), the old page's parts still there %v", when, p.H1s, p.Navs, p.Stale)
		}
	}

	do(t, ctx, "click the Events tab", chromedp.Click(chromedp.CSS(fmt.Sprintf(`%s a[href="/users/%d/events"]`, admTabs, id))))
	expectSignInPage(ctx, "a tab clicked after signing out")
	do(t, users, "type in the search", chromedp.SendKeys(chromedp.CSS(admSearch), "ada"))
	expectSignInPage(users, "a search typed after signing out")
}
