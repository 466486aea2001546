package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/services/proxy/proxytest"
	"github.com/weftid/weftid/store"
)

// benchProxySessions is how many browsers are signed in to the app: the 10,000.
const benchProxySessions = 10000

// BenchmarkForwardAuthCheck measures the hot path of forward authentication: a proxy asking
// GET /forward-auth about requests of signed-in browsers, over loopback HTTP with keep-alive,
// to the real fiber app on a real SQLite file holding benchProxySessions live proxy sessions.
// The requests rotate through every session, so the first pass reads each from the database
// and later ones find it in the cache (for 15 seconds). It reports checks per second; run it
// with -cpu 2 for the two cores (the client shares them).
func BenchmarkForwardAuthCheck(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	keys := auth.NewKeys([]byte("0123456789abcdef0123456789abcdef"))
	tokens, err := proxytest.Seed(ctx, st, keys, benchProxySessions)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u, _ := url.Parse(base)
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := handlers.New(handlers.Config{BaseURL: u, Store: st, Keys: keys, Log: discard, TrustedProxies: []string{"127.0.0.1"}})
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	target := "http://" + ln.Addr().String() + "/forward-auth"

	var failed atomic.Int64
	check := func(token string) {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-Host", proxytest.Host)
		req.Header.Set("X-Forwarded-Uri", "/page")
		req.AddCookie(&http.Cookie{Name: "weftid_proxy", Value: token})
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			failed.Add(1)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Remote-User") == "" {
			failed.Add(1)
		}
	}

	// The first pass: every session once, each read from the database.
	var next atomic.Int64
	began := time.Now()
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < benchProxySessions; i = next.Add(1) - 1 {
				check(tokens[i])
			}
		}()
	}
	wg.Wait()
	cold := float64(benchProxySessions) / time.Since(began).Seconds()

	// Then the steady state, through the cache.
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			check(tokens[next.Add(1)%benchProxySessions])
		}
	})
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d checks were not 200 with Remote-User", n)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(cold, "first-pass-checks/s")
}
