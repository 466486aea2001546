package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftid/weftid/migrations"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

func TestCreateSignInWithProgress(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	si := store.SignIn{IDHash: []byte("si"), UserID: u.ID, Progress: store.Progress{Password: true, SecondFactor: true}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSignIn(ctx, si); err != nil {
		t.Fatal(err)
	}
	got, err := s.SignInByHash(ctx, si.IDHash, t0)
	if err != nil || got.Progress != si.Progress {
		t.Errorf("Progress = %+v, %v; want %+v", got.Progress, err, si.Progress)
	}
}

// TestAdvanceSignIn: each step is recorded once, in its own column, and the write returns the
// progress as stored, steps finished before included.
func TestAdvanceSignIn(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	newSignIn(t, s, "si", t0.Add(time.Hour))
	stored := func() store.Progress {
		t.Helper()
		got, err := s.SignInByHash(ctx, []byte("si"), t0)
		if err != nil {
			t.Fatalf("SignInByHash: %v", err)
		}
		return got.Progress
	}
	advance := func(done store.Progress) store.Progress {
		t.Helper()
		p, err := s.AdvanceSignIn(ctx, []byte("si"), done)
		if err != nil {
			t.Fatalf("AdvanceSignIn(%+v): %v", done, err)
		}
		if got := stored(); got != p {
			t.Errorf("AdvanceSignIn returned %+v, stored %+v", p, got)
		}
		return p
	}

	if got := stored(); got != (store.Progress{}) {
		t.Errorf("new sign-in: progress %+v, want none", got)
	}
	advance(store.Progress{Password: true})
	if got := advance(store.Progress{Password: true}); got != (store.Progress{Password: true}) {
		t.Errorf("after the password twice: %+v, want only Password", got)
	}
	advance(store.Progress{SecondFactor: true})
	if got, want := advance(store.Progress{Password: true, SecondFactor: true}), (store.Progress{Password: true, SecondFactor: true}); got != want {
		t.Errorf("progress = %+v, want %+v", got, want)
	}
	// Advancing a sign-in that does not exist changes nothing, and says so.
	if _, err := s.AdvanceSignIn(ctx, []byte("nope"), store.Progress{Password: true}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AdvanceSignIn(unknown) = %v, want ErrNotFound", err)
	}
}

// TestAdvanceSignInOneStepEach: every step is a column of its own, so marking one never marks
// another (with the old comma-joined list, a step was matched as text).
func TestAdvanceSignInOneStepEach(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	for i, step := range []store.Progress{
		{Password: true}, {SecondFactor: true}, {ResetPassword: true},
		{EmailCode: true}, {StrongFactor: true}, {Enrolled: true},
	} {
		id := []byte{byte(i)}
		if err := s.CreateSignIn(ctx, store.SignIn{IDHash: id, UserID: u.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.AdvanceSignIn(ctx, id, step)
		if err != nil || got != step {
			t.Errorf("AdvanceSignIn(%+v) = %+v, %v; want only that step", step, got, err)
		}
	}
}

func TestProgressWith(t *testing.T) {
	p := store.Progress{Password: true, EmailCode: true}
	if got, want := p.With(store.Progress{SecondFactor: true, EmailCode: true}), (store.Progress{Password: true, SecondFactor: true, EmailCode: true}); got != want {
		t.Errorf("With = %+v, want %+v", got, want)
	}
}

// TestSignInProgressMigration: the progress migration carries each sign-in's steps from the
// comma-joined steps_done into its columns and, rolled back, back again.
func TestSignInProgressMigration(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	want := store.Progress{Password: true, ResetPassword: true, SecondFactor: true, EmailCode: true}
	if err := s.CreateSignIn(ctx, store.SignIn{IDHash: []byte("si"), UserID: u.ID, Progress: want, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	db := secondHandle(t, path)
	p, err := migrations.Provider(db.DB, storetest.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 12); err != nil {
		t.Fatalf("down to 12: %v", err)
	}
	var steps string
	if err := db.QueryRowContext(ctx, `SELECT steps_done FROM signins WHERE id_hash = ?`, []byte("si")).Scan(&steps); err != nil || steps != "password,reset_password,second_factor,email_code" {
		t.Errorf("steps_done after down = %q, %v; want password,reset_password,second_factor,email_code", steps, err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE signins SET steps_done = 'password,enrolled,strong_factor'`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	got, err := s.SignInByHash(ctx, []byte("si"), t0)
	if want := (store.Progress{Password: true, Enrolled: true, StrongFactor: true}); err != nil || got.Progress != want {
		t.Errorf("progress after up = %+v, %v; want %+v", got.Progress, err, want)
	}
}
