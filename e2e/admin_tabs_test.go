package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// is not loaded again, the heading stays the same element), the URL follows, the tab bar marks
// the tab; Back and Forward restore the tabs; reloading a tab's URL shows that tab as a whole
// page, and Back from there shows the previous tab.
func TestUserTabsSwapOnlyThePanel(t *testing.T) {
	const (
		adminEmail = "hedy@example.com"
		email      = "ada@example.com"
		name       = "Ada Lovelace"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	srv.addUser(t, email, name, "user", admPassword)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	id := admOpenUser(t, ctx, email)
	base := fmt.Sprintf("/users/%d", id)
	lap("on the Profile tab")

	do(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__noReload = 1; document.querySelector("h1").__kept = 1`))
	check := func(when string, d admDetail, label string, swapped bool) {
		t.Helper()
		if swapped && (!d.Marker || !d.Kept) {
			t.Errorf("%s: the page was loaded again or the heading replaced (marker %v, same h1 %v): want only the panel swapped", when, d.Marker, d.Kept)
		}
		if d.NCurrent != 1 || d.Tabs != 1 || d.H1s != 1 {
			t.Errorf("%s: %d tab(s) with aria-current, %d tab bar(s), %d h1(s); want one each", when, d.NCurrent, d.Tabs, d.H1s)
		}
		if want := name + " · " + label + " · weftid"; d.Title != want {
			t.Errorf("%s: title %q, want %q", when, d.Title, want)
		}
	}

	d := admClickTab(t, ctx, id, "danger", "Danger", "Danger")
	check("Profile > Danger", d, "Danger", true)
	if n := read(t, ctx, "look for the reset box", chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(admPanel+` `+admResetBox)+`).length`)); n != 1 {
		t.Errorf("the Danger panel has %d reset boxes, want 1", n)
	}
	d = admClickTab(t, ctx, id, "events", "Events", "Events")
	check("Danger > Events", d, "Events", true)
	if p := read(t, ctx, "read the Events panel", textOfAll(admPanel+` > p.muted`)); !strings.HasPrefix(p, "What "+name+" did") {
		t.Errorf("the Events panel starts %q", p)
	}
	lap("two tab clicks, no page load")

	// Back and Forward within the page: htmx restores the previous tab.
	do(t, ctx, "go back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	d = admWaitTab(t, ctx, "wait for Back to show Danger", base+"/danger", "Danger", "Danger")
	check("Back to Danger", d, "Danger", false)
	do(t, ctx, "go forward", chromedp.Evaluate[chromedp.Void](`history.forward()`))
	d = admWaitTab(t, ctx, "wait for Forward to show Events", base+"/events", "Events", "Events")
	check("Forward to Events", d, "Events", false)
	lap("back and forward")

	// Reload the tab's URL: the Events tab as a whole page.
	do(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`))
	do(t, ctx, "reload", chromedp.Reload())
	d = admWaitTab(t, ctx, "wait for the reloaded Events tab", base+"/events", "Events", "Events")
	if d.Marker {
		t.Errorf("after the reload the marker is still there: the page was not loaded again")
	}
	check("reloaded Events", d, "Events", false)
	if bc := read(t, ctx, "read the breadcrumb", textOfAll(`nav[aria-label=breadcrumb]`)); !strings.Contains(bc, name) {
		t.Errorf("the reloaded page has no breadcrumb with the name: %q", bc)
	}
	do(t, ctx, "go back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	d = admWaitTab(t, ctx, "wait for Back to show Danger after the reload", base+"/danger", "Danger", "Danger")
	check("Back to Danger after the reload", d, "Danger", false)
	lap("reload and back")
}

// TestUsersSearchAsYouType: typing in the search box filters the table without loading a page,
// and the URL follows; the role filter does the same. Then it takes the screenshots of /users
// and a user's Danger tab at 375 px and at desktop width.
func TestUsersSearchAsYouType(t *testing.T) {
	const adminEmail = "hedy@example.com"
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	for _, u := range [][2]string{
		{"ada@example.com", "Ada Lovelace"},
		{"adele@example.com", "Adele Goldberg"},
		{"alan@example.com", "Alan Turing"},
		{"zoe@example.com", "Zoë Ngô"},
		{"maria.de.la.cruz.fernandez-longname@subdivision.example.com", "María de la Cruz Fernández-Longname"},
	} {
		srv.addUser(t, u[0], u[1], "user", admPassword)
	}
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	do(t, ctx, "open Users",
		chromedp.Click(chromedp.CSS(admNavUsers)),
		waitPath("/users"),
	)
	admWaitHTMX(t, ctx, admSearch)
	lap("on Users")

	type table struct {
		URL    string   `json:"url"`
		Names  []string `json:"names"`
		Status string   `json:"status"`
		Marker bool     `json:"marker"`
	}
	readTable := chromedp.Evaluate[table](`({
		url: location.pathname + location.search,
		names: Array.from(document.querySelectorAll(` + jsString(admUserRows) + `), tr => tr.cells[0].innerText.trim()),
		status: document.querySelector("#user-table [role=status]")?.innerText.trim() ?? "",
		marker: window.__noReload === 1,
	})`)
	all := read(t, ctx, "read the table", readTable)
	if len(all.Names) != 6 {
		t.Errorf("Users lists %q, want the 6 users", all.Names)
	}
	do(t, ctx, "mark the page and type \"ad\"",
		chromedp.Evaluate[chromedp.Void](`window.__noReload = 1`),
		chromedp.SendKeys(chromedp.CSS(admSearch), "ad"),
	)
	search := func(what string, want ...string) {
		t.Helper()
		got := pollUntil(t, ctx, "wait for the table to list "+what, navTimeout, readTable, func(tb table) bool {
			return slices.Equal(tb.Names, want)
		})
		wantStatus := "No users match."
		if len(want) == 1 {
			wantStatus = "1 user"
		} else if len(want) > 1 {
			wantStatus = strconv.Itoa(len(want)) + " users"
		}
		if got.Status != wantStatus {
			t.Errorf("%s: the table says %q, want %q", what, got.Status, wantStatus)
		}
		if !got.Marker {
			t.Errorf("%s: a new page was loaded, want only the table swapped", what)
		}
		q := read(t, ctx, "read the search box", valueOf(admSearch))
		if q == nil || !strings.Contains(got.URL, "q="+url.QueryEscape(*q)) {
			t.Errorf("%s: the URL is %q, want it to carry the search", what, got.URL)
		}
	}
	search(`"ad"`, "Ada Lovelace", "Adele Goldberg")
	do(t, ctx, "type \"ele\" after it", chromedp.SendKeys(chromedp.CSS(admSearch), "ele"))
	search(`"adele"`, "Adele Goldberg")
	do(t, ctx, "search for \"ngô\"", fill(admSearch, "ngô"))
	search(`"ngô" (not ASCII)`, "Zoë Ngô")
	do(t, ctx, "search for \"LOVELACE\"", fill(admSearch, "LOVELACE"))
	search(`"LOVELACE"`, "Ada Lovelace")
	do(t, ctx, "search for \"nobody\"", fill(admSearch, "nobody"))
	search(`"nobody"`)
	// The role filter, with the search emptied.
	do(t, ctx, "empty the search, choose Admin",
		fill(admSearch, ""),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(`+jsString(admRoleFilter)+`); s.value = "admin"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`),
	)
	got := pollUntil(t, ctx, "wait for the admins", navTimeout, readTable, func(tb table) bool { return strings.Contains(tb.URL, "role=admin") && len(tb.Names) == 1 })
	if got.Names[0] != "Hedy Lamarr" || !got.Marker {
		t.Errorf("Role: Admin: %+v", got)
	}
	// The pushed URL works as a page.
	do(t, ctx, "reload", chromedp.Reload())
	got = read(t, ctx, "read the table after the reload", readTable)
	if got.Marker || !slices.Equal(got.Names, []string{"Hedy Lamarr"}) {
		t.Errorf("reloading %s: %+v, want the page loaded again listing only Hedy Lamarr", got.URL, got)
	}
	if v := read(t, ctx, "read the role filter", valueOf(admRoleFilter)); v == nil || *v != "admin" {
		t.Errorf("after the reload the role filter is not Admin")
	}
	lap("search as you type")

	admScreenshots(t, ctx, srv, "zoe@example.com")
	lap("screenshots")
}
