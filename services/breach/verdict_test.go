package breach_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/breach/breachtest"
	"github.com/weftid/weftid/store"
)

// Check asks for the password's range once; an unreachable service gives a reason that does
// not name the password's prefix, and checking off asks nothing.
func TestCheck(t *testing.T) {
	srv := breachtest.NewServer(t, breachedPW)
	down := breachtest.NewServer(t)
	unreachable := down.Client(t)
	down.Close()
	e := newEnv(t)
	tests := []struct {
		name     string
		client   *breach.Client
		password string
		breached bool
		skipped  bool
	}{
		{"breached", srv.Client(t), breachedPW, true, false},
		{"clean", srv.Client(t), cleanPW, false, false},
		{"off", nil, breachedPW, false, false},
		{"unreachable", unreachable, breachedPW, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Counts()
			v := e.job(tt.client, 1).Check(context.Background(), tt.password)
			if v.Breached != tt.breached || (v.Skipped != "") != tt.skipped {
				t.Errorf("Check = %+v; want breached %v, skipped %v", v, tt.breached, tt.skipped)
			}
			if prefix := breachtest.Hex(tt.password)[:5]; strings.Contains(v.Skipped, prefix) {
				t.Errorf("the reason names the password's prefix: %q", v.Skipped)
			}
			if got := srv.Counts(); tt.client == nil && len(got) != 0 {
				t.Errorf("checking off asked the service: %v", got)
			}
		})
	}
}

// Screen asks only for a form with no other problem, and adds Message for a breached password.
func TestScreen(t *testing.T) {
	srv := breachtest.NewServer(t, breachedPW)
	svc := newEnv(t).job(srv.Client(t), 1)
	ctx := context.Background()
	other := []string{"The two passwords do not match."}
	if got, v := svc.Screen(ctx, breachedPW, other); !slices.Equal(got, other) || v != (breach.Verdict{}) {
		t.Errorf("Screen with a problem = %q, %+v; want the problem alone", got, v)
	}
	if got := srv.Counts(); len(got) != 0 {
		t.Errorf("a form with a problem asked the service: %v", got)
	}
	if got, v := svc.Screen(ctx, breachedPW, nil); !slices.Equal(got, []string{breach.Message}) || !v.Breached {
		t.Errorf("Screen(breached) = %q, %+v; want Message", got, v)
	}
	if got, v := svc.Screen(ctx, cleanPW, nil); len(got) != 0 || v != (breach.Verdict{}) {
		t.Errorf("Screen(clean) = %q, %+v; want nothing", got, v)
	}
}

// Record keeps the rule a password was set under and its fingerprint; LogSkipped writes
// password_breach_check_skipped only when the check was skipped.
func TestRecordAndLogSkipped(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u := e.createUser("ann@example.com", "Ann User", store.RoleSuperAdmin, store.StatusActive)
	subject := auth.PasswordSubject{Email: u.Email, SuperAdmin: true}
	policy := auth.PasswordPolicy{MinLength: 16, MinScore: 4}
	rec := breach.Record(e.keys, "$argon2id$x", cleanPW, subject, policy)
	prefix, mac := e.keys.BreachFingerprint(cleanPW)
	if rec.Hash != "$argon2id$x" || rec.MinLength != policy.MinLengthFor(subject) || rec.MinScore != policy.ScoreFloor() ||
		rec.BreachPrefix != prefix || string(rec.BreachHMAC) != string(mac) {
		t.Errorf("Record = %+v; want the hash, length %d, score %d and the fingerprint %s", rec, policy.MinLengthFor(subject), policy.ScoreFloor(), prefix)
	}
	err := e.store.InTx(ctx, func(tx *store.Tx) error {
		ev := store.Event{At: e.clock.Now(), ActorID: &u.ID, UserID: &u.ID, IP: "192.0.2.7"}
		if err := (breach.Verdict{}).LogSkipped(ctx, tx, ev); err != nil {
			return err
		}
		return (breach.Verdict{Skipped: "hibp: unreachable"}).LogSkipped(ctx, tx, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := e.eventsOf("")
	if len(evs) != 1 {
		t.Fatalf("events: %s; want one", eventSummary(evs))
	}
	ev := evs[0]
	if ev.Type != store.EventPasswordBreachCheckSkipped || ev.Details["reason"] != "hibp: unreachable" || *ev.UserID != u.ID || *ev.ActorID != u.ID || ev.IP != "192.0.2.7" {
		t.Errorf("skipped event: %+v", ev)
	}
}

// RunNow logs who asked and makes a run due now; Run, waiting for its next tick an hour away,
// wakes and runs it.
func TestRunNowWakesRun(t *testing.T) {
	asked := make(chan string, 8)
	srv := breachtest.NewServer(t, breachedPW)
	srv.SetBefore(func(_ int, prefix string) int { asked <- prefix; return 0 })
	e := newEnv(t)
	root := e.createUser("root@example.com", "Root", store.RoleSuperAdmin, store.StatusActive)
	victim := e.createUser("vic@example.com", "Vic", store.RoleUser, store.StatusActive)
	e.setPassword(victim, breachedPW)
	svc := e.job(srv.Client(t), 1) // Tick: a minute by default; the clock does not move
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { svc.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()

	if err := svc.RunNow(ctx, breach.Actor{UserID: root.ID, IP: "192.0.2.9", UserAgent: "test agent"}); err != nil {
		t.Fatal(err)
	}
	ev := e.lastEvent(store.EventPasswordBreachCheckRequested)
	if ev.ActorID == nil || *ev.ActorID != root.ID || ev.IP != "192.0.2.9" || ev.UserAgent != "test agent" || !ev.At.Equal(e.clock.Now()) {
		t.Errorf("password_breach_check_requested: %+v", ev)
	}
	select {
	case prefix := <-asked:
		if want := breachtest.Hex(breachedPW)[:5]; prefix != want {
			t.Errorf("asked for %s, want %s", prefix, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not wake up for RunNow")
	}
	e.waitMail(root.Email) // the hit is applied before the admins are mailed
	if !e.user(victim.ID).PasswordResetRequired {
		t.Error("the run RunNow started did not flag the breached password")
	}
}
