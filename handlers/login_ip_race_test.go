package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
)

// Concurrent wrong passwords from one IP at many different accounts: the per-account lock does
// not hold them back, so only counting each guess before it is verified keeps the IP to its
// limit.
func TestPasswordGuessesFromOneIPAtManyAccountsStopAtTheIPLimit(t *testing.T) {
	// A queue longer than the burst: a guess refused as busy (503) is not a guess, and would
	// make the count depend on the machine's speed.
	hasher, err := auth.NewHasher(testParams, 2, 128, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, envOptions{hasher: hasher})
	c := e.newClient()
	expectStatus(t, c.get("/login"), http.StatusOK)
	n := throttle.PasswordPerIP.Max() + 20
	statuses := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"email": {fmt.Sprintf("victim%d@example.com", i)}, "password": {"guess"}, "_csrf": {c.token()}}
			r, err := c.send(http.MethodPost, "/login", strings.NewReader(form.Encode()),
				http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
			if err == nil {
				statuses[i] = r.Status
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	counts := map[int]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		counts[statuses[i]]++
	}
	if counts[http.StatusUnauthorized] != throttle.PasswordPerIP.Max() || counts[http.StatusTooManyRequests] != n-throttle.PasswordPerIP.Max() {
		t.Errorf("answers %v: want %d wrong-password answers and the other %d throttled", counts, throttle.PasswordPerIP.Max(), n-throttle.PasswordPerIP.Max())
	}
	// Every attempt is in the log exactly once: each failure and the first refusal as a
	// login_failed event of its own, the other refusals in the window's login_throttled count.
	max := throttle.PasswordPerIP.Max()
	if got := len(e.eventsOf("login_failed")); got != max+1 {
		t.Errorf("%d login_failed events, want %d (every failure and the first refusal)", got, max+1)
	}
	e.clock.Advance(throttle.PasswordPerIP.Window())
	if _, err := throttle.Summarize(context.Background(), e.store, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	sums := e.eventsOf("login_throttled")
	if len(sums) != 1 || sums[0].Details["count"] != float64(n-max-1) || sums[0].IP != c.ip {
		t.Errorf("login_throttled events %s, want one from %s counting the %d refusals after the first", eventSummary(sums), c.ip, n-max-1)
	}
}
