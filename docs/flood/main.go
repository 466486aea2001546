// Command flood is the abuse load run of docs/benchmarks.md, run by hand (never in CI): it starts
// a real weftid binary on loopback, floods each anonymous endpoint for a while from one address
// and from many (X-Forwarded-For behind a trusted proxy, so every request still goes to
// 127.0.0.1), and reports how the database, its WAL and the event log grew. Then it floods
// password sign-ins while a browser that signed in before, and one that did not, each try to
// sign in every 2 s, and reports their success rate and p99.
//
//	go build -o /tmp/weftid . && go run ./docs/flood -bin /tmp/weftid -duration 60s
package main

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

const (
	knownEmail    = "known@example.com"
	knownPassword = "correct horse battery staple 1987!"
)

func main() {
	bin := flag.String("bin", "", "the weftid binary to run (go build -o /tmp/weftid .)")
	duration := flag.Duration("duration", 60*time.Second, "how long each flood lasts")
	workers := flag.Int("workers", 32, "concurrent flooding clients")
	only := flag.String("only", "", "run only the scenarios whose name contains this")
	flag.Parse()
	if *bin == "" {
		log.Fatal("-bin is required")
	}
	srv := start(*bin)
	defer srv.stop()
	// The known browser signs in once before any flood, as its owner did the day before.
	known := srv.newBrowser("")
	known.completeSignIn()

	fmt.Printf("flood: %d workers, %v each, on %s\n\n", *workers, *duration, srv.base)
	fmt.Println("| endpoint | from | requests | answers | db+wal growth | peak wal | events added |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, ep := range endpoints() {
		for _, many := range []bool{false, true} {
			name := ep.name + map[bool]string{false: " one IP", true: " many IPs"}[many]
			if *only != "" && !strings.Contains(name, *only) {
				continue
			}
			srv.floodRow(ep, many, *workers, *duration)
		}
	}
	if *only == "" || strings.Contains("known browser", *only) {
		fmt.Println()
		srv.knownBrowser(known, *workers, *duration)
	}
}

// server is a running weftid with its database and the codes it logged.
type server struct {
	cmd   *exec.Cmd
	dir   string
	base  string
	mu    sync.Mutex
	codes map[string]string // the latest sign-in code logged for each address
	db    *sql.DB
}

var codeLine = regexp.MustCompile(`to=(\S+) subject="Your weftid sign-in code" text=".*?code is:\\n\\n +(\d{6})`)

func start(bin string) *server {
	dir, err := os.MkdirTemp("", "weftid-flood-")
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &server{dir: dir, base: fmt.Sprintf("http://localhost:%d", port), codes: map[string]string{}}
	db := filepath.Join(dir, "weftid.db")
	add := exec.Command(bin, "user", "add", "--db", db, "--hibp-url", "off", "--email", knownEmail, "--name", "Known", "--role", "user")
	add.Stdin = strings.NewReader(knownPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		log.Fatalf("user add: %v\n%s", err, out)
	}
	s.cmd = exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--db", db, "--base-url", s.base,
		"--hibp-url", "off", "--trusted-proxies", "127.0.0.1")
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		log.Fatal(err)
	}
	s.cmd.Stdout = io.Discard
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := codeLine.FindStringSubmatch(sc.Text()); m != nil {
				s.mu.Lock()
				s.codes[m[1]] = m[2]
				s.mu.Unlock()
			}
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			log.Fatalf("weftid did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling a process we started; nothing to wait on
	}
	if s.db, err = sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000"); err != nil {
		log.Fatal(err)
	}
	return s
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
	s.db.Close()
	os.RemoveAll(s.dir)
}

// size is the database and WAL files' bytes.
func (s *server) size() (db, wal int64) {
	if fi, err := os.Stat(filepath.Join(s.dir, "weftid.db")); err == nil {
		db = fi.Size()
	}
	if fi, err := os.Stat(filepath.Join(s.dir, "weftid.db-wal")); err == nil {
		wal = fi.Size()
	}
	return db, wal
}

func (s *server) events() int64 {
	var n int64
	if err := s.db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		log.Fatal(err)
	}
	return n
}

// browser is one client with its own cookies, CSRF token and address.
type browser struct {
	s    *server
	c    *http.Client
	csrf string
	ip   string // X-Forwarded-For; "" for 127.0.0.1 itself
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (s *server) newBrowser(ip string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{s: s, ip: ip, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, body := b.do("GET", "/login", "", nil)
	if resp == nil || resp.StatusCode != http.StatusOK {
		log.Fatalf("GET /login: %v", resp)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		log.Fatal("no CSRF token on /login")
	}
	b.csrf = m[1]
	return b
}

// do sends one request; form, when not nil, is posted with the CSRF token.
func (b *browser) do(method, path, ctype string, form url.Values) (*http.Response, string) {
	var body io.Reader
	if form != nil {
		form.Set("_csrf", b.csrf)
		body, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
	}
	req, _ := http.NewRequest(method, b.s.base+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Origin", b.s.base)
	req.Header.Set("X-CSRF-Token", b.csrf)
	if b.ip != "" {
		req.Header.Set("X-Forwarded-For", b.ip)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return nil, err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// loopbackIP is a random address in 127.0.0.0/8 other than 127.0.0.1, for X-Forwarded-For.
func loopbackIP() string {
	return fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
}

// endpoint is one anonymous write to flood.
type endpoint struct {
	name string
	hit  func(b *browser) int
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func endpoints() []endpoint {
	return []endpoint{
		{"POST /login (wrong passwords)", func(b *browser) int {
			email := knownEmail
			if rand.IntN(2) == 0 {
				email = fmt.Sprintf("nobody%d@example.com", rand.IntN(1_000_000))
			}
			r, _ := b.do("POST", "/login", "", url.Values{"email": {email}, "password": {"wrong guess"}})
			return status(r)
		}},
		{"POST /login/passkey/begin", func(b *browser) int {
			r, _ := b.do("POST", "/login/passkey/begin", "application/json", nil)
			return status(r)
		}},
		{"POST /password/forgot", func(b *browser) int {
			r, _ := b.do("POST", "/password/forgot", "", url.Values{"email": {fmt.Sprintf("user%d@example.com", rand.IntN(1_000_000))}})
			return status(r)
		}},
		{"POST /saml/sso (malformed)", func(b *browser) int {
			r, _ := b.do("POST", "/saml/sso", "application/x-www-form-urlencoded", nil)
			return status(r)
		}},
	}
}

// flood runs hit from workers clients until ctx ends and counts the answers.
func (s *server) flood(ctx context.Context, hit func(*browser) int, many bool, workers int) (int64, map[int]int64) {
	var total atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int64{}
	var wg sync.WaitGroup
	oneIP := loopbackIP()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip := oneIP
			if many {
				ip = loopbackIP()
			}
			b := s.newBrowser(ip)
			for ctx.Err() == nil {
				if many {
					b.ip = loopbackIP()
				}
				st := hit(b)
				total.Add(1)
				mu.Lock()
				statuses[st]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return total.Load(), statuses
}

func (s *server) floodRow(ep endpoint, many bool, workers int, d time.Duration) {
	db0, wal0 := s.size()
	ev0 := s.events()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var peakWAL atomic.Int64
	go func() {
		for ctx.Err() == nil {
			if _, wal := s.size(); wal > peakWAL.Load() {
				peakWAL.Store(wal)
			}
			time.Sleep(200 * time.Millisecond) // sampling the file size, not synchronising
		}
	}()
	n, statuses := s.flood(ctx, ep.hit, many, workers)
	db1, wal1 := s.size()
	from := map[bool]string{false: "one IP", true: "many IPs"}[many]
	fmt.Printf("| %s | %s | %d | %s | %+.2f MB (%.2f + %.2f MB after) | %.2f MB | %d |\n", ep.name, from, n, answers(statuses),
		float64(db1+wal1-db0-wal0)/1e6, float64(db1)/1e6, float64(wal1)/1e6, float64(peakWAL.Load())/1e6, s.events()-ev0)
}

func answers(m map[int]int64) string {
	var keys []int
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%d×%d", m[k], k))
	}
	return strings.Join(out, " ")
}

// signIn signs b in as the known user: password, then the code the server logged. It reports
// whether the password step passed and how long it took.
func (b *browser) passwordStep() (bool, time.Duration) {
	t0 := time.Now()
	r, _ := b.do("POST", "/login", "", url.Values{"email": {knownEmail}, "password": {knownPassword}})
	took := time.Since(t0)
	// The code mail is limited to 4 in 5 minutes per user, so later tries pass the password and
	// land on /login/verify?sent=limited: the password step passed all the same.
	return status(r) == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login/verify"), took
}

func (b *browser) completeSignIn() {
	b.s.mu.Lock()
	delete(b.s.codes, knownEmail)
	b.s.mu.Unlock()
	if ok, _ := b.passwordStep(); !ok {
		log.Fatal("the known browser could not pass the password step before the flood")
	}
	var code string
	for deadline := time.Now().Add(10 * time.Second); code == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b.s.mu.Lock()
		code = b.s.codes[knownEmail]
		b.s.mu.Unlock()
	}
	if code == "" {
		log.Fatal("no sign-in code in the server log")
	}
	r, _ := b.do("POST", "/login/verify", "", url.Values{"code": {code}, "method": {"email"}})
	if status(r) != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard" {
		log.Fatalf("code step: %v", r)
	}
	// Signing out keeps the device cookie: the next sign-in is from a known browser.
	if r, _ := b.do("POST", "/logout", "", url.Values{}); status(r) != http.StatusSeeOther {
		log.Fatalf("logout: %v", r)
	}
	if r, body := b.do("GET", "/login", "", nil); status(r) == http.StatusOK {
		b.csrf = csrfField.FindStringSubmatch(body)[1]
	}
}

// knownBrowser floods wrong passwords at the known user's address and unknown addresses from
// many IPs while a browser tries to sign in every 2 s; first one that signed in before, then
// one that did not.
func (s *server) knownBrowser(knownBrowser *browser, workers int, d time.Duration) {
	fmt.Println("| browser | tries | password step passed | p99 |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, known := range []bool{true, false} {
		b := knownBrowser
		if !known {
			b = s.newBrowser("")
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.flood(ctx, endpoints()[0].hit, true, workers)
		}()
		var tries, passed int
		var took []time.Duration
		tick := time.NewTicker(2 * time.Second)
		for ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-tick.C:
				ok, t := b.passwordStep()
				tries++
				took = append(took, t)
				if ok {
					passed++
					// Leave the sign-in unfinished; the next try starts a new one.
				}
			}
		}
		tick.Stop()
		cancel()
		<-done
		slices.Sort(took)
		p99 := time.Duration(0)
		if len(took) > 0 {
			p99 = took[min(len(took)-1, len(took)*99/100)]
		}
		name := map[bool]string{true: "signed in here before (device cookie)", false: "new browser"}[known]
		fmt.Printf("| %s | %d | %d (%.0f%%) | %v |\n", name, tries, passed, 100*float64(passed)/float64(max(tries, 1)), p99.Round(time.Millisecond))
	}
}
