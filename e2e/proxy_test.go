package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail/mailtest"
)

// Forward authentication through real proxies (handlers/forward_auth.go, services/proxy): Caddy
// and nginx, configured as the README says, in front of an app that echoes its headers. Names
// in this file start with fa.
const (
	faPassword  = "correct horse battery staple 42"
	faAdmin     = "grace@example.com"
	faUser      = "ada@example.com"
	faUserName  = "Ada Lovelace"
	faRefused   = "This sign-in link does not work"
	faEchoSel   = `#echo`
	faProxyForm = `form[action="/applications/proxy"]`
)

// faRegister registers a proxied app at host through Applications, as the admin signed in in ctx.
func faRegister(t *testing.T, ctx context.Context, srv *server, name, host string) {
	t.Helper()
	do(t, ctx, "register the proxied app "+host,
		chromedp.Navigate(srv.url("/applications")),
		chromedp.Click(chromedp.CSS(`a[href="/applications/proxy/new"]`)),
		waitPath("/applications/proxy/new"),
		fill(faProxyForm+` #name`, name),
		fill(faProxyForm+` #host`, host),
		chromedp.Click(chromedp.CSS(faProxyForm+` button[type=submit]`)),
	)
	waitTrue(t, ctx, "wait for the app's page", `location.pathname.startsWith("/applications/proxy/") && !location.pathname.endsWith("/new")`, navTimeout)
	if n := read(t, ctx, "read the notice", textOfAll(`[role=status]`)); !strings.Contains(n, "The proxied app is registered.") {
		t.Fatalf("after registering %s: notice %q, alerts %q", host, n, read(t, ctx, "read alerts", textOfAll(alert)))
	}
}

// faEcho waits for the echo app's page at path on p's host and returns the headers it shows.
func faEcho(t *testing.T, ctx context.Context, p proxied, path string) map[string]string {
	t.Helper()
	waitTrue(t, ctx, "wait for the app at "+p.host+path,
		`location.host === `+jsString(p.host)+` && location.pathname === `+jsString(path)+` && document.querySelector(`+jsString(faEchoSel)+`)`, navTimeout)
	return echoed(read(t, ctx, "read what the app got", chromedp.Text(chromedp.CSS(faEchoSel))))
}

// faExpectUser checks the headers the app got for Ada, who is in no group.
func faExpectUser(t *testing.T, got map[string]string, path string) {
	t.Helper()
	want := map[string]string{"Remote-User": faUser, "Remote-Email": faUser, "Remote-Name": faUserName, "Remote-Groups": "", "Path": path}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("the app got %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// faAtWeftid waits until the browser is on weftid's page at path.
func faAtWeftid(t *testing.T, ctx context.Context, srv *server, path string) {
	t.Helper()
	waitTrue(t, ctx, "wait for weftid's "+path,
		`location.origin === `+jsString(srv.baseURL)+` && location.pathname === `+jsString(path), navTimeout)
}

// faAppCookies are the browser's cookies on the app's host.
func faAppCookies(t *testing.T, ctx context.Context, p proxied) []*http.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.url("/")}})
	if err != nil {
		t.Fatalf("read the browser's cookies: %v", err)
	}
	var out []*http.Cookie
	for _, c := range res.Cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		if c.Domain != strings.Split(p.host, ":")[0] || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
			t.Errorf("cookie %s on the app's host: domain %q, HttpOnly %v, SameSite %q; want host-only, HttpOnly, Lax", c.Name, c.Domain, c.HTTPOnly, c.SameSite)
		}
	}
	return out
}

// faStart starts weftid with a super admin (faAdmin) and the users given (address and name, all
// with password), the echo app behind the proxy start at name.localhost, and the admin's
// browser, signed in, which registers the app as appName; it returns the server, the proxy and
// the admin's browser, on the app's page.
func faStart(t *testing.T, start func(*testing.T, *server, string, string) proxied, name, appName, password string, users ...[2]string) (*server, proxied, context.Context) {
	t.Helper()
	srv := startServer(t)
	srv.addUser(t, faAdmin, "Grace Hopper", "super_admin", password)
	for _, u := range users {
		srv.addUser(t, u[0], u[1], "user", password)
	}
	p := start(t, srv, name, startEcho(t))
	actx := newBrowser(t)
	pwSignIn(t, actx, srv, faAdmin, password)
	faRegister(t, actx, srv, appName, p.host)
	return srv, p, actx
}

// faOpen opens path on the app in a browser that is not signed in, and signs in as email there.
func faOpen(t *testing.T, ctx context.Context, srv *server, p proxied, path, email, password string) {
	t.Helper()
	do(t, ctx, "open the app", chromedp.Navigate(p.url(path)))
	faAtWeftid(t, ctx, srv, "/login")
	code := passwordThenCode(t, ctx, srv, email, password)
	do(t, ctx, "enter the code", fill(codeInput, code), chromedp.Click(chromedp.CSS(codeSubmit)))
}

func TestForwardAuthThroughCaddy(t *testing.T) { faThrough(t, startCaddy) }

func TestForwardAuthThroughNginx(t *testing.T) { faThrough(t, startNginx) }

// faThrough: an admin registers the app; a browser that is not signed in opens it, signs in at
// weftid and lands on the page it asked for, whose app got the right Remote-* headers; headers
// a client makes up count for nothing; a forged and a replayed callback code get the refusal
// page; signing out of weftid ends the app's session at its next request.
func faThrough(t *testing.T, start func(*testing.T, *server, string, string) proxied) {
	srv, p, _ := faStart(t, start, "wiki", "Wiki", faPassword, [2]string{faUser, faUserName})
	// Ada's own browser (a new profile).
	ctx := newBrowser(t)
	faOpen(t, ctx, srv, p, "/page?x=1", faUser, faPassword)
	faExpectUser(t, faEcho(t, ctx, p, "/page"), "/page?x=1")

	// A client's own Remote-* headers, or another X-Forwarded-Host, change nothing.
	cookies := faAppCookies(t, ctx, p)
	spoof := http.Header{"Remote-User": {faAdmin}, "Remote-Email": {faAdmin}, "Remote-Name": {"Grace"}, "Remote-Groups": {"admins"}, "X-Forwarded-Host": {"other.localhost"}}
	resp, body := proxyRequest(t, p, "/spoofed", cookies, spoof)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a signed-in request with made-up headers: %s\n%s", resp.Status, body)
	}
	faExpectUser(t, echoed(faPreText(body)), "/spoofed")
	resp, body = proxyRequest(t, p, "/spoofed", nil, spoof)
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), srv.url("/proxy/continue?")) || strings.Contains(body, "The app") {
		t.Errorf("an anonymous request with made-up headers: %s to %q, want a redirect to weftid", resp.Status, resp.Header.Get("Location"))
	}

	// A forged code, and a real one used twice.
	do(t, ctx, "open a forged callback", chromedp.Navigate(p.url("/.weftid/callback?code="+strings.Repeat("f", 43))))
	faExpectRefused(t, ctx, p)
	callback := faCaptureCallback(t, ctx, p, "/again")
	do(t, ctx, "open the used callback again", chromedp.Navigate(callback))
	faExpectRefused(t, ctx, p)

	// Signing out of weftid ends the app's session: its next request goes to sign in.
	do(t, ctx, "sign out of weftid", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	signOut(t, ctx)
	do(t, ctx, "open the app again", chromedp.Navigate(p.url("/after")))
	faAtWeftid(t, ctx, srv, "/login")
}

// faPreText is the text of the echo page's <pre> in body, for a plain HTTP client.
func faPreText(body string) string {
	_, rest, _ := strings.Cut(body, `<pre id="echo">`)
	text, _, _ := strings.Cut(rest, "</pre>")
	return text
}

// faExpectRefused checks the refusal page of a callback code on the app's host.
func faExpectRefused(t *testing.T, ctx context.Context, p proxied) {
	t.Helper()
	waitTrue(t, ctx, "wait for the refusal", `location.host === `+jsString(p.host)+` && document.querySelector("h1")`, navTimeout)
	if h := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h != faRefused {
		t.Errorf("heading %q, want %q", h, faRefused)
	}
	if styled := read(t, ctx, "read the styles", chromedp.Evaluate[bool](`getComputedStyle(document.documentElement).getPropertyValue("--pico-font-family-sans-serif") !== ""`)); !styled {
		t.Error("the refusal page has not got weftid's stylesheets")
	}
}

// faCaptureCallback forgets the app's session in the browser, opens path (the browser, signed
// in to weftid, comes back by redirects alone) and returns the callback address it passed.
func faCaptureCallback(t *testing.T, ctx context.Context, p proxied, path string) string {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen string
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := chromedp.Listen(lctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/.weftid/callback?code=") {
			mu.Lock()
			seen = e.Request.URL
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range faAppCookies(t, ctx, p) {
		if strings.HasPrefix(c.Name, "weftid_proxy_") && !strings.Contains(c.Name, "binding") {
			if _, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: c.Name, URL: p.url("/")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	do(t, ctx, "open "+path+" without the app's session", chromedp.Navigate(p.url(path)))
	faExpectUser(t, faEcho(t, ctx, p, path), path)
	mu.Lock()
	defer mu.Unlock()
	if seen == "" {
		t.Fatal("the browser passed no callback on its way back to the app")
	}
	return seen
}

// TestForwardAuthAfterResetAndEnrollment: through nginx, the app opens only after every step of
// the sign-in: a user whose reset an admin forced (which also ends their session at the app)
// chooses a new password first; under Enhanced, a user with only email codes sets up TOTP first.
func TestForwardAuthAfterResetAndEnrollment(t *testing.T) {
	const other = "dorothy@example.com"
	srv, p, actx := faStart(t, startNginx, "notes", "Notes", enrollPassword, [2]string{faUser, faUserName}, [2]string{other, "Dorothy Vaughan"})

	// Ada signs in to the app; then an admin forces a reset.
	ctx := newBrowser(t)
	faOpen(t, ctx, srv, p, "/", faUser, enrollPassword)
	faEcho(t, ctx, p, "/")
	id := admOpenUser(t, actx, faUser)
	admClickTab(t, actx, id, "danger", "Danger", "Danger")
	do(t, actx, "force a password reset",
		chromedp.Click(chromedp.CSS(rstForceOpen)),
		chromedp.WaitVisible(chromedp.CSS(rstForceYes)),
		removeNotices(),
		chromedp.Click(chromedp.CSS(rstForceYes)),
	)
	pollUntil(t, actx, "wait for the notice", navTimeout, admReadDetail(), func(d admDetail) bool { return strings.HasPrefix(d.Notice, rstForceNotice) })

	do(t, ctx, "open the app after the reset was forced", chromedp.Navigate(p.url("/doc")))
	faAtWeftid(t, ctx, srv, "/login")
	do(t, ctx, "sign in with the current password",
		fill(loginEmail, faUser), fill(loginPassword, enrollPassword),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/reset-password"),
	)
	do(t, ctx, "open the app before choosing", chromedp.Navigate(p.url("/doc")))
	faAtWeftid(t, ctx, srv, "/login/reset-password")
	rstTypeNewPassword(t, ctx, rstNewPassword)
	do(t, ctx, "save the new password", chromedp.Click(chromedp.CSS(rstSubmit)), waitPath("/login/verify"))
	msg := rstMail(t, ctx, srv, faUser)
	for !strings.Contains(msg.Subject, "sign-in code") {
		msg = rstMail(t, ctx, srv, faUser)
	}
	do(t, ctx, "enter the code", fill(codeInput, mailtest.FindCode(msg.Text)), chromedp.Click(chromedp.CSS(codeSubmit)))
	faExpectUser(t, faEcho(t, ctx, p, "/doc"), "/doc")

	// Enhanced: Dorothy has only email codes, and must set up TOTP before the app opens.
	setEnhanced(t, newBrowser(t), srv, faAdmin)
	dctx := newBrowser(t)
	do(t, dctx, "open the app", chromedp.Navigate(p.url("/board")))
	faAtWeftid(t, dctx, srv, "/login")
	signInToEnroll(t, dctx, srv, other)
	do(t, dctx, "open the app before enrolling", chromedp.Navigate(p.url("/board")))
	faAtWeftid(t, dctx, srv, "/login/enroll")
	chooseEnrollPath(t, dctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	do(t, dctx, "open \"Can't scan it?\"", chromedp.Click(chromedp.CSS(enrollPath+` details:has(#totp-secret) > summary`)))
	secret := strings.ReplaceAll(strings.TrimSpace(read(t, dctx, "read the key", chromedp.Text(chromedp.CSS(enrollPath+` #totp-secret`)))), " ", "")
	totp, err := auth.TOTPCode(secret, auth.TOTPStep(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	do(t, dctx, "turn TOTP on", fill(enrollTOTPCode, totp), chromedp.Click(chromedp.CSS(enrollTOTPSubmit)), chromedp.WaitVisible(chromedp.CSS(backupCodesPre)))
	do(t, dctx, "continue to the app", chromedp.Click(chromedp.CSS(`a[role=button][href^="/proxy/continue?"]`)))
	got := faEcho(t, dctx, p, "/board")
	if got["Remote-User"] != other {
		t.Errorf("the app got Remote-User %q, want %q", got["Remote-User"], other)
	}
}

func TestForwardAuthGroupsThroughCaddy(t *testing.T) { faGroups(t, startCaddy) }

func TestForwardAuthGroupsThroughNginx(t *testing.T) { faGroups(t, startNginx) }

// faGroups: an app that lets in only the Finance group. A member gets through with
// Remote-Groups; someone outside it gets weftid's no-access page after signing in and the app
// never sees them; the member taken out of the group gets the refusal page on the app's own host
// at her next request.
func faGroups(t *testing.T, start func(*testing.T, *server, string, string) proxied) {
	const outsider = "katherine@example.com"
	srv, p, actx := faStart(t, start, "books", "Books", faPassword, [2]string{faUser, faUserName}, [2]string{outsider, "Katherine Johnson"})
	appPath := currentPath(t, actx)
	group := grpCreate(t, actx, srv, "Finance", "Pays people")
	grpAddMember(t, actx, srv, group, faUser)
	grpRestrict(t, actx, srv, appPath, "Finance")

	ctx := newBrowser(t)
	faOpen(t, ctx, srv, p, "/ledger", faUser, faPassword)
	if got := faEcho(t, ctx, p, "/ledger"); got["Remote-User"] != faUser || got["Remote-Groups"] != "Finance" {
		t.Errorf("the app got %v, want Ada in Finance", got)
	}

	kctx := newBrowser(t)
	faOpen(t, kctx, srv, p, "/ledger", outsider, faPassword)
	faAtWeftid(t, kctx, srv, "/proxy/continue")
	if h := read(t, kctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h != "No access to Books" {
		t.Errorf("the outsider sees %q, want weftid's no-access page", h)
	}

	do(t, actx, "take Ada out of Finance",
		chromedp.Navigate(srv.url(group)), waitPath(group),
		removeNotices(),
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove `+faUserName+` from Finance"]`)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	do(t, ctx, "open the app again", chromedp.Navigate(p.url("/ledger")))
	waitTrue(t, ctx, "wait for the refusal", `location.host === `+jsString(p.host)+` && document.querySelector("h1")`, navTimeout)
	if h := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h != "No access" {
		t.Errorf("Ada, out of Finance, sees %q on the app's host, want the refusal", h)
	}
	if ask := read(t, ctx, "read whom to ask", textOfAll(`#proxy-admins`)); !strings.Contains(ask, faAdmin) {
		t.Errorf("the refusal names %q to ask, want %s", ask, faAdmin)
	}
}
