package e2e

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserWorks checks the browser half of the harness on its own, with no
// weftid: Chromium starts, reaches a loopback server through localhost (as the
// real tests do), reads an element, fills and posts a form, and follows a 303
// redirect. When this fails, fix the browser stack before anything else.
func TestBrowserWorks(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html>
<title>e2e self-test</title>
<h1 id="greeting">Hello from Go</h1>
<form action="/greet" method="post">
  <input name="name" value="placeholder">
  <button type="submit">Greet</button>
</form>`))
	})
	mux.HandleFunc("POST /greet", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/greeted?name="+url.QueryEscape(r.PostFormValue("name")), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /greeted", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><p id="result" role="alert">Hello, ` + html.EscapeString(r.FormValue("name")) + `</p>`))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	// httptest listens on 127.0.0.1; weftid's pages are reached through
	// localhost, so check that Chromium gets there that way too.
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)

	ctx := newBrowser(t)

	do(t, ctx, "open the page", chromedp.Navigate(base+"/"))
	if got, want := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("#greeting"))), "Hello from Go"; got != want {
		t.Errorf("heading: got %q, want %q", got, want)
	}

	do(t, ctx, "post the form",
		fill(`input[name=name]`, "Ada Lovelace"),
		chromedp.Click(chromedp.CSS(`form[action="/greet"] button[type=submit]`)),
		waitPath("/greeted"),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)),
	)
	if got, want := currentPath(t, ctx), "/greeted"; got != want {
		t.Errorf("path after the redirect: got %q, want %q", got, want)
	}
	if got, want := read(t, ctx, "read the result", textOfAll(`[role=alert]`)), "Hello, Ada Lovelace"; got != want {
		t.Errorf("result: got %q, want %q (fill did not replace the field's value?)", got, want)
	}
	if v := read(t, ctx, "look for a missing input", valueOf(`input[name=missing]`)); v != nil {
		t.Errorf("valueOf a missing element: got %q, want nil", *v)
	}
}
