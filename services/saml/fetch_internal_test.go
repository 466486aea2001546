package saml

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBlockedAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "::ffff:127.0.0.1": true, // loopback
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "fd00::1": true, // private
		"169.254.169.254": true, "fe80::1": true, // link-local (cloud metadata services)
		"0.0.0.0": true, "::": true, "0.1.2.3": true, // unspecified, "this network"
		"100.64.0.1": true, "224.0.0.1": true, "ff02::1": true, // carrier-grade NAT, multicast
		"64:ff9b::a00:1": true, "64:ff9b::808:808": false, // NAT64 of 10.0.0.1, of 8.8.8.8
		"8.8.8.8": false, "93.184.215.14": false, "2001:4860:4860::8888": false,
	} {
		if got := blockedAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("blockedAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{"[::1]": "::1", " LocalHost. ": "localhost", "::ffff:127.0.0.1": "127.0.0.1", "App.Example": "app.example"} {
		if got := hostKey(in); got != want {
			t.Errorf("hostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// fetchOf fetches raw and returns the problem in words ("" for none).
func fetchOf(t *testing.T, f *fetcher, raw string) string {
	t.Helper()
	u, err := checkMetadataURL(raw)
	if err == nil {
		_, err = f.get(context.Background(), u)
	}
	var em errMetadata
	if err != nil && !errors.As(err, &em) {
		t.Fatalf("%s: %v is not a problem in words", raw, err)
	}
	return string(em)
}

func TestFetchRefusals(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/md":
			w.Write([]byte("<EntityDescriptor/>"))
		case "/big":
			w.Write([]byte(strings.Repeat("x", MaxMetadata+1)))
		case "/big-blank":
			// White space past the limit, in pieces: no Content-Length says the size.
			for range 5 {
				w.Write([]byte(strings.Repeat(" \n", 32<<10)))
				w.(http.Flusher).Flush()
			}
		case "/empty":
		case "/slow":
			<-r.Context().Done() // until the fetch gives up
		case "/ftp":
			http.Redirect(w, r, "ftp://example.com/md.xml", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-localhost":
			// The same server under a name that is not allowed: refused when connecting.
			http.Redirect(w, r, "http://localhost:"+strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)+"/md", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	allowed := newFetcher([]string{"127.0.0.1"})
	allowed.timeout = 300 * time.Millisecond
	for path, want := range map[string]string{
		"/md":           "",
		"/big":          "larger than 256 KB",
		"/big-blank":    "The document at the metadata URL is larger than 256 KB",
		"/empty":        "empty document",
		"/nothing":      "answered 404 Not Found",
		"/slow":         "did not answer within 300ms",
		"/ftp":          `redirected to a "ftp" URL`,
		"/loop":         "redirected more than 3 times",
		"/to-localhost": ", a loopback, private, link-local",
	} {
		got := fetchOf(t, allowed, srv.URL+path)
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	// Not allowed: the address is refused whether named by its IP or by a name.
	strict := newFetcher(nil)
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	for _, raw := range []string{srv.URL + "/md", "http://localhost:" + port + "/md", "http://[::ffff:127.0.0.1]:" + port + "/md"} {
		if got := fetchOf(t, strict, raw); !strings.Contains(got, "loopback, private, link-local") || !strings.Contains(got, "--saml-metadata-allowed-hosts") {
			t.Errorf("%s: %q, want the address refused", raw, got)
		}
	}
	for raw, want := range map[string]string{
		"ftp://example.com/md":                 "must start with https:// or http://",
		"/saml/metadata":                       "must be an absolute URL",
		"https://user:pw@example.com/m":        "must not contain a user name or password",
		"https://" + strings.Repeat("a", 2100): "longer than 2048 characters",
	} {
		if got := fetchOf(t, strict, raw); !strings.Contains(got, want) {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
	if u, _ := url.Parse(srv.URL); u.Hostname() != "127.0.0.1" {
		t.Fatalf("the test server is at %s, not 127.0.0.1: the cases above prove nothing", u.Host)
	}
	// A server that is not there, or that hangs up: said in words, not in the client's.
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hangUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer hangUp.Close()
	for raw, want := range map[string]string{
		closed.URL + "/md": "The metadata URL's server refused the connection.",
		hangUp.URL + "/md": "The metadata URL's server closed the connection before it finished answering.",
	} {
		if got := fetchOf(t, allowed, raw); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
