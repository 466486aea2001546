package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The layout half of the page-by-page check (issue 14): on every page the accessibility test
// visits, no control (button, field, select, button-styled link) sticks out of the box it is
// laid out in, and a full-page screenshot is saved for a person to look at. Every name in this
// file starts with lay.

// layScreenshotDir is where the screenshots go, relative to the e2e package (the directory `go
// test` runs it in). It is git-ignored; the README names it.
const layScreenshotDir = "screenshots"

// layReport is what layAudit reads from a page.
type layReport struct {
	Checked  int      `json:"checked"`
	Overflow []string `json:"overflow"`
}

// layAudit compares the box of every shown control with the box of its containing block: the
// nearest ancestor that is not inline (for a static or relative control), its offsetParent (an
// absolute one), the viewport (a fixed one). A control that passes the left or the right edge of
// that box by more than a pixel sticks out. Visually hidden controls (1 px) do not count.
const layAudit = `(() => {
	const describe = e => {
		let s = e.tagName.toLowerCase();
		if (e.id) s += "#" + e.id;
		for (const a of ["type", "name", "aria-label"]) {
			const v = e.getAttribute(a);
			if (v !== null) s += "[" + a + "=" + JSON.stringify(v.slice(0, 40)) + "]";
		}
		const text = (e.innerText || "").trim().replace(/\s+/g, " ");
		if (text && !["INPUT", "SELECT", "TEXTAREA"].includes(e.tagName)) s += " " + JSON.stringify(text.slice(0, 40));
		return s;
	};
	const block = e => {
		const pos = getComputedStyle(e).position;
		if (pos === "fixed") return null;
		if (pos === "absolute") return e.offsetParent;
		for (let x = e.parentElement; x; x = x.parentElement) {
			if (!["inline", "contents"].includes(getComputedStyle(x).display)) return x;
		}
		return null;
	};
	const overflow = [];
	let checked = 0;
	const sel = "button, input:not([type=hidden]), select, textarea, [role=button]";
	for (const e of document.querySelectorAll(sel)) {
		if (!e.checkVisibility({visibilityProperty: true})) continue;
		const r = e.getBoundingClientRect();
		if (r.width <= 1 || r.height <= 1) continue;
		checked++;
		const cb = block(e);
		const box = cb ? cb.getBoundingClientRect() : {left: 0, right: window.innerWidth};
		const name = cb ? describe(cb) : "the viewport";
		if (r.left < box.left - 1 || r.right > box.right + 1) {
			overflow.push(describe(e) + " spans " + Math.round(r.left) + "–" + Math.round(r.right) +
				", its containing block " + name + " " + Math.round(box.left) + "–" + Math.round(box.right));
		}
	}
	return {checked, overflow: overflow.slice(0, 12)};
})()`

// layout checks the controls of the page the tab shows and saves its screenshot as
// screenshots/<who>_<path>_<width>.png.
func (c *a11yChecker) layout(ctx context.Context, vp a11yViewport, p a11yPage) {
	t := c.t
	t.Helper()
	r := read(t, ctx, "check the controls of "+p.path, chromedp.Evaluate[layReport](layAudit))
	for _, o := range r.Overflow {
		c.fail(vp, p.path, "a control sticks out of its box: %s", o)
	}
	if !vp.shots {
		return
	}
	shot := read(t, ctx, "screenshot "+p.path, chromedp.FullScreenshot(100) /* 100: PNG */)
	who := p.as
	if who == "" {
		who = "signed-out"
	}
	file := filepath.Join(layScreenshotDir, fmt.Sprintf("%s_%s_%s.png", who, layFileName(p.path), vp.name))
	if err := os.MkdirAll(layScreenshotDir, 0o755); err != nil {
		t.Errorf("screenshot directory: %v", err)
		return
	}
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Errorf("save the screenshot: %v", err)
	}
}

// layFileName turns a path such as /users/3/profile into users_3_profile.
func layFileName(path string) string {
	path = strings.Trim(strings.SplitN(path, "?", 2)[0], "/")
	if path == "" {
		return "root"
	}
	return fileName(path)
}

// layBadPage has a button wider than its column and a field pushed out of its box, next to
// controls that fit, a visually hidden one and one in a closed <details>.
const layBadPage = `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>bad</title></head>
<body style="margin:0">
<div style="width:200px"><button id="too-wide" style="width:300px">Too wide</button><button id="fits">Fits</button></div>
<div style="width:200px;display:flex"><input id="pushed" style="margin-left:150px;width:100px;flex:none" aria-label="Pushed"></div>
<input id="hidden-ok" style="position:absolute;width:1px;height:1px;overflow:hidden" aria-label="Hidden">
<details><summary>More</summary><button style="width:2000px">Folded</button></details>
</body></html>`

// laySelfCheck runs layAudit on layBadPage and stops the test if it does not find exactly the
// two controls that stick out.
func laySelfCheck(t *testing.T, ctx context.Context) {
	t.Helper()
	do(t, ctx, "open the layout self-check page", chromedp.Navigate("data:text/html;charset=utf-8,"+url.PathEscape(layBadPage)))
	r := read(t, ctx, "check the layout self-check page", chromedp.Evaluate[layReport](layAudit))
	if len(r.Overflow) != 2 || !strings.Contains(r.Overflow[0], "#too-wide") || !strings.Contains(r.Overflow[1], "#pushed") {
		t.Fatalf("the layout check is broken: on a page built to fail it, it found %q; want #too-wide and #pushed", r.Overflow)
	}
}
