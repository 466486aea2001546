package breach_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/store"
)

// A run interrupted halfway (the server shuts down) resumes after a restart where it stopped:
// no finished prefix is asked for again, and every prefix is asked for.
func TestBreachRunResumesAfterRestart(t *testing.T) {
	srv := breachtest.NewServer(t, "user password 3", "user password 37")
	e := newEnv(t)
	const users = 48
	var all []string
	for i := range users {
		u := e.createUser(fmt.Sprintf("u%02d@example.com", i), fmt.Sprintf("User %d", i), store.RoleUser, store.StatusActive)
		p := fmt.Sprintf("user password %d", i)
		e.setPassword(u, p)
		all = append(all, breachtest.Hex(p)[:5])
	}
	slices.Sort(all)
	all = slices.Compact(all)
	e.createUser("root@example.com", "Root Super", store.RoleSuperAdmin, store.StatusActive)

	job := e.job(srv.Client(t), 4)
	if err := job.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(breach.Interval)

	// Shut down while the 20th range is being asked for.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.SetBefore(func(n int, _ string) int {
		if n == 20 {
			cancel()
		}
		return 0
	})
	if err := job.Step(ctx); err == nil {
		t.Fatal("the interrupted run reported no error")
	}
	first := srv.Counts()
	st := e.jobState()
	if !st.Running || st.LastError != "" {
		t.Fatalf("after the interruption: %+v; want running, no error", st)
	}
	done := map[string]bool{}
	for _, p := range all {
		if p <= st.Cursor || slices.Contains(st.DoneAhead, p) {
			done[p] = true
		}
	}
	if len(done) < 10 || len(done) >= len(all) {
		t.Fatalf("done after the interruption: %d of %d prefixes (cursor %s, ahead %v)", len(done), len(all), st.Cursor, st.DoneAhead)
	}
	for p := range done {
		if first[p] != 1 {
			t.Errorf("prefix %s recorded done but asked %d times", p, first[p])
		}
	}
	if st.Requests != len(done) {
		t.Errorf("requests recorded %d, want %d", st.Requests, len(done))
	}

	// Restart: a new job on the same database resumes at once (the run is still due). It asks
	// a second server, so that requests of the first run still arriving at the first one
	// (sent before the shutdown) are not counted as the second run's.
	srv2 := breachtest.NewServer(t, "user password 3", "user password 37")
	if err := e.job(srv2.Client(t), 4).Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := srv2.Counts()
	for p := range second {
		if done[p] {
			t.Errorf("prefix %s was done before the restart and asked again", p)
		}
	}
	for _, p := range all {
		if !done[p] && second[p] != 1 {
			t.Errorf("prefix %s: asked %d times after the restart, want once", p, second[p])
		}
	}
	st = e.jobState()
	if st.Running || st.LastUsersChecked != users || st.LastHits != 2 || st.LastRequests != len(all) {
		t.Errorf("after the resumed run: %+v; want %d users, 2 hits, %d requests", st, users, len(all))
	}
	if n := len(e.eventsOf(store.EventPasswordBreachDetected)); n != 2 {
		t.Errorf("password_breach_detected: %d, want 2", n)
	}
	if n := e.mailsTo("root@example.com"); n != 2 {
		t.Errorf("mails to the super admin: %d, want 2", n)
	}
}

// "a restart neither repeats nor skips a run, and an interrupted run resumes where it stopped"
// (issue 8). When the transaction that flags a hit fails (here a trigger makes the database
// refuse it, as a full disk or a lock timeout would), runPage has already marked the prefix
// done, and the final SaveBreachProgress stores the cursor past it: the resumed run never
// looks at that prefix again and the breached user is not flagged until next week.
func TestBreachHitNotLostWhenItsTransactionFails(t *testing.T) {
	srv := breachtest.NewServer(t, breachedPW)
	e := newEnv(t)
	ctx := context.Background()
	e.createUser("root@example.com", "Root", store.RoleSuperAdmin, store.StatusActive)
	hit := e.createUser("hit@example.com", "Hit", store.RoleUser, store.StatusActive)
	e.setPassword(hit, breachedPW)

	if err := e.db.FailInserts("events", "review_fail_hit", "NEW.type = 'password_breach_detected'", "disk full"); err != nil {
		t.Fatal(err)
	}
	job := e.job(srv.Client(t), 2)
	if err := job.Step(ctx); err != nil { // schedules the first run
		t.Fatal(err)
	}
	e.clock.Advance(breach.Interval)
	if err := job.Step(ctx); err == nil {
		t.Fatal("the run did not report the failed transaction")
	}
	if e.user(hit.ID).PasswordResetRequired {
		t.Fatal("test setup: the hit was flagged although its transaction failed")
	}

	// The database recovers; the stopped run resumes after its retry delay.
	if err := e.db.DropTrigger("events", "review_fail_hit"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(breach.Interval / 7) // a day: well past the 15-minute retry delay
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.user(hit.ID).PasswordResetRequired {
		t.Errorf("the resumed run skipped the prefix whose hit failed to apply; job state %+v", e.jobState())
	}
}
