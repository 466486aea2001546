package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// benchAccounts is how many accounts the sign-in load rotates through (each may be mailed 4
// codes in 5 minutes).
const benchAccounts = 5000

// BenchmarkReplicationLag is the sign-in benchmark (handlers' BenchmarkPasswordSignIn: 8 clients,
// password sign-ins over loopback HTTP up to the redirect to /login/verify) against the built
// binary, without replication and with it (to a directory, and to an S3-compatible server on
// loopback), at the default sync interval of 1 s. During the run it reads
// weftid_replication_lag_seconds every 50 ms: how far behind now the moment is up to which the
// replica is complete, which is what a lost disk would lose at that instant.
//
//	go test -run '^$' -bench ReplicationLag -benchtime 20s ./e2e/
func BenchmarkReplicationLag(b *testing.B) {
	for _, bc := range []struct {
		name    string
		replica func(b *testing.B, dir string) (string, []string)
	}{
		{"off", nil},
		{"directory", func(b *testing.B, dir string) (string, []string) {
			return "file://" + filepath.Join(dir, "replica"), nil
		}},
		{"s3", func(b *testing.B, dir string) (string, []string) {
			return "s3://weftid-bench/db", s3Server(b, "weftid-bench")
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			password := benchDatabase(b, filepath.Join(dir, "weftid.db"))
			var env, args []string
			if bc.replica != nil {
				var replica string
				replica, env = bc.replica(b, dir)
				args = []string{"--replicate", replica}
			}
			s := startOpsServer(b, dir, env, args...)
			if bc.replica != nil {
				s.waitSynced(b, time.Now())
			}
			var lags []float64
			stop, sampled := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(50 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					if v := s.gauge(b, "weftid_replication_lag_seconds"); !math.IsNaN(v) {
						lags = append(lags, v)
					}
				}
			}()
			start := time.Now()
			signInLoad(b, s.public, password)
			elapsed := time.Since(start)
			close(stop)
			<-sampled
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "signins/s")
			if len(lags) > 0 {
				slices.Sort(lags)
				b.ReportMetric(lags[len(lags)/2], "lag-p50-s")
				b.ReportMetric(lags[len(lags)*99/100], "lag-p99-s")
				b.ReportMetric(lags[len(lags)-1], "lag-max-s")
				b.ReportMetric(s.gauge(b, "weftid_replication_sync_errors_total"), "sync-errors")
			}
		})
	}
}

// benchDatabase makes the database with benchAccounts users sharing one password (hashed once,
// with the production parameters) and returns the password.
func benchDatabase(b *testing.B, path string) string {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	password := "correct horse battery staple 42"
	hash, err := auth.HashPassword(password, auth.DefaultArgon2)
	if err != nil {
		b.Fatal(err)
	}
	for i := range benchAccounts {
		u := store.User{Email: fmt.Sprintf("bench%d@example.com", i), Name: "Bench", Role: store.RoleUser, PasswordHash: hash}
		if _, err := st.CreateUser(ctx, u, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	return password
}

// signInLoad makes b.N password sign-ins from 4 clients a core, each from its own address,
// rotating through the accounts.
func signInLoad(b *testing.B, base, password string) {
	var next, clients atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ip := fmt.Sprintf("198.18.0.%d", clients.Add(1))
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		token := ""
		post := func(path string, form url.Values) (*http.Response, error) {
			method, body := http.MethodGet, io.Reader(nil)
			if form != nil {
				method, body = http.MethodPost, strings.NewReader(form.Encode())
			}
			req, _ := http.NewRequest(method, base+path, body)
			req.Header.Set("X-Forwarded-For", ip)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			return client.Do(req)
		}
		resp, err := post("/login", nil)
		if err != nil {
			b.Error(err)
			return
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := csrfInput.FindSubmatch(page); m != nil {
			token = string(m[1])
		}
		for pb.Next() {
			email := fmt.Sprintf("bench%d@example.com", next.Add(1)%benchAccounts)
			resp, err := post("/login", url.Values{"_csrf": {token}, "email": {email}, "password": {password}})
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
}
