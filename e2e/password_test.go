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
	"github.com/weftid/weftid/mail/mailtest"
)

// Selectors of Account > Password (views/account.templ, views/password.templ).
const (
	pwForm          = `form[action="/account/password"]`
	pwCurrent       = `#current_password`
	pwNew           = `#new_password`
	pwConfirm       = `#confirm_password`
	pwSubmit        = pwForm + ` button[type=submit]`
	pwMeterRegion   = `#new_password-meter`
	pwNotice        = `.notice[role=status]`
	pwChangedNotice = "Your password was changed"
)

// meterTimeout is how long the live meter has to show the verdict on what
// was typed: a 250 ms debounce plus one request to /password/strength.
const meterTimeout = 10 * time.Second

// meterState is what the strength meter under #new_password shows, read in
// one go by readMeter. Requirement texts are without their visually hidden
// "Met: " / "Not met: " prefix.
type meterState struct {
	Present     bool     `json:"present"`  // #new_password-meter .meter exists
	Score       string   `json:"score"`    // data-score
	OK          string   `json:"ok"`       // data-ok
	Empty       string   `json:"empty"`    // data-empty
	AriaLive    string   `json:"ariaLive"` // aria-live of the region
	Label       string   `json:"label"`    // "Strength: Very weak"
	Crack       string   `json:"crack"`    // "· Time to crack: less than a second"
	Warning     string   `json:"warning"`
	Suggestions []string `json:"suggestions"`
	Met         []string `json:"met"`
	Unmet       []string `json:"unmet"`
	BarOn       int      `json:"barOn"`    // lit segments of the bar
	BarTotal    int      `json:"barTotal"` // all segments of the bar
	// MeterFor is the value of #new_password that the last swapped-in
	// verdict was computed for (recorded by instrumentMeter), and Requests
	// how many strength requests the field has sent since then.
	MeterFor *string  `json:"meterFor"`
	Requests int      `json:"requests"`
	Params   []string `json:"params"` // names of the fields the last request sent
	Busy     bool     `json:"busy"`   // a strength request is in flight
}

func (m meterState) String() string {
	f := "(none)"
	if m.MeterFor != nil {
		f = fmt.Sprintf("%q", *m.MeterFor)
	}
	return fmt.Sprintf("{present=%v score=%q ok=%q empty=%q label=%q crack=%q warning=%q suggestions=%q met=%q unmet=%q bar=%d/%d verdictFor=%s requests=%d busy=%v}",
		m.Present, m.Score, m.OK, m.Empty, m.Label, m.Crack, m.Warning, m.Suggestions, m.Met, m.Unmet, m.BarOn, m.BarTotal, f, m.Requests, m.Busy)
}

// readMeter reads the meter's state. It does not wait.
func readMeter() chromedp.Action[meterState] {
	return chromedp.Evaluate[meterState](`(() => {
		const region = document.querySelector(` + jsString(pwMeterRegion) + `);
		const m = region && region.querySelector(".meter");
		const input = document.querySelector(` + jsString(pwNew) + `);
		const base = {
			meterFor: window.__meterFor === undefined ? null : window.__meterFor,
			requests: window.__meterRequests || 0,
			params: window.__meterParams || [],
			busy: !!(input && input.classList.contains("htmx-request")),
		};
		if (!m) return Object.assign(base, {present: false});
		const texts = sel => Array.from(m.querySelectorAll(sel), e => e.innerText.trim());
		const reqs = sel => Array.from(m.querySelectorAll(sel), li => {
			const c = li.cloneNode(true);
			c.querySelectorAll(".visually-hidden").forEach(e => e.remove());
			return c.textContent.trim();
		});
		return Object.assign(base, {
			present: true,
			score: m.dataset.score ?? "",
			ok: m.dataset.ok ?? "",
			empty: m.dataset.empty ?? "",
			ariaLive: region.getAttribute("aria-live") ?? "",
			label: m.querySelector(".meter-label strong")?.innerText.trim() ?? "",
			crack: m.querySelector(".meter-label .muted")?.innerText.trim() ?? "",
			warning: m.querySelector(".meter-warning")?.innerText.trim() ?? "",
			suggestions: texts(".meter-suggestions li"),
			met: reqs(".requirements li.met"),
			unmet: reqs(".requirements li.unmet"),
			barOn: m.querySelectorAll(".meter-bar span.on").length,
			barTotal: m.querySelectorAll(".meter-bar span").length,
		});
	})()`)
}

// instrumentMeter records, on the current document, which value of
// #new_password the meter's verdict belongs to: htmx stamps each strength
// request with the value it sends, and when its answer has been swapped in,
// window.__meterFor is that value. So a test can wait for the verdict on
// exactly what it typed, not on some earlier prefix of it. It also sets
// window.__noReload, which a reload would lose.
func instrumentMeter() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => {
		window.__noReload = 42;
		window.__meterRequests = 0;
		window.__meterParams = [];
		delete window.__meterFor;
		document.addEventListener("htmx:beforeRequest", e => {
			const d = e.detail;
			if (!d || !d.elt || d.elt.id !== "new_password") return;
			window.__meterRequests++;
			const fd = d.requestConfig && d.requestConfig.formData;
			window.__meterParams = fd ? Array.from(new Set(fd.keys())) : [];
			d.xhr.__sent = fd && fd.has("new_password") ? fd.get("new_password") : d.elt.value;
		});
		document.addEventListener("htmx:afterSettle", e => {
			const x = e.detail && e.detail.xhr;
			if (x && "__sent" in x) window.__meterFor = x.__sent;
		});
	})()`)
}

// waitMeterFor types nothing: it waits until the meter shows the verdict on
// value (the answer to the request that sent exactly value, with no request
// in flight) and returns what it shows.
func waitMeterFor(t *testing.T, ctx context.Context, value string) meterState {
	t.Helper()
	return pollUntil(t, ctx, fmt.Sprintf("wait for the meter's verdict on %q", value), meterTimeout, readMeter(),
		func(m meterState) bool {
			return m.Present && !m.Busy && m.MeterFor != nil && *m.MeterFor == value
		})
}

// pollUntil runs action every 100 ms until ok accepts its value or timeout
// passes, and fails the test with the last value it saw.
func pollUntil[T any](t *testing.T, ctx context.Context, what string, timeout time.Duration, action chromedp.Action[T], ok func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		last    T
		lastErr error
		seen    bool
	)
	for {
		readCtx, cancelRead := context.WithTimeout(ctx, 2*time.Second)
		v, err := chromedp.Run(readCtx, action)
		cancelRead()
		if err == nil {
			if ok(v) {
				return v
			}
			last, seen, lastErr = v, true, nil
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if !seen {
				t.Fatalf("%s: nothing read within %v: %v", what, timeout, lastErr)
			}
			t.Fatalf("%s: not within %v; last seen: %v (last error: %v)", what, timeout, last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// jsTruthy evaluates a JavaScript expression as a boolean.
func jsTruthy(expr string) chromedp.Action[bool] {
	return chromedp.Evaluate[bool](`!!(` + expr + `)`)
}

// waitTrue polls the JavaScript expression expr until it is truthy.
func waitTrue(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	pollUntil(t, ctx, what, timeout, jsTruthy(expr), func(b bool) bool { return b })
}

// pwSignIn signs in through the browser as login_test.go does: password on
// /login, then the code that the mail server received, ending on /dashboard.
func pwSignIn(t *testing.T, ctx context.Context, srv *server, email, password string) {
	t.Helper()
	signInWithCode(t, ctx, srv, email, password, "/dashboard")
}

// signInWithCode signs in with the password and then the code the mail server received, and
// waits for the page at path (and for each of then) that the sign-in leads to.
func signInWithCode(t *testing.T, ctx context.Context, srv *server, email, password, path string, then ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	code := passwordThenCode(t, ctx, srv, email, password)
	do(t, ctx, "submit the sign-in code", append([]chromedp.Action[chromedp.Void]{
		fill(codeInput, code),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath(path),
	}, then...)...)
}

// passwordThenCode signs in with email and password, waits for the code page and returns the
// code from the mail that was sent.
func passwordThenCode(t *testing.T, ctx context.Context, srv *server, email, password string) string {
	t.Helper()
	do(t, ctx, "sign in as "+email,
		chromedp.Navigate(srv.url("/login")),
		fill(loginEmail, email),
		fill(loginPassword, password),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
	)
	mailCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mailCtx, email, codeSubject)
	if err != nil {
		t.Fatalf("wait for the sign-in code mail: %v", err)
	}
	code := mailtest.FindCode(msg.Text)
	if code == "" {
		t.Fatalf("no 6-digit code in the mail's text:\n%s", msg.Text)
	}
	return code
}

// openAccountPassword opens Account > Password and waits for its form.
func openAccountPassword(t *testing.T, ctx context.Context, srv *server) {
	t.Helper()
	do(t, ctx, "open /account/password",
		chromedp.Navigate(srv.url("/account/password")),
		waitPath("/account/password"),
		chromedp.WaitVisible(chromedp.CSS(pwNew)),
		chromedp.WaitVisible(chromedp.CSS(pwSubmit)),
	)
	// The meter is driven by htmx, loaded with defer: wait until it has
	// processed the field, or typed keys would go unheard.
	waitTrue(t, ctx, "wait for htmx to process the page",
		`window.htmx && document.readyState === "complete" && document.querySelector(`+jsString(pwNew)+`)["htmx-internal-data"]`, stepTimeout)
}

// submitAndWaitNewPage submits the change-password form and waits until a
// new document has loaded (the post answers with a page or a redirect to the
// same path, so waitPath cannot tell).
func submitAndWaitNewPage(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	do(t, ctx, what,
		chromedp.Evaluate[chromedp.Void](`window.__beforeSubmit = 1`),
		chromedp.Click(chromedp.CSS(pwSubmit)),
	)
	waitTrue(t, ctx, what+": wait for the answer page",
		`window.__beforeSubmit === undefined && document.readyState === "complete" && document.querySelector(`+jsString(pwForm)+`)`, navTimeout)
}

// TestPasswordMeterAndChange types into the change-password field and sees
// the live meter change without a reload (label, crack time, feedback,
// requirements); a weak password is then refused with the same words the
// meter showed, a strong one is accepted, and it signs the user in.
func TestPasswordMeterAndChange(t *testing.T) {
	const (
		email    = "grace@example.com"
		name     = "Grace Hopper"
		oldPass  = "correct horse battery staple 42"
		weak     = "password"
		strong   = "violet tractor juggles quietly 1987 marmalade"
		weakLong = "aaaaaaaaaaaaaaaaaaaa" // meets the length, not the strength
	)
	began := time.Now()
	lap := func(what string) { t.Logf("%-45s %6v", what, time.Since(began).Round(10*time.Millisecond)) }

	srv := startServer(t)
	srv.addUser(t, email, name, "user", oldPass)
	ctx := newBrowser(t)
	lap("server and browser up")

	pwSignIn(t, ctx, srv, email, oldPass)
	lap("signed in")
	openAccountPassword(t, ctx, srv)
	do(t, ctx, "instrument the meter", instrumentMeter())

	// Before typing: an empty verdict, every requirement unmet, no label.
	m := read(t, ctx, "read the meter before typing", readMeter())
	if !m.Present || m.Empty != "true" || m.OK != "false" || m.Label != "" || m.BarTotal != 0 {
		t.Errorf("meter before typing: got %v, want an empty verdict (data-empty=true, data-ok=false, no label, no bar)", m)
	}
	if m.AriaLive != "polite" {
		t.Errorf("meter region %s: aria-live=%q, want \"polite\"", pwMeterRegion, m.AriaLive)
	}
	if got := read(t, ctx, "read aria-describedby", chromedp.Evaluate[string](`document.querySelector(`+jsString(pwNew)+`).getAttribute("aria-describedby") ?? ""`)); got != "new_password-meter" {
		t.Errorf("#new_password aria-describedby=%q, want %q (the meter)", got, "new_password-meter")
	}

	// 1. A weak password, key by key.
	do(t, ctx, "type a weak password", fill(pwNew, weak))
	m = waitMeterFor(t, ctx, weak)
	lap("meter shows the weak verdict")
	t.Logf("meter for %q: %v", weak, m)
	if m.OK != "false" || m.Empty != "false" || m.Score == "" {
		t.Errorf("meter for %q: data-ok=%q data-empty=%q data-score=%q, want false, false and a score", weak, m.OK, m.Empty, m.Score)
	}
	if m.Label != "Strength: Very weak" && m.Label != "Strength: Weak" {
		t.Errorf("meter label for %q: %q, want \"Strength: Very weak\" or \"Strength: Weak\"", weak, m.Label)
	}
	if !strings.Contains(m.Crack, "Time to crack: ") || strings.TrimSpace(m.Crack[strings.Index(m.Crack, "Time to crack: ")+len("Time to crack: "):]) == "" {
		t.Errorf("meter crack time for %q: %q, want \"Time to crack: <something>\"", weak, m.Crack)
	}
	if m.Warning == "" && len(m.Suggestions) == 0 {
		t.Errorf("meter for %q shows neither a warning nor a suggestion: %v", weak, m)
	}
	if !slices.ContainsFunc(m.Suggestions, func(s string) bool { return strings.Contains(s, "Add another word or two") }) && m.Warning == "" {
		t.Errorf("meter for %q: suggestions %q lack \"Add another word or two\" and there is no warning", weak, m.Suggestions)
	}
	if !slices.Contains(m.Unmet, "Strength at least Strong") {
		t.Errorf("meter for %q: unmet requirements %q, want \"Strength at least Strong\" among them", weak, m.Unmet)
	}
	checkBar(t, weak, m)

	// 2. A strong passphrase: the verdict turns.
	do(t, ctx, "type a strong passphrase", fill(pwNew, strong))
	m = waitMeterFor(t, ctx, strong)
	lap("meter shows the strong verdict")
	t.Logf("meter for %q: %v", strong, m)
	if m.OK != "true" {
		t.Errorf("meter for the strong passphrase: data-ok=%q, want true (%v)", m.OK, m)
	}
	if m.Label != "Strength: Strong" && m.Label != "Strength: Very strong" {
		t.Errorf("meter label for the strong passphrase: %q, want Strong or Very strong", m.Label)
	}
	if len(m.Unmet) != 0 || len(m.Met) == 0 {
		t.Errorf("requirements for the strong passphrase: met %q, unmet %q; want all met", m.Met, m.Unmet)
	}
	checkBar(t, strong, m)

	// 3. Long but weak: only the strength is missing.
	do(t, ctx, "type a long but weak password", fill(pwNew, weakLong))
	meterWeakLong := waitMeterFor(t, ctx, weakLong)
	lap("meter shows the long-weak verdict")
	t.Logf("meter for %q: %v", weakLong, meterWeakLong)
	if meterWeakLong.OK != "false" || len(meterWeakLong.Unmet) == 0 {
		t.Fatalf("meter for %q: data-ok=%q, unmet %q; want it refused with a reason", weakLong, meterWeakLong.OK, meterWeakLong.Unmet)
	}
	checkBar(t, weakLong, meterWeakLong)

	// All of that happened in one document.
	if still := read(t, ctx, "check the page was not reloaded", chromedp.Evaluate[bool](`window.__noReload === 42`)); !still {
		t.Errorf("the page was reloaded while typing (window.__noReload is gone)")
	}
	t.Logf("strength requests sent while typing %d+%d+%d characters: %d; fields sent: %q",
		len(weak), len(strong), len(weakLong), meterWeakLong.Requests, meterWeakLong.Params)

	// The screenshot for the lead: desktop width, a verdict with feedback.
	shot := read(t, ctx, "take a screenshot", chromedp.FullScreenshot(100) /* 100: PNG */)
	const shotFile = "/tmp/weftid-meter.png"
	if err := os.WriteFile(shotFile, shot, 0o644); err != nil {
		t.Errorf("save the screenshot: %v", err)
	} else {
		t.Logf("screenshot of the meter at 1280 px: %s", shotFile)
	}

	// 4. Submit the long-weak password: refused with the meter's words.
	do(t, ctx, "fill the form with the long-weak password",
		fill(pwCurrent, oldPass),
		fill(pwConfirm, weakLong),
	)
	submitAndWaitNewPage(t, ctx, "submit the long-weak password")
	lap("weak password submitted")
	if got := currentPath(t, ctx); got != "/account/password" {
		t.Errorf("after a refused password: path %q, want /account/password", got)
	}
	status := read(t, ctx, "read the status", chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0]?.responseStatus ?? 0`))
	t.Logf("a refused password answers %d", status)
	if status != 200 && status != 422 {
		t.Errorf("a refused password answers %d, want the form again (200 or 422)", status)
	}
	alertText := pollUntil(t, ctx, "wait for the error list", stepTimeout, textOfAll(alert), func(s string) bool { return s != "" })
	t.Logf("error list:\n%s", alertText)
	for _, u := range meterWeakLong.Unmet {
		if !strings.Contains(alertText, u) {
			t.Errorf("the error list does not repeat the meter's unmet requirement %q:\n%s", u, alertText)
		}
	}
	if meterWeakLong.Warning != "" && !strings.Contains(alertText, meterWeakLong.Warning) {
		t.Errorf("the error list does not repeat the meter's warning %q:\n%s", meterWeakLong.Warning, alertText)
	}
	if strings.Contains(alertText, pwChangedNotice) {
		t.Errorf("a refused password shows %q", pwChangedNotice)
	}
	if v := read(t, ctx, "read the new password field", valueOf(pwNew)); v == nil || *v != "" {
		t.Errorf("after a refused password the new password field holds %v, want it present and empty", v)
	}
	after := read(t, ctx, "read the meter after the refusal", readMeter())
	t.Logf("meter on the refusal page (field empty): %v", after)

	// 5. The strong passphrase is accepted.
	do(t, ctx, "fill the form with the strong passphrase",
		fill(pwCurrent, oldPass),
		fill(pwNew, strong),
		fill(pwConfirm, strong),
	)
	submitAndWaitNewPage(t, ctx, "submit the strong passphrase")
	lap("strong password submitted")
	if got := currentPath(t, ctx); got != "/account/password" {
		t.Errorf("after a password change: path %q, want /account/password", got)
	}
	notice := pollUntil(t, ctx, "wait for the notice", stepTimeout, textOfAll(pwNotice), func(s string) bool { return s != "" })
	if !strings.Contains(notice, pwChangedNotice) {
		t.Errorf("after a password change: notice %q, want it to contain %q", notice, pwChangedNotice)
	}
	if got := read(t, ctx, "look for an error list", textOfAll(alert)); got != "" {
		t.Errorf("after a password change: an alert shows %q", got)
	}

	// Sign out; the old password no longer works, the new one does.
	do(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(logoutButton)),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(loginSubmit)),
	)
	do(t, ctx, "sign in with the old password",
		removeAlerts(),
		fill(loginEmail, email),
		fill(loginPassword, oldPass),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		chromedp.WaitVisible(chromedp.CSS(alert)),
	)
	if got := currentPath(t, ctx); got != "/login" {
		t.Errorf("the old password after the change: path %q, want /login", got)
	}
	pwSignIn(t, ctx, srv, email, strong)
	lap("signed in with the new password")
	if d := time.Since(began); d > 30*time.Second {
		t.Logf("note: the test took %v, over the 30 s budget", d.Round(time.Millisecond))
	}
}
