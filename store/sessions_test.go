package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func newSession(t *testing.T, s *store.Store, id string, userID int64, expires time.Time) store.Session {
	t.Helper()
	sess := store.Session{IDHash: []byte(id), UserID: userID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: expires, IP: "192.0.2.1", UserAgent: "test/1.0"}
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", id, err)
	}
	return sess
}

func TestSessionUser(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleAdmin)
	expires := t0.Add(time.Hour)
	want := newSession(t, s, "sess", u.ID, expires)

	gotS, gotU, err := s.SessionUser(ctx, []byte("sess"), t0)
	if err != nil {
		t.Fatalf("SessionUser: %v", err)
	}
	if !reflect.DeepEqual(gotS, want) {
		t.Errorf("session = %+v, want %+v", gotS, want)
	}
	if !reflect.DeepEqual(gotU, u) {
		t.Errorf("user = %+v, want %+v", gotU, u)
	}

	tests := []struct {
		name string
		id   string
		now  time.Time
		ok   bool
	}{
		{"a second before expiry", "sess", expires.Add(-time.Second), true},
		{"at expiry", "sess", expires, false},
		{"after expiry", "sess", expires.Add(time.Hour), false},
		{"unknown id", "other", t0, false},
	}
	for _, tt := range tests {
		_, _, err := s.SessionUser(ctx, []byte(tt.id), tt.now)
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, store.ErrNotFound) {
			want := "nil"
			if !tt.ok {
				want = "ErrNotFound"
			}
			t.Errorf("%s: SessionUser err = %v, want %s", tt.name, err, want)
		}
	}

	later := t0.Add(10 * time.Minute)
	if err := s.TouchSession(ctx, []byte("sess"), later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	gotS, _, _ = s.SessionUser(ctx, []byte("sess"), later)
	if !gotS.LastSeenAt.Equal(later) || !gotS.CreatedAt.Equal(t0) {
		t.Errorf("after TouchSession: last seen %v, created %v; want %v, %v", gotS.LastSeenAt, gotS.CreatedAt, later, t0)
	}
}

func TestCreateSessionUnknownUser(t *testing.T) {
	s, _ := newStore(t)
	err := s.CreateSession(context.Background(), store.Session{IDHash: []byte("x"), UserID: 42, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err == nil {
		t.Errorf("CreateSession for a user that does not exist succeeded, want a foreign key error")
	}
}

func TestDeleteSessions(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := createUser(t, s, "a@example.com", "A", store.RoleUser)
	b := createUser(t, s, "b@example.com", "B", store.RoleUser)
	exp := t0.Add(time.Hour)
	for _, id := range []string{"a1", "a2", "a3"} {
		newSession(t, s, id, a.ID, exp)
	}
	newSession(t, s, "b1", b.ID, exp)
	live := func(id string) bool {
		_, _, err := s.SessionUser(ctx, []byte(id), t0)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SessionUser(%s): %v", id, err)
		}
		return err == nil
	}

	n, err := s.DeleteUserSessions(ctx, a.ID, []byte("a2"))
	if err != nil || n != 2 {
		t.Errorf("DeleteUserSessions(a, keep a2) = %d, %v; want 2, nil", n, err)
	}
	for id, want := range map[string]bool{"a1": false, "a2": true, "a3": false, "b1": true} {
		if got := live(id); got != want {
			t.Errorf("after DeleteUserSessions(a, keep a2): session %s live = %v, want %v", id, got, want)
		}
	}

	n, err = s.DeleteUserSessions(ctx, a.ID, nil)
	if err != nil || n != 1 {
		t.Errorf("DeleteUserSessions(a, keep none) = %d, %v; want 1, nil", n, err)
	}
	if live("a2") || !live("b1") {
		t.Errorf("after DeleteUserSessions(a, nil): a2 live %v, b1 live %v; want false, true", live("a2"), live("b1"))
	}

	if err := s.DeleteSession(ctx, []byte("b1")); err != nil {
		t.Errorf("DeleteSession: %v", err)
	}
	if live("b1") {
		t.Errorf("b1 still live after DeleteSession")
	}
	if err := s.DeleteSession(ctx, []byte("b1")); err != nil {
		t.Errorf("DeleteSession of a session already gone = %v, want nil", err)
	}
}

// TestDeleteUserCascades deletes a user with raw SQL on the store's own connections (there is
// no API for it yet): its sessions, sign-ins and their codes go with it, which also shows that
// the store's connections enforce foreign keys.
func TestDeleteUserCascades(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	gone := createUser(t, s, "gone@example.com", "Gone", store.RoleUser)
	stays := createUser(t, s, "stays@example.com", "Stays", store.RoleUser)
	exp := t0.Add(time.Hour)
	newSession(t, s, "g-sess", gone.ID, exp)
	newSession(t, s, "s-sess", stays.ID, exp)
	for _, si := range []store.SignIn{
		{IDHash: []byte("g-signin"), UserID: gone.ID, CreatedAt: t0, ExpiresAt: exp},
		{IDHash: []byte("s-signin"), UserID: stays.ID, CreatedAt: t0, ExpiresAt: exp},
	} {
		if err := s.CreateSignIn(ctx, si); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReplaceEmailCode(ctx, store.EmailCode{SignInHash: si.IDHash, CodeHash: []byte("c"), CreatedAt: t0, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}

	db := store.RawDB(s)
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, gone.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	for table, want := range map[string]int{"sessions": 1, "signins": 1, "email_codes": 1} {
		if got := count(t, db, `SELECT count(*) FROM `+table); got != want {
			t.Errorf("%s: %d rows after deleting a user, want %d (the other user's)", table, got, want)
		}
	}
	if _, _, err := s.SessionUser(ctx, []byte("g-sess"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted user's session: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.SessionUser(ctx, []byte("s-sess"), t0); err != nil {
		t.Errorf("other user's session: %v, want kept", err)
	}
}
