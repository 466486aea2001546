package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// The filters the admin pages use: the event log's date range and the user detail page's
// "events involving this user".
func TestListEventsAdminFilters(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	admin := createUser(t, s, "admin@example.com", "Admin", store.RoleAdmin).ID
	ann := createUser(t, s, "ann@example.com", "Ann", store.RoleUser).ID
	bob := createUser(t, s, "bob@example.com", "Bob", store.RoleUser).ID
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	add := []store.Event{
		{At: day(1), Type: "user_created", ActorID: &admin, UserID: &ann},                   // 0: midnight, first second of 1 Mar
		{At: day(2).Add(-time.Second), Type: "user_signed_in", ActorID: &ann, UserID: &ann}, // 1: last second of 1 Mar
		{At: day(2), Type: "mfa_reset_by_admin", ActorID: &ann, UserID: &bob},               // 2: Ann acts on Bob, 2 Mar
		{At: day(2).Add(12 * time.Hour), Type: "login_failed", IP: "192.0.2.1"},             // 3: nobody
		{At: day(3), Type: "passkey_revoked", ActorID: &admin, UserID: &ann},                // 4
		{At: day(3).Add(time.Hour), Type: "password_policy_updated", ActorID: &admin},       // 5: actor only
		{At: day(4), Type: "user_signed_in", ActorID: &bob, UserID: &bob},                   // 6
		{At: day(1).Add(time.Hour), Type: "user_signed_in", ActorID: &ann, UserID: &ann},    // 7: written late, dated 1 Mar
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
	id := func(i int) int64 { return all[len(add)-1-i].ID } // id of add[i]
	want := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, id(i))
		}
		return out
	}

	tests := []struct {
		name string
		f    store.EventFilter
		want []int64
	}{
		// From is inclusive, To exclusive: one day is [midnight, next midnight).
		{"one day", store.EventFilter{From: day(1), To: day(2)}, want(7, 1, 0)},
		{"next day", store.EventFilter{From: day(2), To: day(3)}, want(3, 2)},
		{"from only", store.EventFilter{From: day(3)}, want(6, 5, 4)},
		{"to only", store.EventFilter{To: day(2)}, want(7, 1, 0)},
		{"a second before midnight", store.EventFilter{From: day(2).Add(-time.Second), To: day(2)}, want(1)},
		{"empty range", store.EventFilter{From: day(3), To: day(3)}, nil},
		{"reversed range", store.EventFilter{From: day(4), To: day(2)}, nil},
		{"range and type", store.EventFilter{From: day(1), To: day(5), Type: "user_signed_in"}, want(7, 6, 1)},
		{"range and before", store.EventFilter{From: day(1), To: day(2), BeforeID: id(7)}, want(1, 0)},

		// InvolvingUser: actor or subject.
		{"involving ann", store.EventFilter{InvolvingUser: ann}, want(7, 4, 2, 1, 0)},
		{"involving bob", store.EventFilter{InvolvingUser: bob}, want(6, 2)},
		{"involving admin", store.EventFilter{InvolvingUser: admin}, want(5, 4, 0)},
		{"subject ann only", store.EventFilter{UserID: ann}, want(7, 4, 1, 0)},
		{"involving ann, paged", store.EventFilter{InvolvingUser: ann, Limit: 2}, want(7, 4)},
		{"involving ann, page 2", store.EventFilter{InvolvingUser: ann, Limit: 2, BeforeID: id(4)}, want(2, 1)},
		{"involving ann, type", store.EventFilter{InvolvingUser: ann, Type: "user_signed_in"}, want(7, 1)},
		{"involving ann, day", store.EventFilter{InvolvingUser: ann, From: day(2), To: day(3)}, want(2)},
		{"involving nobody", store.EventFilter{InvolvingUser: 9999}, nil},

		// Everything together.
		{"all filters", store.EventFilter{Type: "user_signed_in", UserID: ann, InvolvingUser: ann, From: day(1), To: day(2), BeforeID: id(7)}, want(1)},
	}
	for _, tt := range tests {
		got, err := s.ListEvents(ctx, tt.f)
		if err != nil || !reflect.DeepEqual(ids(got), tt.want) {
			t.Errorf("%s: ListEvents(%+v) ids = %v, %v; want %v", tt.name, tt.f, ids(got), err, tt.want)
		}
	}
}
