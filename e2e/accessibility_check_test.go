package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// a11yPage is one page to check and the status it must answer with.
type a11yPage struct {
	path     string
	status   int64
	keyboard bool // also check the keyboard, at the phone's width
	// reach, when set, brings the browser to the page instead of a navigation to path.
	reach func(t *testing.T, ctx context.Context)
	as    string // who is signed in, for the screenshot's name ("": nobody)
}

// a11yChecker visits pages and collects what fails, to report it all at the end.
type a11yChecker struct {
	t        *testing.T
	srv      *server
	failures []string
	checked  int
}

func (c *a11yChecker) fail(vp a11yViewport, path, format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf("%s at %s: %s", path, vp.name, fmt.Sprintf(format, args...)))
}

// viewport sets the tab's screen (visit checks that window.innerWidth follows).
func (c *a11yChecker) viewport(ctx context.Context, vp a11yViewport) {
	t := c.t
	t.Helper()
	do(t, ctx, "emulate a "+vp.name+" screen", chromedp.EmulateViewport(vp.w, vp.h, chromedp.EmulateScale(vp.scale)))
}

// visit opens p in the tab ctx and checks it at the tab's current viewport vp.
func (c *a11yChecker) visit(ctx context.Context, vp a11yViewport, p a11yPage) {
	t := c.t
	t.Helper()
	path := strings.SplitN(p.path, "?", 2)[0]
	if p.reach != nil {
		p.reach(t, ctx)
	} else {
		resp := read(t, ctx, "open "+p.path, chromedp.NavigateResponse(c.srv.url(p.path)))
		if resp == nil {
			c.fail(vp, p.path, "no response to the navigation")
			return
		}
		if resp.Status != p.status {
			c.fail(vp, p.path, "status %d, want %d", resp.Status, p.status)
		}
	}
	// Deferred scripts (htmx, passkey.js) have run by the load event, which Navigate waits for.
	waitTrue(t, ctx, "wait for "+p.path+" to load", `document.readyState === "complete"`, navTimeout)
	r := read(t, ctx, "audit "+p.path, chromedp.Evaluate[a11yReport](a11yAudit))
	c.checked++
	if got := strings.SplitN(r.Path, "?", 2)[0]; got != path {
		c.fail(vp, p.path, "the browser is on %s, not on the page (redirected?)", r.Path)
		return
	}
	if r.Inner != int(vp.w) {
		c.fail(vp, p.path, "window.innerWidth = %d, want %d: the viewport emulation did not apply", r.Inner, vp.w)
	}
	if r.Scroll > r.Inner+1 {
		c.fail(vp, p.path, "the page scrolls sideways: scrollWidth %d > innerWidth %d; %d elements pass the right edge, the outermost: %s",
			r.Scroll, r.Inner, r.WideCount, strings.Join(r.Wide, "; "))
	}
	for _, f := range r.Unlabeled {
		c.fail(vp, p.path, "form field without an accessible name: %s", f)
	}
	for _, a := range r.Nameless {
		c.fail(vp, p.path, "button or link without text or aria-label: %s", a)
	}
	if len(r.H1s) != 1 {
		c.fail(vp, p.path, "%d h1 elements, want exactly 1: %q", len(r.H1s), r.H1s)
	}
	if r.Mains != 1 {
		c.fail(vp, p.path, "%d <main> elements, want exactly 1", r.Mains)
	}
	if path == "/account/password" {
		switch {
		case !r.Meter:
			c.fail(vp, p.path, "no strength meter region #new_password-meter")
		case r.MeterLive != "polite":
			c.fail(vp, p.path, `the meter region #new_password-meter has aria-live=%q, want "polite"`, r.MeterLive)
		}
	}
	c.layout(ctx, vp, p)
	t.Logf("%-7s %-36s h1=%q fields=%d buttons/links=%d scrollWidth=%d", vp.name, p.path, r.H1s, r.Fields, r.Actions, r.Scroll)
	if p.keyboard && vp.w < 600 {
		c.keyboard(ctx, vp, p)
	}
}

// keyboard presses Tab from the top of the freshly loaded page: the first press must land on
// "Skip to content", and within a11yTabLimit presses the focus must reach the first control or
// link of <main>. A page that autofocuses the first control of <main> has reached it with no
// press at all; there the skip link must come first in the tab order.
func (c *a11yChecker) keyboard(ctx context.Context, vp a11yViewport, p a11yPage) {
	t := c.t
	t.Helper()
	start := read(t, ctx, "read the focus on "+p.path, chromedp.Evaluate[a11yFocus](a11yFocusRead))
	if start.Positive > 0 {
		c.fail(vp, p.path, "%d elements have a positive tabindex, which puts them before everything else in the tab order", start.Positive)
	}
	if start.InMain {
		// The page autofocuses a field (the sign-in pages do): a keyboard user starts in <main>
		// and the first Tab leaves the field, so the skip link is checked in document order.
		if !start.IsFirst {
			c.fail(vp, p.path, "the page starts with the focus on %s, not on the first control of <main> %s", start.Desc, start.First)
		}
		if !start.DocFirstSkip {
			c.fail(vp, p.path, `the first element Tab can reach is %s, want the "Skip to content" link to <main id=main>`, start.DocFirst)
		}
		t.Logf("%-7s %-36s keyboard: the focus starts on %s (autofocus), 0 presses of Tab; first in tab order: %s", vp.name, p.path, start.Desc, start.DocFirst)
		return
	}
	var trail []string
	for i := 1; i <= a11yTabLimit; i++ {
		do(t, ctx, fmt.Sprintf("press Tab (%d) on %s", i, p.path), chromedp.KeyEvent(kb.Tab))
		f := read(t, ctx, "read the focus on "+p.path, chromedp.Evaluate[a11yFocus](a11yFocusRead))
		trail = append(trail, f.Desc)
		if i == 1 && !f.Skip {
			c.fail(vp, p.path, `the first Tab focuses %s, want the "Skip to content" link to <main id=main>`, f.Desc)
		}
		if f.Scrolled {
			c.fail(vp, p.path, "Tab %d scrolled the page sideways to show %s", i, f.Desc)
		}
		if f.IsFirst {
			t.Logf("%-7s %-36s keyboard: %d presses of Tab reach %s", vp.name, p.path, i, f.Desc)
			return
		}
		if f.InMain {
			c.fail(vp, p.path, "Tab %d entered <main> at %s, not at its first control or link %s", i, f.Desc, f.First)
			return
		}
	}
	c.fail(vp, p.path, "%d presses of Tab do not reach the first control or link of <main>; focus went: %s",
		a11yTabLimit, strings.Join(trail, " → "))
}

// a11yBadPage breaks every rule the audit checks, to show that the audit sees it: a block wider
// than a phone (and a wide table inside a scroller, which is fine, but in its far cell an
// absolutely positioned span, which the scroller does not clip), three fields without a name
// (one bare, one in a <label> holding nothing but the select's options, one folded in a closed
// <details>) next to three named ones, two nameless actions next to named ones, two h1, no
// <main>, no skip link.
const a11yBadPage = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>bad</title></head>
<body style="margin:0">
<a href="/somewhere">A link</a>
<h1>One</h1><h1>Two</h1>
<div id="wide" style="width:600px">wide</div>
<div style="overflow-x:auto"><table id="scrolled" style="width:900px"><tr><td>fine</td><td><span id="escapes" style="position:absolute;width:1px;height:1px;overflow:hidden">escapes</span></td></tr></table></div>
<input id="bare">
<label for="named">Named</label><input id="named">
<label>Wrapped <input id="wrapped"></label>
<input id="aria" aria-label="Aria">
<label><select id="options-only"><option>Only an option</option></select></label>
<details><summary>More</summary><input id="folded"></details>
<input type="hidden" name="h"><input type="submit" value="Send">
<button id="empty-button"></button><a id="empty-link" href="/x"><span></span></a>
<button aria-label="Close">×</button><a href="/y"><img src="data:," alt="Home"></a>
</body></html>`

// a11ySelfCheck runs the audit and the keyboard check on a11yBadPage and stops the test if they
// miss what is wrong there: a pass of the real pages means something only if they would fail.
func a11ySelfCheck(t *testing.T, ctx context.Context) {
	t.Helper()
	vp := a11yViewports[0]
	scratch := &a11yChecker{t: t}
	scratch.viewport(ctx, vp)
	do(t, ctx, "open the self-check page", chromedp.Navigate("data:text/html;charset=utf-8,"+url.PathEscape(a11yBadPage)))
	r := read(t, ctx, "audit the self-check page", chromedp.Evaluate[a11yReport](a11yAudit))
	has := func(list []string, id string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, "#"+id) })
	}
	var missed []string
	if r.Inner != 375 || r.Scroll <= r.Inner+1 || !has(r.Wide, "wide") || !has(r.Wide, "escapes") || has(r.Wide, "scrolled") {
		missed = append(missed, fmt.Sprintf("overflow: inner %d, scrollWidth %d, wide %q (want div#wide and span#escapes, not table#scrolled)", r.Inner, r.Scroll, r.Wide))
	}
	if len(r.Unlabeled) != 3 || !has(r.Unlabeled, "bare") || !has(r.Unlabeled, "options-only") || !has(r.Unlabeled, "folded") {
		missed = append(missed, fmt.Sprintf("unlabeled fields %q, want #bare, #options-only and #folded", r.Unlabeled))
	}
	if len(r.Nameless) != 2 || !has(r.Nameless, "empty-button") || !has(r.Nameless, "empty-link") {
		missed = append(missed, fmt.Sprintf("nameless actions %q, want #empty-button and #empty-link", r.Nameless))
	}
	if len(r.H1s) != 2 || r.Mains != 0 {
		missed = append(missed, fmt.Sprintf("h1s %q and %d <main>, want 2 and 0", r.H1s, r.Mains))
	}
	scratch.keyboard(ctx, vp, a11yPage{path: "(self-check page)"})
	if len(scratch.failures) == 0 {
		missed = append(missed, "the keyboard check passed a page with no skip link and no <main>")
	}
	if len(missed) > 0 {
		t.Fatalf("the audit is broken; on a page built to fail it, it missed:\n%s", strings.Join(missed, "\n"))
	}
	t.Logf("self-check: the audit catches every fault of the self-check page; the keyboard check says %q", scratch.failures[0])
}

// a11yUserIDs reads the ids of the rows of Users, by email.
func a11yUserIDs(t *testing.T, ctx context.Context, srv *server) map[string]int64 {
	t.Helper()
	do(t, ctx, "open /users",
		chromedp.Navigate(srv.url("/users")),
		chromedp.WaitVisible(chromedp.CSS(admUserTable)),
	)
	rows := read(t, ctx, "read the rows of Users", chromedp.Evaluate[[][2]string](`Array.from(document.querySelectorAll(`+jsString(admUserRows)+`), tr => [tr.id, tr.cells[1]?.innerText.trim() ?? ""])`))
	ids := map[string]int64{}
	for _, r := range rows {
		id, err := strconv.ParseInt(strings.TrimPrefix(r[0], "user-"), 10, 64)
		if err == nil {
			ids[r[1]] = id
		}
	}
	return ids
}
