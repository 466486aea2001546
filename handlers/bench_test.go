package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

var benchCSRFField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// benchUsers is how many accounts the sign-in benchmark rotates through: each may be mailed 4
// codes in 5 minutes, and a run signs in a few thousand times.
const benchUsers = 5000

// onEachDialect runs bench as a sub-benchmark on a fresh database of each dialect
// (storetest.Dialects: SQLite, and PostgreSQL when WEFTID_TEST_POSTGRES is set), so one run
// puts them side by side.
func onEachDialect(b *testing.B, bench func(b *testing.B, db string)) {
	for _, d := range storetest.Dialects() {
		b.Run(d.Name, func(b *testing.B) { bench(b, d.DB(b)) })
	}
}

// benchServer runs the real app on loopback with production argon2id parameters, the database
// db and the log mailer (discarding its output), with benchUsers accounts (bench0@example.com
// ...) sharing one password, and returns its URL and that password.
func benchServer(b *testing.B, db string) (base string, email, password string) {
	b.Helper()
	ctx := context.Background()
	st := storetest.OpenAt(b, db)
	password = "correct horse battery staple 42"
	hash, err := auth.HashPassword(password, auth.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	email = "bench0@example.com"
	for i := 0; i < benchUsers; i++ {
		u := store.User{Email: fmt.Sprintf("bench%d@example.com", i), Name: "Bench", Role: store.RoleUser, PasswordHash: hash}
		if _, err := st.CreateUser(ctx, u, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer, err := mail.New(mail.Config{From: "weftid@localhost"}, discard)
	if err != nil {
		b.Fatal(err)
	}
	workers := runtime.NumCPU()
	hasher, err := auth.NewHasher(auth.DefaultArgon2, workers, 1024, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u, _ := url.Parse(base)
	// Loopback is a trusted proxy, so each simulated person can come from an address of their own.
	app := handlers.New(handlers.Config{BaseURL: u, Store: st, Mailer: mailer, Hasher: hasher,
		Keys: auth.NewKeys([]byte("0123456789abcdef0123456789abcdef")), Log: discard, TrustedProxies: []string{"127.0.0.1"}})
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	waitForSAMLKey(b, base)
	return base, email, password
}

// waitForSAMLKey waits until the server at base has made its SAML key (the first SAML request
// makes it when no jobs.Runner warmed it at start-up), so its RSA key generation is not measured
// as part of what a benchmark times.
func waitForSAMLKey(b *testing.B, base string) {
	b.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(base + "/saml/metadata")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the SAML key was not ready within 10 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkPasswordSignIn measures the password step of sign-in end to end over HTTP: the
// throttle check, argon2id verification, the attempt and sign-in rows, the code mail and its
// event, up to the redirect to /login/verify. Clients rotate through benchUsers accounts, so
// no account meets the limit of code mails.
func BenchmarkPasswordSignIn(b *testing.B) { onEachDialect(b, benchPasswordSignIn) }

func benchPasswordSignIn(b *testing.B, db string) {
	base, _, password := benchServer(b, db)
	var next atomic.Int64
	b.SetParallelism(4) // more clients than cores, so the hashing pool is always busy
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(base + "/login")
		if err != nil {
			b.Error(err)
			return
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := benchCSRFField.FindSubmatch(page)
		if m == nil {
			b.Error("no CSRF field on /login")
			return
		}
		for pb.Next() {
			email := fmt.Sprintf("bench%d@example.com", next.Add(1)%benchUsers)
			form := url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}}.Encode()
			resp, err := client.Post(base+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/verify" {
				b.Errorf("sign-in answered %d %s", resp.StatusCode, resp.Header.Get("Location"))
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
}

// BenchmarkArgon2idVerify is the raw cost the sign-in pays: one argon2id verification with the
// production parameters on every core, with no HTTP, SQL or pool around it.
func BenchmarkArgon2idVerify(b *testing.B) {
	hash, err := auth.HashPassword("correct horse battery staple 42", auth.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := auth.VerifyPassword(hash, "correct horse battery staple 42"); !ok || err != nil {
				b.Errorf("verify: %v %v", ok, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

// benchBrowser is one person: a client with its own cookies, CSRF token and address (from the
// benchmarking range 198.18.0.0/15, sent as X-Forwarded-For through the trusted loopback).
type benchBrowser struct {
	client *http.Client
	token  string
	ip     string
}

var benchPeople atomic.Uint32

func newBenchBrowser(b *testing.B, base string) *benchBrowser {
	n := benchPeople.Add(1)
	ip := fmt.Sprintf("198.18.%d.%d", n/250%250, n%250+1)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, base+"/login", nil)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRFField.FindSubmatch(page)
	if m == nil {
		b.Fatal("no CSRF field on /login")
	}
	return &benchBrowser{client: client, token: string(m[1]), ip: ip}
}

// BenchmarkPasswordStrength is a load run of the live meter: 50 concurrent clients posting
// what people type (prefixes of real passwords, 1 to 35 characters) to /password/strength. Each
// client is a browser with its own cookies; as the meter allows 120 checks a minute per browser,
// a client becomes a new person (one GET /login, from a new address) every 100 checks, so no
// answer is a 429. It
// reports requests per second and the median and 99th percentile latency.
func BenchmarkPasswordStrength(b *testing.B) { onEachDialect(b, benchPasswordStrength) }

func benchPasswordStrength(b *testing.B, db string) {
	base, _, _ := benchServer(b, db)
	typed := []string{"correct horse battery staple", "Tr0ub4dor&3", "password123456", "qwertyuiop[]asdf",
		"ada.lovelace@example.com", "jU8#kL2$mN9@pQ4!vX7&", "19841984", "violet tractor juggles quietly 1987"}
	var inputs []string
	for _, p := range typed {
		for i := 1; i <= len(p); i++ {
			inputs = append(inputs, p[:i])
		}
	}
	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(25) // 25 x GOMAXPROCS(2) = 50 clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		var br *benchBrowser
		for i := 0; pb.Next(); i++ {
			if i%100 == 0 {
				br = newBenchBrowser(b, base)
			}
			form := url.Values{"_csrf": {br.token}, "password": {inputs[i%len(inputs)]}}.Encode()
			req, _ := http.NewRequest(http.MethodPost, base+"/password/strength", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", br.ip)
			t0 := time.Now()
			resp, err := br.client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != http.StatusOK {
				b.Errorf("strength answered %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(latencies[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[n*99/100].Microseconds())/1000, "p99-ms")
	}
}
