package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// navState is what the main navigation shows: the Menu's summary, the links and Sign out, as
// rendered (checkVisibility), and whether the Menu is open.
type navState struct {
	Summary bool `json:"summary"`
	Links   int  `json:"links"`   // visible links of the main navigation, the brand included
	SignOut int  `json:"signOut"` // visible Sign out buttons
	Open    bool `json:"open"`
	OneRow  bool `json:"oneRow"` // the visible top-level entries overlap vertically: one row
}

const navRead = `(() => {
	const nav = document.querySelector("nav[aria-label=Main]");
	const seen = e => e.checkVisibility({visibilityProperty: true});
	const summary = nav.querySelector("details > summary");
	const top = Array.from(nav.querySelectorAll(":scope > ul > li")).filter(seen);
	return {
		summary: !!summary && seen(summary),
		links: Array.from(nav.querySelectorAll("a[href]")).filter(seen).length,
		signOut: Array.from(nav.querySelectorAll("form[action='/logout'] button")).filter(seen).length,
		open: !!nav.querySelector("details[open]"),
		oneRow: Math.max(...top.map(li => li.getBoundingClientRect().top)) < Math.min(...top.map(li => li.getBoundingClientRect().bottom)),
	};
})()`

// TestMainMenuFoldsOnAPhone: at 1280 px the navigation is one row of links with the name and
// Sign out, no Menu; at 390 px only the brand and a Menu show, on one row, and the Menu opens
// from the keyboard (Tab to it, Enter) with every link and Sign out in it, without JavaScript's
// help (a <details>).
func TestMainMenuFoldsOnAPhone(t *testing.T) {
	const (
		email    = "grace@example.com"
		password = "correct horse battery staple 42"
	)
	srv := startServer(t)
	srv.addUser(t, email, "Grace Hopper", "super_admin", password)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, email, password)

	wide := read(t, ctx, "read the navigation at 1280 px", chromedp.Evaluate[navState](navRead))
	if wide.Summary || wide.Links != 8 || wide.SignOut != 1 || !wide.OneRow {
		t.Errorf("at 1280 px the navigation shows %+v; want no Menu, the brand and 7 links, Sign out, one row", wide)
	}

	do(t, ctx, "emulate a 390 px phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	phone := read(t, ctx, "read the navigation at 390 px", chromedp.Evaluate[navState](navRead))
	if !phone.Summary || phone.Links != 1 || phone.SignOut != 0 || phone.Open || !phone.OneRow {
		t.Errorf("at 390 px the navigation shows %+v; want the brand and a closed Menu on one row", phone)
	}
	// Skip link, brand, Menu.
	do(t, ctx, "open the Menu from the keyboard",
		chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(kb.Enter),
	)
	open := read(t, ctx, "read the opened Menu", chromedp.Evaluate[navState](navRead))
	if !open.Open || open.Links != 8 || open.SignOut != 1 {
		t.Errorf("after Tab, Tab, Tab, Enter at 390 px the navigation shows %+v; want the Menu open with 7 links and Sign out", open)
	}
	shot := read(t, ctx, "screenshot the open Menu", chromedp.CaptureScreenshot())
	if err := os.MkdirAll(layScreenshotDir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(layScreenshotDir, "super_admin_menu-open_390px.png"), shot, 0o644)
	}
	do(t, ctx, "sign out from the Menu",
		chromedp.Click(chromedp.CSS(`nav details[open] form[action="/logout"] button`)),
		waitPath("/login"),
	)
}

// clickMainNav clicks the main navigation's link to href: in the Menu, opened first, when the
// screen is narrow enough to fold the links in it.
func clickMainNav(t *testing.T, ctx context.Context, href string) {
	t.Helper()
	folded := read(t, ctx, "is the main navigation folded?", chromedp.Evaluate[bool](
		`getComputedStyle(document.querySelector("nav[aria-label=Main] ul.nav-menu")).display !== "none"`))
	if !folded {
		do(t, ctx, "click "+href+" in the navigation", chromedp.Click(chromedp.CSS(`nav[aria-label=Main] li.nav-wide > a[href="`+href+`"]`)))
		return
	}
	do(t, ctx, "click "+href+" in the Menu",
		chromedp.Click(chromedp.CSS(`nav[aria-label=Main] .nav-menu summary`)),
		chromedp.Click(chromedp.CSS(`nav[aria-label=Main] .nav-menu details[open] a[href="`+href+`"]`)),
	)
}
