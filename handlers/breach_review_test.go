package handlers_test

import (
	"context"
	"testing"

	"github.com/weftid/weftid/handlers"
	"github.com/weftid/weftid/store"
)

// "a restart neither repeats nor skips a run, and an interrupted run resumes where it stopped"
// (issue 8). When the transaction that flags a hit fails (here a trigger makes the database
// refuse it, as a full disk or a lock timeout would), runPage has already marked the prefix
// done, and the final SaveBreachProgress stores the cursor past it: the resumed run never
// looks at that prefix again and the breached user is not flagged until next week.
func TestBreachHitNotLostWhenItsTransactionFails(t *testing.T) {
	srv := newRangeServer(t, breachedPW)
	e := newBreachEnv(t, nil)
	ctx := context.Background()
	e.createUser("root@example.com", "Root", store.RoleSuperAdmin, store.StatusActive)
	hit := e.createUser("hit@example.com", "Hit", store.RoleUser, store.StatusActive)
	e.setPassword(hit, breachedPW)

	if _, err := e.db.Exec(`CREATE TRIGGER review_fail_hit BEFORE INSERT ON events
		WHEN NEW.type = 'password_breach_detected' BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
		t.Fatal(err)
	}
	job := e.job(srv.client(t), 2)
	if err := job.Step(ctx); err != nil { // schedules the first run
		t.Fatal(err)
	}
	e.clock.Advance(handlers.BreachInterval)
	if err := job.Step(ctx); err == nil {
		t.Fatal("the run did not report the failed transaction")
	}
	if e.user(hit.ID).PasswordResetRequired {
		t.Fatal("test setup: the hit was flagged although its transaction failed")
	}

	// The database recovers; the stopped run resumes after its retry delay.
	if _, err := e.db.Exec(`DROP TRIGGER review_fail_hit`); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(handlers.BreachInterval / 7) // a day: well past the 15-minute retry delay
	if err := job.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.user(hit.ID).PasswordResetRequired {
		t.Errorf("the resumed run skipped the prefix whose hit failed to apply; job state %+v", e.jobState())
	}
}
