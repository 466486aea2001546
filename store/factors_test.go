package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// TestSignInFactors: a sign-in's factors are added to (a bitwise OR, so steps that pass at once
// lose nothing) and its session keeps them.
func TestSignInFactors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "f@example.com", "F", store.RoleUser)
	if err := s.CreateSignIn(ctx, store.SignIn{IDHash: []byte("si"), UserID: u.ID, Progress: store.Progress{Password: true, Factors: 1},
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	p, err := s.AdvanceSignIn(ctx, []byte("si"), store.Progress{SecondFactor: true, Factors: 2, StepUp: true})
	if want := (store.Progress{Password: true, SecondFactor: true, Factors: 3, StepUp: true}); err != nil || p != want {
		t.Errorf("AdvanceSignIn = %+v, %v; want %+v", p, err, want)
	}
	if p, err = s.AdvanceSignIn(ctx, []byte("si"), store.Progress{Factors: 2}); err != nil || p.Factors != 3 {
		t.Errorf("a factor added twice: %d, %v; want 3", p.Factors, err)
	}
	if err := s.CreateSession(ctx, store.Session{IDHash: []byte("se"), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0,
		ExpiresAt: t0.Add(time.Hour), Factors: 3}); err != nil {
		t.Fatal(err)
	}
	if sess, _, err := s.SessionUser(ctx, []byte("se"), t0); err != nil || sess.Factors != 3 {
		t.Errorf("session factors %d, %v; want 3", sess.Factors, err)
	}
}
