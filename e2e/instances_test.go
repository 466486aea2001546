package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// TestTwoInstancesOnePostgres runs two weftid processes (the built binary) on one PostgreSQL
// database, reached at their own addresses as a load balancer without sticky sessions would:
// a sign-in whose password step is on one and code step on the other; a burst of wrong
// passwords split across both that lets exactly the limit through; the weekly breach check,
// asked for on both, running once (one request per distinct prefix in all), and taken over by
// another instance, from where it was, after the first is killed mid-run; and a kill -9 of one
// instance during writes that loses no acknowledged write while the other keeps serving.
// It needs PostgreSQL (WEFTID_TEST_POSTGRES) whatever dialect the other tests use.
func TestTwoInstancesOnePostgres(t *testing.T) {
	hibp := breachtest.NewServer(t)
	c := newCluster(t, hibp.URL)
	a, b := c.start(t, "a"), c.start(t, "b")
	const adminPW, userPW = "violet tractor juggles quietly 1987", "orange kettle whistles gently 2041"
	c.addUser(t, "root@example.com", "super_admin", adminPW)
	c.addUser(t, "jo@example.com", "user", userPW)

	admin := c.browser(t)
	t.Run("sign-in across instances", func(t *testing.T) {
		admin.t = t
		admin.signIn(a, b, c.mail, "root@example.com", adminPW)
		for _, in := range []*instance{a, b} {
			admin.must(in, http.MethodGet, "/dashboard", nil, http.StatusOK) // signed in on both
		}
	})

	t.Run("guess burst split across both", func(t *testing.T) {
		w := c.browser(t)
		w.must(a, http.MethodGet, "/login", nil, http.StatusOK)
		var wg sync.WaitGroup
		statuses := make([]int, 16)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := []*instance{a, b}[i%2]
				r, err := w.send(in, http.MethodPost, "/login", url.Values{"email": {"jo@example.com"}, "password": {"not the password"}})
				if err != nil {
					t.Error(err)
				}
				statuses[i] = r.status
			}()
		}
		wg.Wait()
		checked := 0
		for _, s := range statuses {
			switch s {
			case http.StatusUnauthorized:
				checked++
			case http.StatusTooManyRequests:
			default:
				t.Errorf("a wrong password was answered %d, want 401 or 429", s)
			}
		}
		if checked != 5 {
			t.Errorf("%d of 16 wrong passwords split over two instances were checked, want exactly 5 (the per-account limit); statuses %v", checked, statuses)
		}
	})

	prefixes := seedBreachFingerprints(t, c, 200)
	hibp.Counts() // forget the requests of user add

	t.Run("breach check runs once across both", func(t *testing.T) {
		admin.t = t
		held, release := hold(hibp, 1)
		admin.must(a, http.MethodPost, "/settings/security/passwords/breach-check", url.Values{}, http.StatusSeeOther)
		<-held // a's run is under way; now b is asked too, and finds it under way elsewhere
		admin.must(b, http.MethodPost, "/settings/security/passwords/breach-check", url.Values{}, http.StatusSeeOther)
		waitFor(t, "b finds the run under way on a", 10*time.Second, func() bool { return strings.Contains(b.out.String(), breach.BusyElsewhere) })
		release()
		waitForRuns(t, c, 1)
		counts := hibp.Counts()
		if !slices.Equal(sortedKeys(counts), prefixes) {
			t.Errorf("the run asked for %d prefixes, want the %d stored", len(counts), len(prefixes))
		}
		for p, n := range counts {
			if n != 1 {
				t.Errorf("prefix %s asked for %d times across both instances, want once", p, n)
			}
		}
	})

	t.Run("breach check taken over after kill -9", func(t *testing.T) {
		admin.t = t
		c3 := c.start(t, "c")            // a third instance, which has not seen a run yet
		held, release := hold(hibp, 150) // a has asked for 149 ranges and waits for the 150th
		admin.must(a, http.MethodPost, "/settings/security/passwords/breach-check", url.Values{}, http.StatusSeeOther)
		<-held
		admin.must(c3, http.MethodPost, "/settings/security/passwords/breach-check", url.Values{}, http.StatusSeeOther)
		waitFor(t, "c finds the run under way on a", 10*time.Second, func() bool { return strings.Contains(c3.out.String(), breach.BusyElsewhere) })
		a.kill()
		beforeKill := hibp.Counts()
		done := savedDone(t, c)
		release()
		waitForRuns(t, c, 2) // c resumes once a's lease has expired
		after := hibp.Counts()
		var want []string
		for _, p := range prefixes {
			if !done[p] {
				want = append(want, p)
			}
		}
		if len(done) == 0 || len(want) == 0 {
			t.Fatalf("a saved %d prefixes as done before it died: the test wants it killed mid-run", len(done))
		}
		if got := sortedKeys(after); !slices.Equal(got, want) || sum(after) != len(want) {
			t.Errorf("after the kill c asked for %d ranges (%d distinct), want each of the %d a had not saved as done, once",
				sum(after), len(got), len(want))
		}
		// Each finished prefix is saved before its worker takes the next: what a asked for
		// and did not save can only be what was in flight, one range per worker.
		unsaved := 0
		for p := range beforeKill {
			if !done[p] {
				unsaved++
			}
		}
		if unsaved > breach.DefaultConcurrency {
			t.Errorf("a asked for %d ranges it had not saved as done when it died, want at most %d (those in flight)", unsaved, breach.DefaultConcurrency)
		}
		for p := range done {
			if beforeKill[p] == 0 {
				t.Errorf("prefix %s saved as done was never asked for", p)
			}
		}
	})

	t.Run("kill -9 during writes", func(t *testing.T) {
		admin.t = t
		a2 := c.start(t, "a2")
		acked := writeAndKill(t, admin, a2, b)
		st := storetest.OpenAt(t, c.db)
		for _, email := range acked {
			if _, err := st.UserByEmail(context.Background(), email); err != nil {
				t.Errorf("%s was acknowledged but is not stored: %v", email, err)
			}
		}
		out, err := runCLI("events", "verify", "--db", c.db)
		if err != nil || !strings.Contains(out, "chain intact") {
			t.Errorf("events verify after the kill: %q %v", out, err)
		}
	})
}

// hold makes the range service hold its n-th request from now, and every later one, until
// release; held is closed when the n-th arrives. Requests after release are answered at once.
func hold(srv *breachtest.Server, n int) (held <-chan struct{}, release func()) {
	arrived, gate := make(chan struct{}), make(chan struct{})
	var seen atomic.Int64
	var once sync.Once
	srv.SetBefore(func(int, string) int {
		if seen.Add(1) >= int64(n) {
			select {
			case <-gate:
				return 0
			default:
			}
			once.Do(func() { close(arrived) })
			<-gate
		}
		return 0
	})
	return arrived, func() { close(gate) }
}

// seedBreachFingerprints stores n users whose passwords have breach fingerprints (none of them
// breached), keyed with the cluster's key file as the instances do, and returns the distinct
// prefixes of every stored fingerprint (theirs, and those of users who signed in), sorted.
func seedBreachFingerprints(t *testing.T, c *cluster, n int) []string {
	t.Helper()
	ctx := context.Background()
	secret, err := auth.LoadOrCreateSecret(c.key)
	if err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(secret)
	st := storetest.OpenAt(t, c.db)
	for i := range n {
		u, err := st.CreateUser(ctx, store.User{Email: fmt.Sprintf("seed%03d@example.com", i), Name: "Seed", Role: store.RoleUser}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		prefix, mac := keys.BreachFingerprint(fmt.Sprintf("seeded password number %d of this run %d", i, time.Now().UnixNano()))
		if err := st.SetPassword(ctx, u.ID, store.NewPassword{Hash: "seeded", MinLength: 14, MinScore: 3, BreachPrefix: prefix, BreachHMAC: mac}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	cands, err := st.BreachCandidates(ctx, "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, cand := range cands {
		prefixes = append(prefixes, cand.Prefix)
	}
	return slices.Compact(prefixes) // sorted by BreachCandidates
}

// waitForRuns waits until the weekly breach check has finished n runs in all.
func waitForRuns(t *testing.T, c *cluster, n int) {
	t.Helper()
	st := storetest.OpenAt(t, c.db)
	waitFor(t, fmt.Sprintf("breach check run %d finished", n), 2*jobs.LeaseTTL+30*time.Second, func() bool {
		evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: store.EventPasswordBreachCheckCompleted})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > n {
			t.Fatalf("%d breach check runs finished, want %d", len(evs), n)
		}
		return len(evs) == n
	})
}

// savedDone is the set of prefixes the run under way has saved as done.
func savedDone(t *testing.T, c *cluster) map[string]bool {
	t.Helper()
	st := storetest.OpenAt(t, c.db)
	j, err := st.BreachJob(context.Background())
	if err != nil || !j.Running {
		t.Fatalf("breach job %+v %v, want a run under way", j, err)
	}
	done := map[string]bool{}
	cands, err := st.BreachCandidates(context.Background(), "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, cand := range cands {
		if cand.Prefix <= j.Cursor || slices.Contains(j.DoneAhead, cand.Prefix) {
			done[cand.Prefix] = true
		}
	}
	return done
}

// writeAndKill has the admin add users on both instances at once, kills a with SIGKILL after
// its tenth acknowledged write, keeps writing on b, and returns every address whose creation
// was acknowledged (303) by either.
func writeAndKill(t *testing.T, admin *web, a, b *instance) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	var onA, onB atomic.Int64
	ack := func(email string) {
		mu.Lock()
		acked = append(acked, email)
		mu.Unlock()
	}
	create := func(in *instance, i int) (string, bool) {
		email := fmt.Sprintf("%s-%03d@example.com", in.name, i)
		r, err := admin.send(in, http.MethodPost, "/users", url.Values{"name": {"Written " + email}, "email": {email}, "role": {"user"}})
		return email, err == nil && r.status == http.StatusSeeOther
	}
	killed := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // writes on a until it dies
		defer wg.Done()
		for i := 0; ; i++ {
			email, ok := create(a, i)
			if !ok {
				return
			}
			ack(email)
			if onA.Add(1) == 10 {
				go func() { a.kill(); close(killed) }() // while the next write is under way
			}
		}
	}()
	go func() { // writes on b throughout, and ten more after the kill
		defer wg.Done()
		after := 0
		for i := 0; after < 10; i++ {
			email, ok := create(b, i)
			if !ok {
				t.Errorf("b refused write %d (%s): the surviving instance must keep serving", i, email)
				return
			}
			ack(email)
			onB.Add(1)
			select {
			case <-killed:
				after++
			default:
			}
		}
	}()
	wg.Wait()
	if onA.Load() < 10 || onB.Load() < 10 {
		t.Fatalf("acknowledged writes: %d on a, %d on b; want at least 10 each", onA.Load(), onB.Load())
	}
	admin.must(b, http.MethodGet, "/users", nil, http.StatusOK)
	return acked
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}
