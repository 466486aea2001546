package handlers_test

// The harness's browser: a client with its own cookies and address, and the assertions on
// what it gets back.

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// client is one browser: its own cookie jar (keyed by cookie name, honouring deletion and
// expiry against the test clock), its own IP, and the _csrf token of the last page it read.
type client struct {
	t    *testing.T
	env  *env
	ip   string
	mu   sync.Mutex
	jar  map[string]*http.Cookie
	csrf string
	// ua is the browser's User-Agent ("": weftid-handler-tests).
	ua string
}

func (e *env) newClient() *client {
	e.nextIP++
	return &client{t: e.t, env: e, ip: fmt.Sprintf("192.0.2.%d", e.nextIP), jar: map[string]*http.Cookie{}}
}

// response is what a test looks at.
type response struct {
	Status   int
	Location string
	Header   http.Header
	Cookies  []*http.Cookie // as set by this response
	Body     string
}

func (r *response) String() string {
	body := r.Body
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	return fmt.Sprintf("%d Location=%q body=%q", r.Status, r.Location, body)
}

// cookie returns the cookie this response set with that name, or nil.
func (r *response) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// hangAfter is how long a request may take before the test calls it hung.
const hangAfter = 30 * time.Second

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// send makes one request without failing the test (safe from goroutines).
func (c *client) send(method, path string, body io.Reader, header http.Header) (*response, error) {
	req := httptest.NewRequest(method, baseURL+path, body)
	// The trusted proxy in front (see newEnv) reports the client's address.
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("User-Agent", "weftid-handler-tests")
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	for k, vs := range header {
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	now := c.env.clock.Now()
	c.mu.Lock()
	for name, ck := range c.jar {
		if !ck.Expires.IsZero() && !ck.Expires.After(now) {
			delete(c.jar, name)
			continue
		}
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	c.mu.Unlock()

	// app.Test without its own timeout, under a watchdog, so a request that never returns
	// fails its test with every goroutine's stack instead of stalling the whole run.
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.env.app.Test(req, -1)
		done <- result{resp, err}
	}()
	var resp *http.Response
	select {
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		resp = res.resp
	case <-time.After(hangAfter):
		stacks := make([]byte, 1<<20)
		stacks = stacks[:runtime.Stack(stacks, true)]
		return nil, fmt.Errorf("%s %s did not answer within %v; goroutines:\n%s", method, path, hangAfter, stacks)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	r := &response{
		Status: resp.StatusCode, Location: resp.Header.Get("Location"), Header: resp.Header,
		Cookies: resp.Cookies(), Body: string(b),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ck := range r.Cookies {
		if ck.MaxAge < 0 || (!ck.Expires.IsZero() && !ck.Expires.After(now)) {
			delete(c.jar, ck.Name)
			continue
		}
		c.jar[ck.Name] = ck
	}
	if m := csrfField.FindStringSubmatch(r.Body); m != nil {
		c.csrf = html.UnescapeString(m[1])
	}
	return r, nil
}

func (c *client) do(method, path string, body io.Reader, header http.Header) *response {
	c.t.Helper()
	r, err := c.send(method, path, body, header)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// post sends a form with the _csrf token of the last page read.
func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("_csrf", c.token())
	return c.postRaw(path, form, nil)
}

// postRaw sends the form as given (no _csrf added) with extra headers.
func (c *client) postRaw(path string, form url.Values, header http.Header) *response {
	c.t.Helper()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), header)
}

func (c *client) token() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.csrf
}

// cookieValue is the value in the jar, or "".
func (c *client) cookieValue(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ck, ok := c.jar[name]; ok {
		return ck.Value
	}
	return ""
}

// setCookie puts a cookie in the jar, as another site or an old tab might have left it.
func (c *client) setCookie(name, value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jar[name] = &http.Cookie{Name: name, Value: value}
}

// signIn takes a client through password and e-mail code to the dashboard.
func (c *client) signIn(email, password string) {
	c.t.Helper()
	c.startSignIn(email, password)
	code := c.env.waitCode(email)
	expectRedirect(c.t, c.post("/login/verify", url.Values{"code": {code}, "method": {"email"}}), "/dashboard")
}

// startSignIn does the password step and expects the code page.
func (c *client) startSignIn(email, password string) {
	c.t.Helper()
	if c.token() == "" {
		expectStatus(c.t, c.get("/login"), http.StatusOK)
	}
	expectRedirect(c.t, c.post("/login", url.Values{"email": {email}, "password": {password}}), "/login/verify")
}

func expectStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status: got %d, want %d\n%s", r.Status, want, r)
	}
}

func expectRedirect(t *testing.T, r *response, want string) {
	t.Helper()
	if r.Status != http.StatusSeeOther || r.Location != want {
		t.Fatalf("got %d to %q, want 303 to %q\n%s", r.Status, r.Location, want, r)
	}
}

var (
	roleAlert = regexp.MustCompile(`<(\w+)[^>]*\brole="alert"[^>]*>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
	spaces    = regexp.MustCompile(`\s+`)
)

// alerts returns the text of every role="alert" element, tags stripped and spaces collapsed.
func alerts(body string) []string {
	var out []string
	for _, loc := range roleAlert.FindAllStringSubmatchIndex(body, -1) {
		tag := body[loc[2]:loc[3]]
		rest := body[loc[1]:]
		end := strings.Index(rest, "</"+tag+">")
		if end < 0 {
			end = len(rest)
		}
		text := html.UnescapeString(anyTag.ReplaceAllString(rest[:end], " "))
		out = append(out, strings.TrimSpace(spaces.ReplaceAllString(text, " ")))
	}
	return out
}

// expectAlert checks that the page shows exactly one alert with exactly this text.
func expectAlert(t *testing.T, r *response, want string) {
	t.Helper()
	got := alerts(r.Body)
	if len(got) != 1 || got[0] != want {
		t.Errorf("alerts: got %q, want [%q]", got, want)
	}
}

// expectNoAlert checks that the page shows no alert.
func expectNoAlert(t *testing.T, r *response) {
	t.Helper()
	if got := alerts(r.Body); len(got) != 0 {
		t.Errorf("alerts: got %q, want none", got)
	}
}
