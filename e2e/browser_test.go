package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// testTimeout bounds everything one test does in its browser.
	testTimeout = 60 * time.Second
	// startTimeout bounds the start of Chromium.
	startTimeout = 30 * time.Second
	// stepTimeout bounds one group of steps run with do or read, so that an
	// element that never appears fails the step with its name, not the test
	// with a bare deadline.
	stepTimeout = 15 * time.Second
	// navTimeout is how long waitPath waits for the browser to arrive.
	navTimeout = 10 * time.Second
)

// findChromium looks for the browser once: $CHROMIUM_PATH, else
// /usr/bin/chromium, else chromium or chromium-browser on PATH.
var findChromium = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM_PATH=%q is not an executable (%v): install Chromium with `apt-get install chromium`, or fix CHROMIUM_PATH", p, err)
		}
		return path, nil
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("the browser tests need Chromium, and none was found (tried $CHROMIUM_PATH, /usr/bin/chromium, chromium and chromium-browser on PATH): install it with `apt-get install chromium`, or set CHROMIUM_PATH to its executable")
})

// newBrowser starts a headless Chromium with a fresh profile for this test
// and returns the context of its first tab, which ends after testTimeout.
// The browser stops when the test ends; if the test failed, its page is
// dumped first (see dumpPage). Without Chromium the test fails.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, testTimeout)
}

// newBrowserFor is newBrowser whose first tab's context ends after timeout: for a test that
// visits many pages (the accessibility test), on a machine that may be busy.
func newBrowserFor(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	execPath, err := findChromium()
	if err != nil {
		t.Fatal(err)
	}

	output := new(syncBuffer)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox, // Chromium refuses to start sandboxed as root, e.g. in a container
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancel := chromedp.NewContext(allocCtx)
	cancelBrowser := sync.OnceFunc(cancel)
	t.Cleanup(cancelBrowser)

	// The first Run ties the browser's life to the context it gets, so start
	// it with browserCtx, which has no deadline, and stop a start that hangs
	// with a timer instead.
	start := time.Now()
	watchdog := time.AfterFunc(startTimeout, cancelBrowser)
	err = chromedp.Do(browserCtx)
	if !watchdog.Stop() {
		t.Fatalf("Chromium (%s) did not start within %v\n%s", execPath, startTimeout, output)
	}
	if err != nil {
		t.Fatalf("start Chromium (%s): %v\n%s", execPath, err, output)
	}
	t.Logf("Chromium started in %v", time.Since(start).Round(time.Millisecond))

	ctx, cancelTest := context.WithTimeout(browserCtx, timeout)
	t.Cleanup(cancelTest)
	t.Cleanup(func() {
		if t.Failed() {
			dumpPage(t, browserCtx, output)
		}
	})
	return ctx
}

// dumpPage logs the page's URL and text and saves a screenshot, for a test
// that failed. browserCtx must not have ended (the test's own context may
// have). The screenshot goes to $E2E_ARTIFACTS, or else to a new directory
// under the system's temporary directory, because t.TempDir is removed when
// the test ends.
func dumpPage(t *testing.T, browserCtx context.Context, output *syncBuffer) {
	ctx, cancel := context.WithTimeout(browserCtx, 10*time.Second)
	defer cancel()

	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Logf("page dump: the browser does not answer (%v); its output:\n%s", err, output)
		return
	}
	t.Logf("page dump: URL %s", loc)
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : "(no body)"`)); err != nil {
		t.Logf("page dump: read the text: %v", err)
	} else {
		t.Logf("page dump: text:\n%s", text)
	}

	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("page dump: screenshot: %v", err)
		return
	}
	dir := os.Getenv("E2E_ARTIFACTS")
	if dir == "" {
		dir, err = os.MkdirTemp("", "weftid-e2e-failure-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Logf("page dump: screenshot directory: %v", err)
		return
	}
	file := filepath.Join(dir, fileName(t.Name())+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Logf("page dump: save the screenshot: %v", err)
		return
	}
	t.Logf("page dump: screenshot saved to %s", file)
}

// fileName turns a test name such as TestA/sub_case into a file name.
func fileName(testName string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, testName)
}

// do runs steps in the browser within stepTimeout and fails the test,
// naming the step with what, when one of them fails.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// read runs one action that returns a value within stepTimeout and fails
// the test, naming the step with what, when it fails.
func read[T any](t *testing.T, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// fill waits for the input that matches the CSS selector sel, empties it and
// types value into it key by key, as a person would.
func fill(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		// Not chromedp.SetValue(sel, ""): v0.23.0 passes the empty string
		// to the page as undefined, sets "undefined" and fails.
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsString(sel)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), value),
	)
}

// pathname returns the path of the page's URL, location.pathname.
func pathname() chromedp.Action[string] {
	return chromedp.Evaluate[string](`location.pathname`)
}

// currentPath returns the path of the page's URL.
func currentPath(t *testing.T, ctx context.Context) string {
	t.Helper()
	return read(t, ctx, "read the page's path", pathname())
}

// waitPath waits, up to navTimeout, until the page's path is want: the way to
// wait for a navigation that a click or a redirect starts. It polls, because
// a form post, a redirect and an htmx-boosted swap all end the same way.
func waitPath(want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		ctx, cancel := context.WithTimeout(ctx, navTimeout)
		defer cancel()
		got := "(unknown)"
		for {
			// One read can hang while a document is replaced; bound it.
			readCtx, cancelRead := context.WithTimeout(ctx, 2*time.Second)
			p, err := pathname()(readCtx, tab)
			cancelRead()
			if err == nil {
				if p == want {
					return nil
				}
				got = p
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("the page did not reach the path %q: it is at %q (%w)", want, got, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}

// removeAlerts removes every [role=alert] element from the page. Run it
// before a step that must show an alert, then wait for one: an alert that is
// visible afterwards was rendered by that step.
func removeAlerts() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("[role=alert]").forEach(e => e.remove())`)
}

// valueOf returns the value property of the first element that matches the
// CSS selector sel, or nil when nothing matches. Unlike chromedp.Value it does
// not wait for the element, so it can check that one exists.
func valueOf(sel string) chromedp.Action[*string] {
	return chromedp.Evaluate[*string](`document.querySelector(` + jsString(sel) + `)?.value ?? null`)
}

// textOfAll returns the innerText of every element that matches the CSS
// selector sel, one per line, or "" when nothing matches. It does not wait.
func textOfAll(sel string) chromedp.Action[string] {
	return chromedp.Evaluate[string](`Array.from(document.querySelectorAll(` + jsString(sel) + `), e => e.innerText).join("\n")`)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}
