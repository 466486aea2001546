package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	now := t0.Add(500 * time.Millisecond) // sub-second part is dropped, as the store keeps seconds
	u, err := s.CreateUser(ctx, store.User{Email: "  Alice@Example.COM ", Name: "Alice", Role: store.RoleAdmin, PasswordHash: "$argon2id$x"}, now)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	want := store.User{ID: u.ID, Email: "alice@example.com", Name: "Alice", Role: store.RoleAdmin, Status: store.StatusActive,
		PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	if u.ID == 0 || !reflect.DeepEqual(u, want) {
		t.Errorf("CreateUser = %+v, want %+v", u, want)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || !reflect.DeepEqual(got, u) {
		t.Errorf("UserByID = %+v, %v; want %+v (what CreateUser returned)", got, err, u)
	}
	if !got.Active() {
		t.Errorf("new user Active() = false, want true")
	}

	flagged, err := s.CreateUser(ctx, store.User{Email: "f@example.com", Name: "F", Role: store.RoleUser, Status: store.StatusInactive, PasswordResetRequired: true}, t0)
	if err != nil {
		t.Fatalf("CreateUser(inactive, reset required): %v", err)
	}
	got, err = s.UserByID(ctx, flagged.ID)
	if err != nil || got.Status != store.StatusInactive || !got.PasswordResetRequired || got.Active() || got.PasswordHash != "" {
		t.Errorf("UserByID(inactive, reset required) = %+v, %v; want inactive, reset required, no password", got, err)
	}
}

func TestCreateUserConflict(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	first := createUser(t, s, "alice@example.com", "Alice", store.RoleUser)
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", " Alice@example.com"} {
		_, err := s.CreateUser(ctx, store.User{Email: email, Name: "Other", Role: store.RoleUser}, t0)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%q) after alice@example.com: err = %v, want ErrConflict", email, err)
		}
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
	if u, _ := s.UserByID(ctx, first.ID); u.Name != "Alice" {
		t.Errorf("the first user became %+v, want it unchanged", u)
	}
}

func TestUserByEmail(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "Bob.Smith@Example.org", "Bob", store.RoleUser)
	for _, email := range []string{"bob.smith@example.org", "BOB.SMITH@EXAMPLE.ORG", "  Bob.Smith@Example.org\t"} {
		got, err := s.UserByEmail(ctx, email)
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByEmail(%q) = %d, %v; want %d, nil", email, got.ID, err, u.ID)
		}
	}
	for _, email := range []string{"bob@example.org", "", "bob.smith@example.org.evil"} {
		if got, err := s.UserByEmail(ctx, email); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByEmail(%q) = %+v, %v; want ErrNotFound", email, got, err)
		}
	}
	if got, err := s.UserByID(ctx, u.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID(unknown) = %+v, %v; want ErrNotFound", got, err)
	}
}

func TestCreateUserConstraints(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	tests := []struct {
		name string
		u    store.User
	}{
		{"bad role", store.User{Email: "a@example.com", Name: "A", Role: "root"}},
		{"empty role", store.User{Email: "b@example.com", Name: "B"}},
		{"role in other case", store.User{Email: "c@example.com", Name: "C", Role: "Admin"}},
		{"bad status", store.User{Email: "d@example.com", Name: "D", Role: store.RoleUser, Status: "banned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.CreateUser(ctx, tt.u, t0)
			if err == nil || errors.Is(err, store.ErrConflict) {
				t.Errorf("CreateUser(%+v) = %+v, %v; want a constraint error (not ErrConflict)", tt.u, u, err)
			}
		})
	}
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Errorf("CountUsers = %d after refused inserts, want 0", n)
	}
}

func TestSetPasswordHash(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	later := t0.Add(time.Hour)
	if err := s.SetPasswordHash(ctx, u.ID, "new-hash", later); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordHash != "new-hash" || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(t0) {
		t.Errorf("after SetPasswordHash: hash %q, updated %v, created %v; want new-hash, %v, %v", got.PasswordHash, got.UpdatedAt, got.CreatedAt, later, t0)
	}
	if err := s.SetPasswordHash(ctx, u.ID+1, "x", later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPasswordHash(unknown id) = %v, want ErrNotFound", err)
	}
}

func TestSetPasswordRecordsRuleAndClearsResetFlag(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	if err := s.RequirePasswordReset(ctx, u.ID, t0); err != nil {
		t.Fatalf("RequirePasswordReset: %v", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); !got.PasswordResetRequired || got.HasBreachFingerprint {
		t.Fatal("RequirePasswordReset did not flag the user")
	}
	later := t0.Add(time.Hour)
	err := s.SetPassword(ctx, u.ID, store.NewPassword{Hash: "h2", MinLength: 16, MinScore: 4, BreachPrefix: "ABCDE", BreachHMAC: []byte{1, 2}}, later)
	if err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	got, _ := s.UserByID(ctx, u.ID)
	if got.PasswordHash != "h2" || got.PasswordMinLength != 16 || got.PasswordMinScore != 4 || got.PasswordResetRequired || !got.HasBreachFingerprint || !got.UpdatedAt.Equal(later) {
		t.Errorf("after SetPassword: %+v; want hash h2, rule 16/4, flag cleared, updated %v", got, later)
	}
	if err := s.SetPassword(ctx, u.ID+1, store.NewPassword{Hash: "x"}, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetPassword(unknown id) = %v, want ErrNotFound", err)
	}
	if err := s.RequirePasswordReset(ctx, u.ID+1, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RequirePasswordReset(unknown id) = %v, want ErrNotFound", err)
	}
}

func TestListUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if got, err := s.ListUsers(ctx); err != nil || len(got) != 0 {
		t.Errorf("ListUsers on an empty database = %+v, %v; want none", got, err)
	}
	bob := createUser(t, s, "bob@example.com", "bob", store.RoleUser)
	alice := createUser(t, s, "alice1@example.com", "Alice", store.RoleAdmin)
	carol := createUser(t, s, "carol@example.com", "Carol", store.RoleUser)
	alice2 := createUser(t, s, "alice2@example.com", "alice", store.RoleUser)
	got, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []int64
	for _, u := range got {
		gotIDs = append(gotIDs, u.ID)
	}
	// By name without regard to case, then by id.
	want := []int64{alice.ID, alice2.ID, bob.ID, carol.ID}
	if !reflect.DeepEqual(gotIDs, want) {
		t.Errorf("ListUsers ids = %v, want %v (Alice, alice, bob, Carol)", gotIDs, want)
	}
	if n, err := s.CountUsers(ctx); n != 4 || err != nil {
		t.Errorf("CountUsers = %d, %v; want 4", n, err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a@b.c", "a@b.c"},
		{"A@B.C", "a@b.c"},
		{"  Mixed.Case@Example.COM \n", "mixed.case@example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := store.NormalizeEmail(tt.in); got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRole(t *testing.T) {
	tests := []struct {
		role  store.Role
		rank  int
		valid bool
		label string
	}{
		{store.RoleSuperAdmin, 3, true, "Super admin"},
		{store.RoleAdmin, 2, true, "Admin"},
		{store.RoleUser, 1, true, "User"},
		{"", 0, false, "User"},
		{"root", 0, false, "User"},
	}
	for _, tt := range tests {
		if r, v, l := tt.role.Rank(), tt.role.Valid(), tt.role.Label(); r != tt.rank || v != tt.valid || l != tt.label {
			t.Errorf("Role(%q): Rank %d, Valid %v, Label %q; want %d, %v, %q", tt.role, r, v, l, tt.rank, tt.valid, tt.label)
		}
	}
}
