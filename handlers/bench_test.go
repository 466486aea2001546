package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/store"
)

var benchCSRFField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// benchServer runs the real app on loopback with production argon2id parameters, a real
// SQLite file and the log mailer (discarding its output), and returns its URL and one user.
func benchServer(b *testing.B) (base string, email, password string) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	password = "correct horse battery staple 42"
	hash, err := auth.HashPassword(password, auth.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	email = "bench@example.com"
	if _, err := st.CreateUser(ctx, store.User{Email: email, Name: "Bench", Role: store.RoleUser, PasswordHash: hash}, time.Now()); err != nil {
		b.Fatal(err)
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
	base = "http://" + ln.Addr().String()
	u, _ := url.Parse(base)
	app := handlers.New(handlers.Config{BaseURL: u, Store: st, Mailer: mailer, Hasher: hasher,
		Keys: auth.NewKeys([]byte("0123456789abcdef0123456789abcdef")), Log: discard})
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	return base, email, password
}

// BenchmarkPasswordSignIn measures the password step of sign-in end to end over HTTP: the
// throttle check, argon2id verification, the attempt and sign-in rows, the code mail and its
// event, up to the redirect to /login/verify.
func BenchmarkPasswordSignIn(b *testing.B) {
	base, email, password := benchServer(b)
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
		form := url.Values{"_csrf": {string(m[1])}, "email": {email}, "password": {password}}.Encode()
		for pb.Next() {
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
