package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The operations tests run the binary with no browser: continuous replication (kill -9, restore,
// point in time), graceful shutdown. They wait on what the server reports (its log, its
// metrics), never for a fixed time.

// opsTimeout guards every wait of these tests against a hang; it is no timing assertion.
const opsTimeout = 60 * time.Second

// opsServer is `weftid serve` with a metrics listener, run as a child process like in
// production, so that it can be killed (-9) or sent SIGTERM.
type opsServer struct {
	cmd     *exec.Cmd
	public  string // http://127.0.0.1:PORT
	metrics string // http://127.0.0.1:PORT of --metrics-addr
	dir, db string
	env     []string
	out     *syncBuffer
	exited  chan struct{}
	waitErr error
	client  *http.Client
}

// startOpsServer starts serve on the database in dir (created if new) with the given extra flags
// (they win over the defaults here: --hibp-url off, loopback as trusted proxy) and environment
// variables, and waits until it answers /healthz. The test's end kills it if it still runs.
func startOpsServer(t testing.TB, dir string, env []string, extra ...string) *opsServer {
	t.Helper()
	if serverBin == "" {
		t.Fatalf("the weftid binary did not build:\n%v", buildErr)
	}
	port, mport := freePort(t), freePort(t)
	s := &opsServer{
		public:  fmt.Sprintf("http://127.0.0.1:%d", port),
		metrics: fmt.Sprintf("http://127.0.0.1:%d", mport),
		dir:     dir, db: filepath.Join(dir, "weftid.db"),
		env: append(environWithoutWeftid(), env...), out: new(syncBuffer), exited: make(chan struct{}),
	}
	jar, _ := cookiejar.New(nil)
	s.client = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	args := append([]string{"serve", "--addr", strings.TrimPrefix(s.public, "http://"),
		"--metrics-addr", strings.TrimPrefix(s.metrics, "http://"), "--db", s.db,
		"--base-url", fmt.Sprintf("http://localhost:%d", port), "--hibp-url", "off", "--trusted-proxies", "127.0.0.1"}, extra...)
	s.cmd = exec.Command(serverBin, args...)
	s.cmd.Dir, s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = dir, s.env, s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("weftid serve output:\n%s", s.out)
		}
	})
	s.waitFor(t, "an answer on /healthz", func() bool {
		resp, err := http.Get(s.public + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// waitUntil polls cond until it holds, failing the test after opsTimeout.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(opsTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, opsTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitFor is waitUntil that fails at once when the server exits.
func (s *opsServer) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitUntil(t, what, func() bool {
		select {
		case <-s.exited:
			t.Fatalf("waiting for %s: the server exited: %v", what, s.waitErr)
		default:
		}
		return cond()
	})
}

// gauge reads one unlabelled gauge or counter from /metrics (NaN when absent).
func (s *opsServer) gauge(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.metrics + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	f, ok := families[name]
	if !ok || len(f.GetMetric()) != 1 {
		return math.NaN()
	}
	if m := f.GetMetric()[0]; m.Counter != nil {
		return m.GetCounter().GetValue()
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// synced is weftid_replication_synced_timestamp_seconds: every write committed before it is in
// the replica (zero before the first sync).
func (s *opsServer) synced(t testing.TB) time.Time {
	v := s.gauge(t, "weftid_replication_synced_timestamp_seconds")
	if math.IsNaN(v) {
		return time.Time{}
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// waitSynced waits until the replica holds every write committed before at. The metric is a
// float of seconds, good to about a microsecond: it must pass at by more than that.
func (s *opsServer) waitSynced(t testing.TB, at time.Time) time.Time {
	t.Helper()
	var got time.Time
	s.waitFor(t, "a sync after "+at.Format(time.RFC3339Nano), func() bool {
		got = s.synced(t)
		return got.After(at.Add(10 * time.Microsecond))
	})
	return got
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf loads a page and returns its form's CSRF token.
func (s *opsServer) csrf(t testing.TB, path string) string {
	t.Helper()
	resp, err := s.client.Get(s.public + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		t.Fatalf("GET %s: %s, no _csrf field", path, resp.Status)
	}
	return string(m[1])
}

// failedSignIn is one write: a password sign-in for an address nobody has, which the server
// records (a login_failed event naming the address) before it answers 401. Each comes from its
// own address (X-Forwarded-For, loopback being a trusted proxy), so no limit refuses them. It
// returns when the answer arrived: the write is acknowledged then.
func (s *opsServer) failedSignIn(email, csrf string, n int) (time.Time, error) {
	form := url.Values{"_csrf": {csrf}, "email": {email}, "password": {"not the password at all"}}
	req, err := http.NewRequest(http.MethodPost, s.public+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
	resp, err := s.client.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return time.Time{}, fmt.Errorf("sign-in as %s: %s, want 401", email, resp.Status)
	}
	return time.Now(), nil
}

// replicatorPID is the process id of the replicator the server started last (its log says).
func (s *opsServer) replicatorPID(t testing.TB) int {
	t.Helper()
	m := regexp.MustCompile(`msg="replication started" pid=(\d+)`).FindAllStringSubmatch(s.out.String(), -1)
	if m == nil {
		t.Fatal("the server's log does not name its replicator's pid")
	}
	pid, _ := strconv.Atoi(m[len(m)-1][1])
	return pid
}

// gone reports whether process pid has exited (a zombie nobody reaped counts as exited).
func gone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: the state follows the last ')'.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// kill9 sends SIGKILL to pid.
func kill9(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
}

// restoreTo runs `weftid restore --from replica [--at at] DEST` into a new file in dir.
func restoreTo(t testing.TB, env []string, replica, at, dest string) {
	t.Helper()
	args := []string{"restore", "--from", replica, dest}
	if at != "" {
		args = []string{"restore", "--from", replica, "--at", at, dest}
	}
	ctx, cancel := context.WithTimeout(context.Background(), opsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBin, args...)
	cmd.Env = append(environWithoutWeftid(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("weftid %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// failedAddresses opens a database, checks PRAGMA integrity_check, and returns the addresses of
// its login_failed events.
func failedAddresses(t testing.TB, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("%s: integrity_check = %q, %v; want ok", path, check, err)
	}
	rows, err := db.Query(`SELECT details FROM events WHERE type = 'login_failed'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var raw string
		var d struct{ Email string }
		if err := rows.Scan(&raw); err != nil || json.Unmarshal([]byte(raw), &d) != nil {
			t.Fatalf("%s: an unreadable event: %q %v", path, raw, err)
		}
		found[d.Email] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return found
}
