// Package breachtest is a loopback Have I Been Pwned range service for tests, and directories
// of range files as the official downloader writes them: answers list the breached hashes of
// a prefix among filler and padding lines, as the real service's do.
package breachtest

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/services/breach"
)

// Hex is the upper-case hex SHA-1 of password; its first 5 characters are its range prefix.
func Hex(password string) string {
	sum := sha1.Sum([]byte(password))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// WriteRange writes the answer for prefix: the breached hashes (full upper-case SHA-1 ->
// count) that have it, filler lines of other breached hashes, and padding lines (count 0).
// Filler and padding are derived from the prefix, so answers are stable.
func WriteRange(w io.Writer, prefix string, breached map[string]int, filler, padding int) {
	buf := make([]byte, 0, 64*(len(breached)+filler+padding))
	for h, n := range breached {
		if strings.HasPrefix(h, prefix) {
			buf = fmt.Appendf(buf, "%s:%d\r\n", h[5:], n)
		}
	}
	seed := sha1.Sum([]byte(prefix))
	for i := range filler + padding {
		seed = sha1.Sum(seed[:])
		count := 0
		if i < filler {
			count = int(seed[0]) + 1
		}
		buf = fmt.Appendf(buf, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(seed[:]))[5:], count)
	}
	w.Write(buf)
}

// Server is the loopback range service. It counts the requests for each prefix.
type Server struct {
	*httptest.Server
	breached map[string]int // full upper-case SHA-1 -> count

	mu       sync.Mutex
	requests map[string]int
	total    int
	before   func(n int, prefix string) int
}

// NewServer starts a range service that lists breached (passwords, each seen 1234 times)
// and closes it when the test ends.
func NewServer(t testing.TB, breached ...string) *Server {
	s := &Server{breached: map[string]int{}, requests: map[string]int{}}
	for _, p := range breached {
		s.breached[Hex(p)] = 1234
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 || r.Header.Get("Add-Padding") != "true" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests[prefix]++
		s.total++
		n, before := s.total, s.before
		s.mu.Unlock()
		if before != nil {
			if status := before(n, prefix); status != 0 {
				w.WriteHeader(status)
				return
			}
		}
		WriteRange(w, prefix, s.breached, 20, 30)
	}))
	t.Cleanup(s.Close)
	return s
}

// SetBefore makes f run before the n-th request (from 1) is answered; a status other than 0
// is answered instead of the range. nil answers every request again.
func (s *Server) SetBefore(f func(n int, prefix string) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.before = f
}

// Counts returns the requests per prefix so far and resets them.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.requests
	s.requests = map[string]int{}
	return out
}

// Client is a range client of s whose retries do not sleep.
func (s *Server) Client(t testing.TB) *breach.Client {
	t.Helper()
	return Client(t, s.URL)
}

// Client makes a range client for setting (as --hibp-url takes it) whose retries do not sleep.
func Client(t testing.TB, setting string) *breach.Client {
	t.Helper()
	c, err := breach.NewClient(setting, "test")
	if err != nil {
		t.Fatalf("NewClient(%s): %v", setting, err)
	}
	c.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	return c
}

// Dir writes range files for every prefix of passwords and breached (each seen 99 times)
// into a new directory, as the official downloader does, and returns it.
func Dir(t testing.TB, breached []string, passwords ...string) string {
	t.Helper()
	dir := t.TempDir()
	m := map[string]int{}
	for _, p := range breached {
		m[Hex(p)] = 99
	}
	for _, p := range append(passwords, breached...) {
		prefix := Hex(p)[:5]
		f, err := os.Create(filepath.Join(dir, prefix+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		WriteRange(f, prefix, m, 10, 10)
		f.Close()
	}
	return dir
}
