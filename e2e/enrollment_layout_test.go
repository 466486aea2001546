package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// enrollLayout is what TestEnrollmentOptionsLayout measures on the enrollment page.
type enrollLayout struct {
	Current    []string `json:"current"`    // the options' aria-current, in order
	Inside     bool     `json:"inside"`     // both options lie within the column
	Gap        float64  `json:"gap"`        // px between the options and the path's heading
	Registers  int      `json:"registers"`  // times "Register a passkey" is on the page
	SolidFirst []bool   `json:"solidFirst"` // whether each option is drawn solid (not outline)
}

const readEnrollLayout = `(() => {
  const col = document.querySelector("section.enroll").getBoundingClientRect();
  const links = Array.from(document.querySelectorAll(".enroll-options a"));
  const h2 = document.querySelector("#enroll-path h2");
  const opts = document.querySelector(".enroll-options").getBoundingClientRect();
  return {
    current: links.map(a => a.getAttribute("aria-current") || ""),
    inside: links.every(a => { const r = a.getBoundingClientRect(); return r.left >= col.left - 0.5 && r.right <= col.right + 0.5; }),
    gap: h2 ? h2.getBoundingClientRect().top - Math.max(...links.map(a => a.getBoundingClientRect().bottom)) : -1,
    registers: document.body.innerText.split("Register a passkey").length - 1,
    solidFirst: links.map(a => !a.classList.contains("outline")),
  };
})()`

// TestEnrollmentOptionsLayout: the enrollment options stay inside the column at 390 and 1280
// px, the chosen path is marked (aria-current, drawn solid) as htmx swaps it in, its heading
// keeps its distance from them, and "Register a passkey" is said once. Screenshots go to
// /tmp/weftid-enroll-*.png.
func TestEnrollmentOptionsLayout(t *testing.T) {
	const (
		adminEmail = "evelyn@example.com"
		email      = "annie@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Evelyn Boyd Granville", "super_admin", enrollPassword)
	srv.addUser(t, email, "Annie Easley", "user", enrollPassword)
	setEnhanced(t, newBrowser(t), srv, adminEmail)
	ctx := newBrowser(t)
	signInToEnroll(t, ctx, srv, email)

	measure := func(what string) enrollLayout {
		return read(t, ctx, "measure "+what, chromedp.Evaluate[enrollLayout](readEnrollLayout))
	}
	if l := measure("the page"); strings.Join(l.Current, ",") != "," {
		t.Errorf("before choosing, the options' aria-current are %q, want none", l.Current)
	}
	chooseEnrollPath(t, ctx, enrollPasskeyLink, "/login/enroll?path=passkey", enrollRegister)
	l := measure("the passkey path")
	if strings.Join(l.Current, ",") != "page," || fmt.Sprint(l.SolidFirst) != "[true false]" {
		t.Errorf("on the passkey path: aria-current %q, solid %v; want the passkey option marked and solid", l.Current, l.SolidFirst)
	}
	if l.Registers != 1 {
		t.Errorf("on the passkey path \"Register a passkey\" appears %d times, want once", l.Registers)
	}
	chooseEnrollPath(t, ctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	if l := measure("the TOTP path"); strings.Join(l.Current, ",") != ",page" || fmt.Sprint(l.SolidFirst) != "[false true]" {
		t.Errorf("on the TOTP path: aria-current %q, solid %v; want the TOTP option marked and solid", l.Current, l.SolidFirst)
	}
	for _, w := range []int64{390, 1280} {
		do(t, ctx, fmt.Sprintf("emulate %d px", w), chromedp.EmulateViewport(w, 900))
		for _, p := range []string{"/login/enroll?path=passkey", "/login/enroll/totp"} {
			do(t, ctx, "open "+p, chromedp.Navigate(srv.url(p)), chromedp.WaitVisible(chromedp.CSS(enrollPath+" h2")))
			l := measure(fmt.Sprintf("%s at %d px", p, w))
			if !l.Inside {
				t.Errorf("%s at %d px: an option sticks out of the column", p, w)
			}
			if l.Gap < 16 {
				t.Errorf("%s at %d px: the path's heading is %.0f px below the options, want at least 16", p, w, l.Gap)
			}
			if w < 500 {
				checkNoSidewaysScroll(t, ctx, fmt.Sprintf("%s at %d px", p, w))
			}
			saveShot(t, ctx, fmt.Sprintf("/tmp/weftid-enroll-%s-%d.png", map[bool]string{true: "passkey", false: "totp"}[strings.Contains(p, "passkey")], w))
		}
	}
}

// saveShot saves a full-page screenshot (PNG) of the tab to file.
func saveShot(t *testing.T, ctx context.Context, file string) {
	t.Helper()
	png := read(t, ctx, "take a screenshot for "+file, chromedp.FullScreenshot(100))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Errorf("save %s: %v", file, err)
	} else {
		t.Logf("screenshot: %s", file)
	}
}
