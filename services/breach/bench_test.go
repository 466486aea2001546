package breach_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/store"
)

// benchBreachUsers is how many users the weekly-run benchmark checks.
const benchBreachUsers = 100_000

// benchBreachHits is how many of them have a breached password.
const benchBreachHits = 10

// BenchmarkBreachWeeklyRun is one weekly breach run over 100,000 users against a loopback
// range server whose answers are the size of the real service's (about 1,000 lines each: 900
// breached hashes and 100 padding lines), with 10 hits mailed to 2 admins over the in-process
// SMTP server. Run it once: go test -run '^$' -bench BreachWeeklyRun -benchtime 1x ./services/breach
// It reports wall time, requests made and peak memory (Go heap in use, sampled every 10 ms
// during the run, and the process's peak resident set, which includes setting up the users).
func BenchmarkBreachWeeklyRun(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	secret := make([]byte, 32)
	rand.Read(secret)
	keys := auth.NewKeys(secret)

	// The range server: a fixed block of 900 breached hashes and 100 padding lines after the
	// hashes of this prefix that are breached.
	var block bytes.Buffer
	seed := sha1.Sum([]byte("filler"))
	for i := range 1000 {
		seed = sha1.Sum(seed[:])
		count := 0
		if i < 900 {
			count = int(seed[0]) + 1
		}
		fmt.Fprintf(&block, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(seed[:]))[5:], count)
	}
	breached := map[string][]string{} // prefix -> suffixes
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		for _, s := range breached[prefix] {
			fmt.Fprintf(w, "%s:42\r\n", s)
		}
		w.Write(block.Bytes())
	}))
	defer srv.Close()
	hibp, err := breach.NewClient(srv.URL, "bench")
	if err != nil {
		b.Fatal(err)
	}

	// The users, in one transaction.
	prefixes := map[string]bool{}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for i := range benchBreachUsers + 2 {
			role, email := store.RoleUser, fmt.Sprintf("u%d@example.com", i)
			if i >= benchBreachUsers {
				role, email = store.RoleAdmin, fmt.Sprintf("admin%d@example.com", i)
			}
			u, err := tx.CreateUser(ctx, store.User{Email: email, Name: "User " + strconv.Itoa(i), Role: role, Status: store.StatusActive}, time.Now())
			if err != nil {
				return err
			}
			password := fmt.Sprintf("bench password %d", i)
			if err := tx.SetPassword(ctx, u.ID, breach.Record(keys, "$argon2id$bench", password, auth.PasswordSubject{}, auth.PasswordPolicy{}), time.Now()); err != nil {
				return err
			}
			full := breachtest.Hex(password)
			prefixes[full[:5]] = true
			if i < benchBreachHits {
				breached[full[:5]] = append(breached[full[:5]], full[5:])
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	smtp := mailtest.Start(b)
	mailer, err := mail.New(mail.Config{SMTPURL: smtp.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var clockMu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	base, _ := url.Parse("http://localhost:8080")
	job := breach.New(breach.Config{Store: st, Mailer: mailer, Keys: keys, Client: hibp,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock, BaseURL: base})

	runtime.GC()
	b.ResetTimer()
	var wall time.Duration
	var peakHeap atomic.Uint64
	for range b.N {
		requests.Store(0)
		if err := st.RequestBreachRun(ctx, clock()); err != nil {
			b.Fatal(err)
		}
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		if err := job.Step(ctx); err != nil {
			b.Fatal(err)
		}
		wall = time.Since(start)
		close(stop)
		<-sampled
		clockMu.Lock()
		now = now.Add(time.Hour)
		clockMu.Unlock()
	}
	b.StopTimer()

	j, err := st.BreachJob(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if j.LastUsersChecked != benchBreachUsers+2 || int(requests.Load()) != len(prefixes) {
		b.Fatalf("run checked %d users with %d requests; want %d users, %d requests (one per distinct prefix)",
			j.LastUsersChecked, requests.Load(), benchBreachUsers+2, len(prefixes))
	}
	if b.N == 1 && j.LastHits != benchBreachHits {
		b.Fatalf("hits: got %d, want %d", j.LastHits, benchBreachHits)
	}
	b.ReportMetric(wall.Seconds(), "wall-s/run")
	b.ReportMetric(float64(requests.Load()), "requests/run")
	b.ReportMetric(float64(j.LastUsersChecked), "users/run")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(peakRSS()/(1<<20), "peak-RSS-MiB")
}

// peakRSS is the process's peak resident set (VmHWM) in bytes, 0 where /proc is missing.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}
