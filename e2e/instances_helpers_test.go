package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/store/storetest"
)

// cluster is what the instances of one test share: a PostgreSQL database, the secret key
// file, the public URL a load balancer would answer at, a mail server and a range service.
type cluster struct {
	db, key, dir, baseURL, hibpURL string
	mail                           *mailtest.Server
}

func newCluster(t *testing.T, hibpURL string) *cluster {
	t.Helper()
	if serverBin == "" {
		t.Fatalf("the weftid binary did not build, so there is no server to test:\n%v", buildErr)
	}
	dir := t.TempDir()
	return &cluster{
		db:  storetest.PostgresDB(t),
		key: dir + "/weftid.key",
		dir: dir,
		// No process listens here: the instances are reached at their own addresses, as behind a
		// load balancer, and all of them take this as the origin of forms.
		baseURL: "http://localhost:" + strconv.Itoa(freePort(t)),
		hibpURL: hibpURL,
		mail:    mailtest.Start(t),
	}
}

// instance is one weftid process of a cluster.
type instance struct {
	name, addr string
	out        *syncBuffer
	*process
}

// start starts one more instance on the cluster's database.
func (c *cluster) start(t *testing.T, name string) *instance {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
	out := new(syncBuffer)
	p := startProcess(t, c.dir, addr, out,
		"--addr", addr, "--db", c.db, "--secret-key-file", c.key, "--base-url", c.baseURL,
		"--smtp", c.mail.URL(), "--hibp-url", c.hibpURL)
	return &instance{name: name, addr: addr, out: out, process: p}
}

// addUser runs `weftid user add` on the cluster's database.
func (c *cluster) addUser(t *testing.T, email, role, password string) {
	t.Helper()
	s := &server{db: c.db, dir: c.dir}
	s.addUser(t, email, "Ada "+role, role, password, "--secret-key-file", c.key)
}

// web is one browser without a browser: a cookie jar (cookies are per host, not per port, so
// one jar serves every instance on 127.0.0.1), the CSRF token of its cookie, and the cluster's
// public origin, sent as a browser would send it.
type web struct {
	t      *testing.T
	hc     *http.Client
	origin string
	csrf   string
}

func (c *cluster) browser(t *testing.T) *web {
	jar, _ := cookiejar.New(nil)
	return &web{t: t, origin: c.baseURL, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// reply is an answer: status, where it redirects, and the body.
type reply struct {
	status   int
	location string
	body     string
}

// send makes one request to an instance; a POST carries form and the CSRF token (read from
// the first page fetched). A request that cannot be made is an error, not a failed test: an
// instance may have been killed on purpose.
func (w *web) send(in *instance, method, path string, form url.Values) (reply, error) {
	var body io.Reader
	if form != nil {
		form.Set("_csrf", w.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+in.addr+path, body)
	if err != nil {
		return reply{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", w.origin)
	}
	resp, err := w.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
	if m := csrfField.FindStringSubmatch(r.body); m != nil && w.csrf == "" {
		w.csrf = m[1]
	}
	return r, err
}

// must is send that fails the test when the request cannot be made or its status is not want.
func (w *web) must(in *instance, method, path string, form url.Values, want int) reply {
	w.t.Helper()
	r, err := w.send(in, method, path, form)
	if err != nil || r.status != want {
		w.t.Fatalf("%s %s on %s: %d %v, want %d\n%.2000s", method, path, in.name, r.status, err, want, r.body)
	}
	return r
}

var mailedCode = regexp.MustCompile(`\b\d{6}\b`)

// signIn signs email in with its password on first and its mailed code on second.
func (w *web) signIn(first, second *instance, mail *mailtest.Server, email, password string) {
	w.t.Helper()
	w.must(first, http.MethodGet, "/login", nil, http.StatusOK)
	if r := w.must(first, http.MethodPost, "/login", url.Values{"email": {email}, "password": {password}}, http.StatusSeeOther); r.location != "/login/verify" {
		w.t.Fatalf("password on %s went to %q, want /login/verify", first.name, r.location)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := mail.WaitFor(ctx, email)
	if err != nil {
		w.t.Fatalf("no code mailed to %s: %v", email, err)
	}
	code := mailedCode.FindString(msg.Text)
	if r := w.must(second, http.MethodPost, "/login/verify", url.Values{"code": {code}}, http.StatusSeeOther); r.location != "/dashboard" {
		w.t.Fatalf("code on %s went to %q, want /dashboard", second.name, r.location)
	}
}

// waitFor checks cond every 50 ms until it holds, failing after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(timeout); !cond(); <-tick.C {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
	}
}

// runCLI runs the weftid binary with args and returns what it printed.
func runCLI(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBin, args...)
	cmd.Env = environWithoutWeftid()
	out, err := cmd.CombinedOutput()
	return string(out), err
}
