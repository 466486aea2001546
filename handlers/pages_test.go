package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	r := c.get("/login")
	expectStatus(t, r, http.StatusOK)

	csp := r.Header.Get("Content-Security-Policy")
	if csp == "" {
		t.Error("no Content-Security-Policy")
	}
	for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("Content-Security-Policy %q contains %s", csp, bad)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %s", csp, want)
		}
	}
	headers := []struct{ name, want string }{
		{"X-Frame-Options", "DENY"},
		{"X-Content-Type-Options", "nosniff"},
		{"Cache-Control", "no-store"},
		{"Content-Type", "text/html; charset=utf-8"},
		{"Referrer-Policy", "same-origin"},
	}
	for _, h := range headers {
		if got := r.Header.Get(h.name); got != h.want {
			t.Errorf("%s: got %q, want %q", h.name, got, h.want)
		}
	}
	// The page itself has nothing inline that the policy would block.
	if strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, " style=") || strings.Contains(r.Body, " onclick=") {
		t.Error("the page has inline script or style, which the policy blocks")
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	page := c.get("/login").Body

	links := regexp.MustCompile(`<link rel="stylesheet" href="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	scripts := regexp.MustCompile(`<script src="(/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) == 0 || len(scripts) == 0 {
		t.Fatalf("no hashed asset URLs in the page:\n%s", page)
	}
	hashed := regexp.MustCompile(`^/assets/(.+)\.[0-9a-f]{12}(\.[a-z]+)$`)
	for _, m := range append(links, scripts...) {
		u := m[1]
		t.Run(u, func(t *testing.T) {
			parts := hashed.FindStringSubmatch(u)
			if parts == nil {
				t.Fatalf("%s is not a content-hashed URL", u)
			}
			r := c.get(u)
			expectStatus(t, r, http.StatusOK)
			if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control: got %q, want a year and immutable", cc)
			}
			wantType := map[string]string{".css": "text/css", ".js": "javascript"}[parts[2]]
			if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, wantType) {
				t.Errorf("Content-Type: got %q, want %s", ct, wantType)
			}
			if len(r.Body) == 0 {
				t.Error("empty asset")
			}
			if r.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("asset without nosniff")
			}
			// The unhashed path is not served.
			plain := "/assets/" + parts[1] + parts[2]
			if r := c.get(plain); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", plain, r.Status)
			}
		})
	}
	// A stale hash is not served either.
	if r := c.get(regexp.MustCompile(`[0-9a-f]{12}`).ReplaceAllString(links[0][1], "000000000000")); r.Status != http.StatusNotFound {
		t.Errorf("stale hash: got %d, want 404", r.Status)
	}
}

// internals is text that must never reach a page.
var internals = []string{"goroutine", "panic", ".go:", "runtime.", "fiber", "Cannot GET", "store:", "sql", "database is closed"}

// randomToken matches a random token as weftid writes them (base64url, 32 bytes or more).
var randomToken = regexp.MustCompile(`[A-Za-z0-9_-]{40,}`)

func expectFriendly(t *testing.T, r *response, status int, message string) {
	t.Helper()
	expectStatus(t, r, status)
	if !strings.Contains(r.Body, message) {
		t.Errorf("the %d page does not say %q:\n%s", status, message, r)
	}
	for _, want := range []string{"<!doctype html>", `<nav aria-label="Main">`, `<main id="main">`, `rel="stylesheet"`} {
		if !strings.Contains(strings.ToLower(r.Body), strings.ToLower(want)) {
			t.Errorf("the %d page lacks the site layout (%s)", status, want)
		}
	}
	// Random tokens (the CSRF token in every form) can spell anything, "sql" included: they are
	// not text the page shows.
	shown := strings.ToLower(randomToken.ReplaceAllString(r.Body, ""))
	for _, bad := range internals {
		if strings.Contains(shown, strings.ToLower(bad)) {
			t.Errorf("the %d page shows internal text %q:\n%s", status, bad, r)
		}
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control on the %d page: got %q, want no-store", status, cc)
	}
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	tests := []struct {
		method, path string
		status       int
		message      string
	}{
		{"GET", "/nope", 404, "There is nothing at this address."},
		{"GET", "/assets/nope.css", 404, "There is nothing at this address."},
		{"GET", "/users/../../etc/passwd", 404, "There is nothing at this address."},
		{"PUT", "/login", 404, "There is nothing at this address."},
	}
	c.get("/login")
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var r *response
			if tt.method == "GET" {
				r = c.get(tt.path)
			} else {
				r = c.do(tt.method, tt.path, strings.NewReader(url.Values{"_csrf": {c.token()}}.Encode()),
					http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			}
			expectFriendly(t, r, tt.status, tt.message)
		})
	}
}

func TestInternalErrorPage(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	c.get("/login")
	e.store.Close() // every query now fails
	r := loginAttempt(c, "ann@example.com", testPassword)
	expectFriendly(t, r, http.StatusInternalServerError, "An unexpected error occurred.")
	if !strings.Contains(e.log.String(), "request failed") {
		t.Error("the internal error was not logged")
	}

	h := c.get("/healthz")
	if h.Status != http.StatusServiceUnavailable {
		t.Errorf("/healthz with the database closed: got %d, want 503", h.Status)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	r := c.get("/healthz")
	expectStatus(t, r, http.StatusOK)
	if strings.TrimSpace(r.Body) != "ok" {
		t.Errorf("body: got %q, want %q", r.Body, "ok")
	}
	if r.cookie("weftid_csrf") != nil {
		t.Error("/healthz set a cookie")
	}
}

// HSTS follows the base URL, not what the request claims: X-Forwarded-Proto from a client (or
// an untrusted proxy) can say https over plain http.
func TestHSTSFollowsTheBaseURL(t *testing.T) {
	plain := newEnv(t).newClient()
	r := plain.do(http.MethodGet, "/login", nil, http.Header{"X-Forwarded-Proto": {"https"}})
	if got := r.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("an http base URL sent HSTS %q because of X-Forwarded-Proto", got)
	}
	secure := newEnvWith(t, envOptions{baseURL: "https://id.example.com"}).newClient()
	r = secure.get("/healthz")
	if got := r.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("an https base URL: Strict-Transport-Security %q", got)
	}
}
