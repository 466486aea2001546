package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func newSignIn(t *testing.T, s *store.Store, id string, expires time.Time) store.SignIn {
	t.Helper()
	u, err := s.UserByEmail(context.Background(), "signin@example.com")
	if errors.Is(err, store.ErrNotFound) {
		u = createUser(t, s, "signin@example.com", "Signin", store.RoleUser)
	} else if err != nil {
		t.Fatal(err)
	}
	si := store.SignIn{IDHash: []byte(id), UserID: u.ID, ReturnTo: "/saml/sso?x=1", CreatedAt: t0, ExpiresAt: expires}
	if err := s.CreateSignIn(context.Background(), si); err != nil {
		t.Fatalf("CreateSignIn(%s): %v", id, err)
	}
	return si
}

func TestSignIn(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	exp := t0.Add(15 * time.Minute)
	want := newSignIn(t, s, "si", exp)

	got, err := s.SignInByHash(ctx, []byte("si"), t0)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SignInByHash = %+v, %v; want %+v", got, err, want)
	}
	for _, tt := range []struct {
		name string
		now  time.Time
		ok   bool
	}{
		{"a second before expiry", exp.Add(-time.Second), true},
		{"at expiry", exp, false},
		{"after expiry", exp.Add(time.Minute), false},
	} {
		_, err := s.SignInByHash(ctx, []byte("si"), tt.now)
		if tt.ok && err != nil || !tt.ok && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: SignInByHash err = %v, want ok %v (ErrNotFound otherwise)", tt.name, err, tt.ok)
		}
	}
	if _, err := s.SignInByHash(ctx, []byte("nope"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SignInByHash(unknown) err = %v, want ErrNotFound", err)
	}
}

func TestDeleteSignIn(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	si := newSignIn(t, s, "si", t0.Add(time.Hour))
	if _, err := s.ReplaceEmailCode(ctx, store.EmailCode{SignInHash: si.IDHash, CodeHash: []byte("c"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSignIn(ctx, si.IDHash); err != nil {
		t.Errorf("first DeleteSignIn = %v, want nil", err)
	}
	if err := s.DeleteSignIn(ctx, si.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteSignIn = %v, want ErrNotFound", err)
	}
	if _, err := s.SignInByHash(ctx, si.IDHash, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SignInByHash after delete err = %v, want ErrNotFound", err)
	}
	if c, err := s.EmailCodeForSignIn(ctx, si.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EmailCodeForSignIn after deleting its sign-in = %+v, %v; want ErrNotFound (codes go with it)", c, err)
	}
}

func newCode(t *testing.T, s *store.Store, signin []byte, code string, expires time.Time) store.EmailCode {
	t.Helper()
	c, err := s.ReplaceEmailCode(context.Background(), store.EmailCode{SignInHash: signin, CodeHash: []byte(code), CreatedAt: t0, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("ReplaceEmailCode(%s): %v", code, err)
	}
	return c
}

func TestReplaceEmailCode(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	si := newSignIn(t, s, "si", t0.Add(time.Hour))
	other := newSignIn(t, s, "other", t0.Add(time.Hour))
	exp := t0.Add(10 * time.Minute)
	otherCode := newCode(t, s, other.IDHash, "o1", exp)
	first := newCode(t, s, si.IDHash, "c1", exp)
	second := newCode(t, s, si.IDHash, "c2", exp)
	if first.ID == 0 || second.ID == 0 {
		t.Fatalf("code ids %d then %d, want non-zero", first.ID, second.ID)
	}

	got, err := s.EmailCodeForSignIn(ctx, si.IDHash)
	want := store.EmailCode{ID: second.ID, SignInHash: si.IDHash, CodeHash: []byte("c2"), CreatedAt: t0, ExpiresAt: exp}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("EmailCodeForSignIn = %+v, %v; want %+v", got, err, want)
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM email_codes WHERE signin_hash = ?`, si.IDHash); n != 1 {
		t.Errorf("%d codes stored for the sign-in, want only the newest", n)
	}
	if got, err := s.EmailCodeForSignIn(ctx, other.IDHash); err != nil || got.ID != otherCode.ID {
		t.Errorf("the other sign-in's code = %+v, %v; want %d untouched", got, err, otherCode.ID)
	}
	if _, err := s.EmailCodeForSignIn(ctx, []byte("none")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EmailCodeForSignIn(no code) err = %v, want ErrNotFound", err)
	}

	if err := s.DeleteEmailCode(ctx, second.ID); err != nil {
		t.Errorf("DeleteEmailCode: %v", err)
	}
	if _, err := s.EmailCodeForSignIn(ctx, si.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EmailCodeForSignIn after DeleteEmailCode err = %v, want ErrNotFound", err)
	}
}

// TestEmailCodeIDsNotReused: the verify handler reads the sign-in's code, compares the hash,
// then counts a wrong guess or consumes the code by its id. If a resend (or a cleanup) lands in
// between, the id must not point at another code. email_codes.id is INTEGER PRIMARY KEY without
// AUTOINCREMENT, so SQLite hands the id of a deleted newest row to the next insert: the replaced
// code's id then names the new code (or another sign-in's code).
func TestEmailCodeIDsNotReused(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	exp := t0.Add(time.Hour)

	t.Run("replaced code", func(t *testing.T) {
		si := newSignIn(t, s, "resent", exp)
		old := newCode(t, s, si.IDHash, "old", exp)
		cur := newCode(t, s, si.IDHash, "new", exp)
		if cur.ID == old.ID {
			t.Errorf("the new code got the replaced code's id %d, want a new id", old.ID)
		}
		if n, err := s.CountEmailCodeTry(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CountEmailCodeTry(replaced code's id) = %d, %v; want ErrNotFound", n, err)
		}
		if err := s.ConsumeEmailCode(ctx, old.ID, t0, 5); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeEmailCode(replaced code's id) = %v, want ErrNotFound", err)
		}
		if got, err := s.EmailCodeForSignIn(ctx, si.IDHash); err != nil || string(got.CodeHash) != "new" || got.Attempts != 0 {
			t.Errorf("the new code = %+v, %v; want it unused with 0 attempts", got, err)
		}
	})

	t.Run("another sign-in's code", func(t *testing.T) {
		a := newSignIn(t, s, "a", exp)
		b := newSignIn(t, s, "b", exp)
		codeA := newCode(t, s, a.IDHash, "a", exp)
		if err := s.DeleteEmailCode(ctx, codeA.ID); err != nil { // e.g. the send failed
			t.Fatal(err)
		}
		codeB := newCode(t, s, b.IDHash, "b", exp)
		if codeB.ID == codeA.ID {
			t.Errorf("sign-in b's code got sign-in a's deleted code id %d, want a new id", codeA.ID)
		}
		if err := s.ConsumeEmailCode(ctx, codeA.ID, t0, 5); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeEmailCode(a's deleted code id) = %v, want ErrNotFound", err)
		}
		if _, err := s.EmailCodeForSignIn(ctx, b.IDHash); err != nil {
			t.Errorf("sign-in b's code: %v, want it still there", err)
		}
	})
}

func TestEmailCodeForUnknownSignIn(t *testing.T) {
	s, _ := newStore(t)
	_, err := s.ReplaceEmailCode(context.Background(), store.EmailCode{SignInHash: []byte("nope"), CodeHash: []byte("c"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if err == nil {
		t.Errorf("ReplaceEmailCode for a sign-in that does not exist succeeded, want a foreign key error")
	}
}

func TestCountEmailCodeTry(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	si := newSignIn(t, s, "si", t0.Add(time.Hour))
	c := newCode(t, s, si.IDHash, "c", t0.Add(time.Hour))
	for want := 1; want <= 3; want++ {
		if got, err := s.CountEmailCodeTry(ctx, c.ID); err != nil || got != want {
			t.Errorf("CountEmailCodeTry #%d = %d, %v; want %d, nil", want, got, err, want)
		}
	}
	if got, _ := s.EmailCodeForSignIn(ctx, si.IDHash); got.Attempts != 3 {
		t.Errorf("Attempts = %d, want 3", got.Attempts)
	}
	if got, err := s.CountEmailCodeTry(ctx, c.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CountEmailCodeTry(unknown) = %d, %v; want ErrNotFound", got, err)
	}
}

func TestConsumeEmailCode(t *testing.T) {
	ctx := context.Background()
	const max = 5
	exp := t0.Add(10 * time.Minute)
	tests := []struct {
		name  string
		tries int
		now   time.Time
		ok    bool
	}{
		{"fresh", 0, t0, true},
		{"one try short of the limit", max - 1, t0, true},
		{"at the limit", max, t0, false},
		{"over the limit", max + 1, t0, false},
		{"a second before expiry", 0, exp.Add(-time.Second), true},
		{"at expiry", 0, exp, false},
		{"after expiry", 0, exp.Add(time.Hour), false},
	}
	s, _ := newStore(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			si := newSignIn(t, s, "si"+string(rune('a'+i)), t0.Add(time.Hour))
			c := newCode(t, s, si.IDHash, "c", exp)
			for j := 0; j < tt.tries; j++ {
				if _, err := s.CountEmailCodeTry(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
			}
			err := s.ConsumeEmailCode(ctx, c.ID, tt.now, max)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("ConsumeEmailCode = %v, want ok %v (ErrNotFound otherwise)", err, tt.ok)
			}
			if tt.ok {
				if err := s.ConsumeEmailCode(ctx, c.ID, tt.now, max); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("second ConsumeEmailCode = %v, want ErrNotFound (single use)", err)
				}
			}
		})
	}
}

func TestConsumeEmailCodeConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	si := newSignIn(t, s, "si", t0.Add(time.Hour))
	c := newCode(t, s, si.IDHash, "c", t0.Add(time.Hour))

	const n = 10
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.ConsumeEmailCode(ctx, c.ID, t0, 5)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("goroutine %d: ConsumeEmailCode = %v, want nil or ErrNotFound", i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent ConsumeEmailCode calls succeeded, want exactly 1", wins, n)
	}
}
