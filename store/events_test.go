package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func ids(events []store.Event) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u1 := createUser(t, s, "one@example.com", "One", store.RoleAdmin).ID
	u2 := createUser(t, s, "two@example.com", "Two", store.RoleUser).ID
	add := []store.Event{
		{At: t0, Type: "user_created", ActorID: &u1, UserID: &u2},
		{At: t0.Add(time.Second), Type: "login_failed", UserID: &u2, IP: "192.0.2.7", UserAgent: "curl/8"},
		{At: t0.Add(2 * time.Second), Type: "user_signed_in", UserID: &u1},
		{At: t0.Add(3 * time.Second), Type: "login_failed", IP: "198.51.100.1"},
		{At: t0.Add(4 * time.Second), Type: "login_failed", UserID: &u2},
		{At: t0.Add(5 * time.Second), Type: "password_policy_updated", ActorID: &u1},
	}
	for _, e := range add {
		if err := s.AddEvent(ctx, e); err != nil {
			t.Fatalf("AddEvent(%s): %v", e.Type, err)
		}
	}
	all, err := s.ListEvents(ctx, store.EventFilter{})
	if err != nil || len(all) != len(add) {
		t.Fatalf("ListEvents() = %d events, %v; want %d", len(all), err, len(add))
	}
	// Newest first; each event comes back as it went in.
	for i, got := range all {
		want := add[len(add)-1-i]
		want.ID = got.ID
		want.Details = map[string]any{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ListEvents()[%d] = %+v, want %+v", i, got, want)
		}
		if i > 0 && got.ID >= all[i-1].ID {
			t.Errorf("ListEvents() ids %v are not newest first", ids(all))
		}
	}
	id := func(i int) int64 { return all[len(add)-1-i].ID } // id of add[i]

	tests := []struct {
		name string
		f    store.EventFilter
		want []int64
	}{
		{"type", store.EventFilter{Type: "login_failed"}, []int64{id(4), id(3), id(1)}},
		{"user", store.EventFilter{UserID: u2}, []int64{id(4), id(1), id(0)}},
		{"type and user", store.EventFilter{Type: "login_failed", UserID: u2}, []int64{id(4), id(1)}},
		{"before", store.EventFilter{BeforeID: id(3)}, []int64{id(2), id(1), id(0)}},
		{"before and type", store.EventFilter{BeforeID: id(4), Type: "login_failed"}, []int64{id(3), id(1)}},
		{"limit", store.EventFilter{Limit: 2}, []int64{id(5), id(4)}},
		{"page 2 with limit", store.EventFilter{Limit: 2, BeforeID: id(4)}, []int64{id(3), id(2)}},
		{"unknown type", store.EventFilter{Type: "nope"}, nil},
		{"before the first", store.EventFilter{BeforeID: id(0)}, nil},
	}
	for _, tt := range tests {
		got, err := s.ListEvents(ctx, tt.f)
		if err != nil || !reflect.DeepEqual(ids(got), tt.want) {
			t.Errorf("%s: ListEvents(%+v) ids = %v, %v; want %v", tt.name, tt.f, ids(got), err, tt.want)
		}
	}
}

func TestListEventsLimitBounds(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for i := 0; i < 105; i++ {
		if err := s.AddEvent(ctx, store.Event{At: t0, Type: "login_failed"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {5, 5}, {1000, 105}, {1001, 100}} {
		got, err := s.ListEvents(ctx, store.EventFilter{Limit: tt.limit})
		if err != nil || len(got) != tt.want {
			t.Errorf("ListEvents(Limit %d) = %d events, %v; want %d", tt.limit, len(got), err, tt.want)
		}
	}
}

func TestEventDetailsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	tests := []map[string]any{
		nil,
		{},
		{"reason": "admin", "forced": true},
		// JSON numbers come back as float64, arrays as []any, objects as map[string]any.
		{"count": 3.0, "methods": []any{"totp", "passkey"}, "old": map[string]any{"min": 8.0}, "none": nil},
		{"unicode": "çé 鍵 🔑", "quote": `he said "hi"`},
	}
	for i, details := range tests {
		typ := store.EventType("t" + string(rune('a'+i)))
		if err := s.AddEvent(ctx, store.Event{At: t0, Type: typ, Details: details}); err != nil {
			t.Fatalf("AddEvent(%v): %v", details, err)
		}
		got, err := s.ListEvents(ctx, store.EventFilter{Type: typ})
		if err != nil || len(got) != 1 {
			t.Fatalf("ListEvents(%s) = %+v, %v", typ, got, err)
		}
		want := details
		if want == nil {
			want = map[string]any{}
		}
		if !reflect.DeepEqual(got[0].Details, want) {
			t.Errorf("Details = %#v, want %#v", got[0].Details, want)
		}
	}
	bad := store.Event{At: t0, Type: "bad", Details: map[string]any{"f": func() {}}}
	if err := s.AddEvent(ctx, bad); err == nil {
		t.Errorf("AddEvent with details that are not JSON succeeded, want an error")
	}
}

func TestAttempts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	const kind, key = store.AttemptPassword, "email:a@example.com"
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	record := func(k, key string, success bool, at time.Time) {
		t.Helper()
		if err := s.RecordAttempt(ctx, k, []string{key}, success, at); err != nil {
			t.Fatalf("RecordAttempt: %v", err)
		}
	}
	// t0+0 fail, +10 fail, +20 success, +30 fail, +40 fail; and noise on other kinds and keys.
	record(kind, key, false, sec(0))
	record(kind, key, false, sec(10))
	record(kind, key, true, sec(20))
	record(kind, key, false, sec(30))
	record(kind, key, false, sec(40))
	record(store.AttemptCode, key, false, sec(35))
	record(kind, "email:b@example.com", false, sec(35))
	record(kind, "email:b@example.com", true, sec(45)) // another key's success wipes nothing here

	tests := []struct {
		since                      time.Time
		attempts, failures, recent int // recent: failures after the latest success
	}{
		{sec(0), 5, 4, 2},
		{sec(10), 4, 3, 2},
		{sec(11), 3, 2, 2},
		{sec(20), 3, 2, 2}, // since is inclusive
		{sec(30), 2, 2, 2},
		{sec(31), 1, 1, 1},
		{sec(40), 1, 1, 1},
		{sec(41), 0, 0, 0},
	}
	for _, tt := range tests {
		if got, err := s.CountAttempts(ctx, kind, key, tt.since); err != nil || got != tt.attempts {
			t.Errorf("CountAttempts(since +%v) = %d, %v; want %d", tt.since.Sub(t0), got, err, tt.attempts)
		}
		if got, err := s.CountFailures(ctx, kind, key, tt.since, false); err != nil || got != tt.failures {
			t.Errorf("CountFailures(since +%v, all) = %d, %v; want %d", tt.since.Sub(t0), got, err, tt.failures)
		}
		if got, err := s.CountFailures(ctx, kind, key, tt.since, true); err != nil || got != tt.recent {
			t.Errorf("CountFailures(since +%v, afterSuccess) = %d, %v; want %d", tt.since.Sub(t0), got, err, tt.recent)
		}
	}

	// A key that never succeeded: afterSuccess counts every failure.
	if got, _ := s.CountFailures(ctx, store.AttemptCode, key, sec(0), true); got != 1 {
		t.Errorf("CountFailures(no success ever, afterSuccess) = %d, want 1", got)
	}
	// A success as the latest attempt leaves nothing to count.
	record(kind, key, true, sec(50))
	if got, _ := s.CountFailures(ctx, kind, key, sec(0), true); got != 0 {
		t.Errorf("CountFailures(afterSuccess) right after a success = %d, want 0", got)
	}
	if got, _ := s.CountFailures(ctx, kind, key, sec(0), false); got != 4 {
		t.Errorf("CountFailures(all) after a success = %d, want 4", got)
	}

	// One call records one row per key.
	if err := s.RecordAttempt(ctx, store.AttemptCodeMail, []string{"email:c@example.com", "ip:192.0.2.1"}, true, sec(0)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"email:c@example.com", "ip:192.0.2.1"} {
		if got, _ := s.CountAttempts(ctx, store.AttemptCodeMail, k, sec(0)); got != 1 {
			t.Errorf("CountAttempts(resend, %s) = %d, want 1", k, got)
		}
	}
}

func TestSetupTokens(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	exp := t0.Add(time.Hour)
	old, cur := []byte("old"), []byte("cur")
	if err := s.ReplaceSetupToken(ctx, old, exp); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSetupToken(ctx, cur, exp); err != nil {
		t.Fatal(err)
	}
	valid := func(tok []byte, now time.Time) bool {
		t.Helper()
		ok, err := s.SetupTokenValid(ctx, tok, now)
		if err != nil {
			t.Fatalf("SetupTokenValid: %v", err)
		}
		return ok
	}
	if valid(old, t0) || !valid(cur, t0) {
		t.Errorf("after two Replace: old valid %v, newest valid %v; want false, true", valid(old, t0), valid(cur, t0))
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM setup_tokens`); n != 1 {
		t.Errorf("%d setup tokens stored, want 1", n)
	}
	if valid(cur, exp) || !valid(cur, exp.Add(-time.Second)) {
		t.Errorf("valid at expiry %v, a second before %v; want false, true", valid(cur, exp), valid(cur, exp.Add(-time.Second)))
	}
	if err := s.ConsumeSetupToken(ctx, old, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeSetupToken(replaced) = %v, want ErrNotFound", err)
	}
	if err := s.ConsumeSetupToken(ctx, cur, exp); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeSetupToken at expiry = %v, want ErrNotFound", err)
	}
	if err := s.ConsumeSetupToken(ctx, cur, t0); err != nil {
		t.Errorf("ConsumeSetupToken = %v, want nil", err)
	}
	if err := s.ConsumeSetupToken(ctx, cur, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second ConsumeSetupToken = %v, want ErrNotFound (single use)", err)
	}
	if valid(cur, t0) {
		t.Errorf("token still valid after it was consumed")
	}
}
