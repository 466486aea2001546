package breach_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
)

const (
	breachedPassword = "password123456"
	paddedPassword   = "appears only as padding"
	cleanPassword    = "violet tractor juggles quietly 1987"
)

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// rangeAnswer is a range answer as the real service writes it: CRLF lines "SUFFIX:COUNT",
// the breached hashes of the prefix, then padding lines with count 0.
func rangeAnswer(prefix string, breached map[string]int, padding []string) string {
	var b strings.Builder
	for h, n := range breached {
		if strings.HasPrefix(h, prefix) {
			fmt.Fprintf(&b, "%s:%d\r\n", h[5:], n)
		}
	}
	for _, h := range padding {
		if strings.HasPrefix(h, prefix) {
			fmt.Fprintf(&b, "%s:0\r\n", h[5:])
		}
	}
	// Padding for prefixes the test does not know about.
	for i := range 3 {
		fmt.Fprintf(&b, "%035X:0\r\n", i+1)
	}
	return b.String()
}

// hibpServer is a loopback range server that records what it was asked.
type hibpServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	// answer, when set, decides the status and Retry-After of the n-th request (from 1);
	// status 0 answers the range.
	answer func(n int) (status int, retryAfter string)
}

func newHIBPServer(t *testing.T) *hibpServer {
	s := &hibpServer{}
	breached := map[string]int{sha1Hex(breachedPassword): 4321}
	padding := []string{sha1Hex(paddedPassword)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r)
		n := len(s.requests)
		s.mu.Unlock()
		if s.answer != nil {
			if status, ra := s.answer(n); status != 0 {
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				w.WriteHeader(status)
				return
			}
		}
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, rangeAnswer(prefix, breached, padding))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *hibpServer) got() []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// client makes a client of s whose waits are recorded, not slept.
func (s *hibpServer) client(t *testing.T) (*breach.Client, *[]time.Duration) {
	t.Helper()
	c, err := breach.NewClient(s.URL, "test")
	if err != nil {
		t.Fatalf("NewClient(%s): %v", s.URL, err)
	}
	var waits []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }
	return c, &waits
}

func TestHIBPRangeProtocol(t *testing.T) {
	s := newHIBPServer(t)
	c, _ := s.client(t)
	ctx := context.Background()
	tests := []struct {
		password string
		want     int
	}{
		{breachedPassword, 4321},
		{paddedPassword, 0}, // listed only as a padding line (count 0): not breached
		{cleanPassword, 0},
	}
	for _, tt := range tests {
		got, err := c.Pwned(ctx, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("Pwned(%q) = %d, %v; want %d", tt.password, got, err, tt.want)
		}
	}
	// Range leaves the padding lines out: the weekly job must never match one.
	padded := auth.PasswordSHA1(paddedPassword)
	hashes, err := c.Range(ctx, strings.ToLower(auth.RangePrefix(padded)))
	if err != nil {
		t.Fatalf("Range: %v", err)
	}
	for _, h := range hashes {
		if h.SHA1 == padded || h.Count == 0 {
			t.Errorf("Range returned a padding line: %x:%d", h.SHA1, h.Count)
		}
	}
	reqs := s.got()[:len(tests)]
	if len(reqs) != len(tests) {
		t.Fatalf("requests: got %d, want %d", len(reqs), len(tests))
	}
	for i, r := range reqs {
		full := sha1Hex(tests[i].password)
		if want := "/range/" + full[:5]; r.URL.Path != want || r.URL.RawQuery != "" {
			t.Errorf("request %d: got %s?%s, want %s and nothing else", i, r.URL.Path, r.URL.RawQuery, want)
		}
		if r.Method != http.MethodGet {
			t.Errorf("request %d: method %s", i, r.Method)
		}
		if got := r.Header.Get("Add-Padding"); got != "true" {
			t.Errorf("request %d: Add-Padding %q, want true", i, got)
		}
		if got := r.Header.Get("User-Agent"); got != "weftid/test (+breach check)" {
			t.Errorf("request %d: User-Agent %q", i, got)
		}
		for name, values := range r.Header {
			for _, v := range values {
				if strings.Contains(strings.ToUpper(v), full[5:]) {
					t.Errorf("request %d: header %s carries the hash suffix", i, name)
				}
			}
		}
	}
}

func TestHIBPRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		answers   [][2]string // status, Retry-After of the first requests; the next one succeeds
		wantErr   bool
		wantWaits []time.Duration
		wantReqs  int
	}{
		{"429 with Retry-After", [][2]string{{"429", "2"}}, false, []time.Duration{2 * time.Second}, 2},
		{"503 then 502, backoff doubles", [][2]string{{"503", ""}, {"502", ""}}, false, []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}, 3},
		{"Retry-After as a date", [][2]string{{"429", "DATE+3"}}, false, nil, 2}, // waits about 3 s, checked below
		{"gives up after the attempts", [][2]string{{"500", "1"}, {"500", "1"}, {"500", "1"}}, true, []time.Duration{time.Second, time.Second}, 3},
		{"Retry-After too long is not waited for", [][2]string{{"429", "3600"}}, true, nil, 1},
		{"404 is not retried", [][2]string{{"404", ""}}, true, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newHIBPServer(t)
			s.answer = func(n int) (int, string) {
				if n > len(tt.answers) {
					return 0, ""
				}
				a := tt.answers[n-1]
				var status int
				fmt.Sscan(a[0], &status)
				ra := a[1]
				if ra == "DATE+3" {
					ra = time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
				}
				return status, ra
			}
			c, waits := s.client(t)
			c.Backoff = 10 * time.Millisecond
			c.MaxRetryAfter = time.Minute
			n, err := c.Pwned(ctx, breachedPassword)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Pwned: got %d, no error; want an error", n)
				}
			} else if err != nil || n != 4321 {
				t.Fatalf("Pwned = %d, %v; want 4321", n, err)
			}
			if got := len(s.got()); got != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", got, tt.wantReqs)
			}
			if tt.name == "Retry-After as a date" {
				if len(*waits) != 1 || (*waits)[0] < time.Second || (*waits)[0] > 3*time.Second {
					t.Errorf("waits: got %v, want one of about 3 s", *waits)
				}
				return
			}
			if !slices.Equal(*waits, tt.wantWaits) {
				t.Errorf("waits: got %v, want %v", *waits, tt.wantWaits)
			}
		})
	}
}

// A wait that would outlast the caller's deadline is not started: the form gives up at once.
func TestHIBPRetryRespectsDeadline(t *testing.T) {
	s := newHIBPServer(t)
	s.answer = func(int) (int, string) { return http.StatusTooManyRequests, "5" }
	c, waits := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Pwned(ctx, breachedPassword); err == nil {
		t.Fatal("Pwned: no error")
	}
	if len(*waits) != 0 || len(s.got()) != 1 {
		t.Errorf("waits %v, requests %d; want none and 1", *waits, len(s.got()))
	}
}

func TestHIBPUnreachable(t *testing.T) {
	s := newHIBPServer(t)
	c, waits := s.client(t)
	s.Close() // nothing listens there any more
	if _, err := c.Pwned(context.Background(), breachedPassword); err == nil {
		t.Fatal("Pwned against a closed server: no error")
	}
	if len(*waits) != 2 {
		t.Errorf("waits: got %v, want 2 (3 attempts)", *waits)
	}
}

func TestHIBPFileRanges(t *testing.T) {
	dir := t.TempDir()
	breached := map[string]int{sha1Hex(breachedPassword): 77}
	for _, p := range []string{breachedPassword, paddedPassword, cleanPassword} {
		prefix := sha1Hex(p)[:5]
		if err := os.WriteFile(filepath.Join(dir, prefix+".txt"), []byte(rangeAnswer(prefix, breached, []string{sha1Hex(paddedPassword)})), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := breach.NewClient("file://"+dir, "test")
	if err != nil {
		t.Fatalf("NewClient(file://%s): %v", dir, err)
	}
	if got := c.String(); got != "file://"+dir {
		t.Errorf("String: got %q", got)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		password string
		want     int
	}{{breachedPassword, 77}, {paddedPassword, 0}, {cleanPassword, 0}} {
		if got, err := c.Pwned(ctx, tt.password); err != nil || got != tt.want {
			t.Errorf("Pwned(%q) = %d, %v; want %d", tt.password, got, err, tt.want)
		}
	}
	// A range the directory lacks is an error, not "not breached": the corpus is incomplete.
	if _, err := c.Range(ctx, "FFFFF"); err == nil {
		t.Error("Range(FFFFF) with no file: no error")
	}
	// A file that is not range lines is refused.
	if err := os.WriteFile(filepath.Join(dir, "ABCDE.txt"), []byte("not a range file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Range(ctx, "abcde"); err == nil {
		t.Error("Range(ABCDE) of a malformed file: no error")
	}
}

func TestHIBPOff(t *testing.T) {
	c, err := breach.NewClient("off", "test")
	if err != nil || c != nil {
		t.Fatalf("NewClient(off) = %v, %v; want nil, nil", c, err)
	}
	if c.Enabled() || c.String() != "off" {
		t.Errorf("off: Enabled %v, String %q", c.Enabled(), c.String())
	}
	if _, err := c.Pwned(context.Background(), breachedPassword); err != breach.ErrOff {
		t.Errorf("Pwned when off: %v, want ErrOff", err)
	}
}

func TestNewHIBPSettings(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		setting string
		ok      bool
	}{
		{"https://api.pwnedpasswords.com", true},
		{"https://mirror.example.com/hibp/", true},
		{"http://127.0.0.1:8081", true},
		{"http://[::1]:8081", true},
		{"http://localhost:8081", true},
		{"file://" + dir, true},
		{"off", true},
		{"http://api.pwnedpasswords.com", false}, // plain http only on loopback
		{"http://10.0.0.5", false},
		{"ftp://example.com", false},
		{"", false},
		{"api.pwnedpasswords.com", false},
		{"https://", false},
		{"https://user:pass@example.com", false},
		{"https://example.com/?x=1", false},
		{"file://" + filepath.Join(dir, "missing"), false},
		{"file://" + file, false}, // a file, not a directory
		{"file://otherhost/ranges", false},
		{"OFF", false},
	}
	for _, tt := range tests {
		_, err := breach.NewClient(tt.setting, "test")
		if (err == nil) != tt.ok {
			t.Errorf("NewClient(%q): err %v, want ok %v", tt.setting, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "--hibp-url") {
			t.Errorf("NewClient(%q): error %q does not name the flag", tt.setting, err)
		}
	}
}

// A service that accepts the request and never answers is given up on after the client's
// Timeout (DefaultTimeout unless set). The server holds the request until the test releases it.
func TestHIBPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c, err := breach.NewClient(srv.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	if c.Timeout != breach.DefaultTimeout {
		t.Errorf("NewClient: Timeout %v, want DefaultTimeout %v", c.Timeout, breach.DefaultTimeout)
	}
	c.Attempts = 1
	c.Timeout = 20 * time.Millisecond
	// A client that ignored Timeout fails here instead of hanging the test.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := c.Pwned(ctx, breachedPassword); err == nil {
		t.Fatal("Pwned against a silent server: no error")
	}
	if ctx.Err() != nil {
		t.Fatal("the request ended with the test's deadline, not the client's Timeout")
	}
	if took := time.Since(start); took < c.Timeout {
		t.Errorf("gave up after %v, before the %v timeout", took, c.Timeout)
	}
}

// A redirect is not followed: the prefix goes only to the configured service.
func TestHIBPDoesNotFollowRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c, err := breach.NewClient(srv.URL, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pwned(context.Background(), breachedPassword); err == nil {
		t.Error("a redirecting service: no error")
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}
