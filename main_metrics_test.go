package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// servedApp is `weftid serve` running in this process on loopback ports.
type servedApp struct {
	public, metrics string // http://127.0.0.1:PORT of the app and of the metrics listener
	client          *http.Client
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveWithMetrics starts serve with --metrics-addr on a new database and stops it when the test
// ends, checking that it stopped cleanly.
func serveWithMetrics(t *testing.T) *servedApp {
	t.Helper()
	addr, maddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--metrics-addr", maddr, "--db", filepath.Join(t.TempDir(), "weftid.db"),
			"--base-url", "http://localhost:8080"}, strings.NewReader(""), io.Discard, quietLog())
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	jar, _ := cookiejar.New(nil)
	s := &servedApp{public: "http://" + addr, metrics: "http://" + maddr, client: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	deadline := time.Now().Add(15 * time.Second) // a hang guard, not a timing assertion
	for {
		select {
		case err := <-done:
			t.Fatalf("serve stopped at start: %v", err)
		default:
		}
		if resp, err := http.Get(s.public + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not answer /healthz")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scrape reads /metrics from the metrics listener with the Prometheus text parser.
func (s *servedApp) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(s.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// value is the value of the series of family with exactly the labels given (0 when absent).
func value(families map[string]*dto.MetricFamily, family string, labels map[string]string) float64 {
	f, ok := families[family]
	if !ok {
		return 0
	}
series:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return 0
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signInWrong posts a password sign-in that fails (nobody has this address) and returns the
// status.
func (s *servedApp) signInWrong(t *testing.T, email string) int {
	t.Helper()
	resp, err := s.client.Get(s.public + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("GET /login: %s, no _csrf field", resp.Status)
	}
	resp, err = s.client.PostForm(s.public+"/login", url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {"not the password at all"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The metrics listener serves weftid's families in the Prometheus text format, every name
// starting with weftid_, and the counters move with real requests: by route pattern (not path)
// and status, sign-ins by method and result, throttle refusals by rule.
func TestMetricsEndpoint(t *testing.T) {
	s := serveWithMetrics(t)
	before := s.scrape(t)
	for name := range before {
		if !strings.HasPrefix(name, "weftid_") {
			t.Errorf("metric %s does not start with weftid_", name)
		}
	}
	for _, name := range []string{
		"weftid_http_requests_total", "weftid_http_request_duration_seconds", // the /healthz polls
		"weftid_password_hash_workers", "weftid_password_hash_running", "weftid_password_hash_queued", "weftid_password_hash_busy_total",
		"weftid_db_open_connections", "weftid_db_in_use_connections", "weftid_db_idle_connections", "weftid_db_wait_count_total",
		"weftid_breach_check_running", "weftid_breach_check_users_checked", "weftid_breach_check_requests",
		"weftid_go_goroutines", "weftid_process_resident_memory_bytes",
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, name := range []string{"weftid_replication_lag_seconds", "weftid_replication_synced_timestamp_seconds"} {
		if _, ok := before[name]; ok {
			t.Errorf("/metrics has %s without --replicate", name)
		}
	}
	if got := value(before, "weftid_password_hash_workers", nil); got < 1 {
		t.Errorf("weftid_password_hash_workers = %v, want at least 1", got)
	}

	// Five wrong passwords for one address, then a sixth that the account's limit refuses.
	const email = "nobody@example.com"
	for i := range 6 {
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if got := s.signInWrong(t, email); got != want {
			t.Fatalf("sign-in %d: status %d, want %d", i+1, got, want)
		}
	}
	for _, path := range []string{"/users/42/profile", "/no/such/page"} {
		resp, err := s.client.Get(s.public + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	after := s.scrape(t)
	for _, c := range []struct {
		family string
		labels map[string]string
		moved  float64
	}{
		{"weftid_http_requests_total", map[string]string{"route": "/login", "method": "GET", "code": "200"}, 6},
		{"weftid_http_requests_total", map[string]string{"route": "/login", "method": "POST", "code": "401"}, 5},
		{"weftid_http_requests_total", map[string]string{"route": "/login", "method": "POST", "code": "429"}, 1},
		{"weftid_http_request_duration_seconds", map[string]string{"route": "/login", "method": "POST", "code": "401"}, 5},
		// The pattern, not the path; a page that does not exist is one series whatever its path.
		{"weftid_http_requests_total", map[string]string{"route": "/users/:id<int>/profile", "method": "GET", "code": "303"}, 1},
		{"weftid_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "code": "404"}, 1},
		{"weftid_signin_attempts_total", map[string]string{"method": "password", "result": "failure"}, 5},
		{"weftid_signin_attempts_total", map[string]string{"method": "password", "result": "throttled"}, 1},
		{"weftid_throttle_refusals_total", map[string]string{"rule": "password_per_account"}, 1},
	} {
		if got := value(after, c.family, c.labels) - value(before, c.family, c.labels); got != c.moved {
			t.Errorf("%s%v moved by %v, want %v", c.family, c.labels, got, c.moved)
		}
	}
	if f := after["weftid_http_requests_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && strings.Contains(l.GetValue(), "42") {
					t.Errorf("a route label holds a path: %q", l.GetValue())
				}
			}
		}
	}
}

// The public listener has no /metrics: it answers 404 like any unknown page, with no metric in it.
func TestPublicListenerHasNoMetrics(t *testing.T) {
	s := serveWithMetrics(t)
	resp, err := s.client.Get(s.public + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "weftid_") {
		t.Errorf("GET /metrics on the public listener: %s with %d bytes (metrics in it: %v), want 404 without metrics",
			resp.Status, len(body), strings.Contains(string(body), "weftid_"))
	}
	// The metrics listener serves nothing but /metrics.
	resp, err = http.Get(s.metrics + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET / on the metrics listener: %s, want 404", resp.Status)
	}
}
