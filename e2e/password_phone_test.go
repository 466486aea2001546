package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// checkBar checks the five-step bar: score+1 segments lit.
func checkBar(t *testing.T, password string, m meterState) {
	t.Helper()
	if m.BarTotal != 5 {
		t.Errorf("meter bar for %q: %d segments, want 5", password, m.BarTotal)
		return
	}
	var score int
	if _, err := fmt.Sscan(m.Score, &score); err != nil || score < 0 || score > 4 {
		t.Errorf("meter for %q: data-score=%q, want 0 to 4", password, m.Score)
		return
	}
	if m.BarOn != score+1 {
		t.Errorf("meter bar for %q: %d segments lit, want %d for score %d", password, m.BarOn, score+1, score)
	}
}

// TestPasswordMeterOnPhoneWidth opens Account > Password at 375 px: nothing
// scrolls sideways, before or after the meter shows a verdict.
func TestPasswordMeterOnPhoneWidth(t *testing.T) {
	const (
		email    = "katherine@example.com"
		name     = "Katherine Johnson"
		password = "correct horse battery staple 42"
		weakLong = "aaaaaaaaaaaaaaaaaaaa"
	)
	began := time.Now()
	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	do(t, ctx, "emulate a 375x740 screen", chromedp.EmulateViewport(375, 740))

	pwSignIn(t, ctx, srv, email, password)
	openAccountPassword(t, ctx, srv)
	do(t, ctx, "instrument the meter", instrumentMeter())
	if w := read(t, ctx, "read the viewport width", chromedp.Evaluate[int](`window.innerWidth`)); w != 375 {
		t.Fatalf("window.innerWidth = %d, want 375: the viewport emulation did not apply", w)
	}
	checkNoSidewaysScroll(t, ctx, "before typing")

	do(t, ctx, "type a long but weak password", fill(pwNew, weakLong))
	m := waitMeterFor(t, ctx, weakLong)
	t.Logf("meter at 375 px: %v", m)
	if m.Label == "" || m.BarTotal != 5 || len(m.Unmet) == 0 {
		t.Errorf("meter at 375 px: %v, want a label, a 5-step bar and an unmet requirement", m)
	}
	checkNoSidewaysScroll(t, ctx, "with the meter showing")

	shot := read(t, ctx, "take a screenshot", chromedp.FullScreenshot(100) /* 100: PNG */)
	const shotFile = "/tmp/weftid-meter-375.png"
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Errorf("save the screenshot: %v", err)
	} else {
		t.Logf("screenshot of the meter at 375 px: %s", shotFile)
	}
	t.Logf("done in %v", time.Since(began).Round(10*time.Millisecond))
}

// checkNoSidewaysScroll fails the test if the page is wider than the window,
// naming the elements that stick out.
func checkNoSidewaysScroll(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	type widths struct {
		Scroll int      `json:"scroll"`
		Inner  int      `json:"inner"`
		Wide   []string `json:"wide"`
	}
	w := read(t, ctx, "measure the page "+when, chromedp.Evaluate[widths](`(() => {
		const inner = window.innerWidth;
		const wide = Array.from(document.body.querySelectorAll("*"))
			.filter(e => e.getBoundingClientRect().right > inner + 0.5)
			.slice(0, 10)
			.map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " right=" + Math.round(e.getBoundingClientRect().right));
		return {scroll: document.documentElement.scrollWidth, inner, wide};
	})()`))
	if w.Scroll > w.Inner {
		t.Errorf("%s: the page scrolls sideways at %d px: scrollWidth %d; elements past the edge: %q", when, w.Inner, w.Scroll, w.Wide)
	}
}

// TestPasswordMeterSendsOnlyTheNewPassword checks what the live meter posts
// to /password/strength: the field being typed, never the current password
// that sits in the same form. htmx adds the values of the enclosing form to a
// non-GET request, so without hx-params every debounced check sends it.
func TestPasswordMeterSendsOnlyTheNewPassword(t *testing.T) {
	const (
		email    = "mary@example.com"
		name     = "Mary Jackson"
		password = "correct horse battery staple 42"
		typed    = "password"
	)
	srv := startServer(t)
	srv.addUser(t, email, name, "user", password)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, email, password)
	openAccountPassword(t, ctx, srv)
	do(t, ctx, "instrument the meter", instrumentMeter())
	do(t, ctx, "type the current password, then a new one",
		fill(pwCurrent, password),
		fill(pwNew, typed),
	)
	m := waitMeterFor(t, ctx, typed)
	t.Logf("fields the strength check sent: %q", m.Params)
	if !slices.Contains(m.Params, "new_password") {
		t.Errorf("the strength check did not send new_password (fields sent: %q)", m.Params)
	}
	for _, f := range []string{"current_password", "confirm_password"} {
		if slices.Contains(m.Params, f) {
			t.Errorf("the strength check posts %s to /password/strength (fields sent: %q); it needs only new_password", f, m.Params)
		}
	}
}
