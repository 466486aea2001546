package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

// summaryOf is what a test compares of a search result: who, and their factors.
type summaryOf struct {
	Email    string
	TOTP     bool
	Passkeys int
}

func searchEmails(t *testing.T, s *store.Store, f store.UserFilter) []string {
	t.Helper()
	got, err := s.SearchUsers(context.Background(), f)
	if err != nil {
		t.Fatalf("SearchUsers(%+v): %v", f, err)
	}
	out := []string{}
	for _, u := range got {
		out = append(out, u.Email)
	}
	return out
}

func TestSearchUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	alice := createUser(t, s, "alice@example.com", "Alice Archer", store.RoleSuperAdmin)
	bob := createUser(t, s, "bob@corp.example", "bob builder", store.RoleAdmin)
	carol := createUser(t, s, "carol@example.com", "Carol 100% Sure", store.RoleUser)
	createUser(t, s, "zoe@example.org", "Zoë Ärger", store.RoleUser)
	_, err := s.CreateUser(ctx, store.User{Email: "dan@example.com", Name: "Dan_Gone", Role: store.RoleUser, Status: store.StatusInactive}, t0)
	if err != nil {
		t.Fatal(err)
	}

	// Factors: Alice a confirmed TOTP and two passkeys, Bob one passkey, Carol a TOTP setup
	// that was never confirmed (it does not count), Zoë and Dan nothing.
	for _, id := range []int64{alice.ID, carol.ID} {
		if err := s.PutPendingTOTP(ctx, id, []byte("sealed"), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ConfirmTOTP(ctx, alice.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	for i, id := range []int64{alice.ID, alice.ID, bob.ID} {
		newPasskey(t, s, id, fmt.Sprintf("cred-%d", i), "key")
	}

	all, err := s.SearchUsers(ctx, store.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []summaryOf
	for _, u := range all {
		got = append(got, summaryOf{u.Email, u.TOTP, u.Passkeys})
	}
	want := []summaryOf{ // by name, ignoring case
		{"alice@example.com", true, 2},
		{"bob@corp.example", false, 1},
		{"carol@example.com", false, 0},
		{"dan@example.com", false, 0},
		{"zoe@example.org", false, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SearchUsers({}) = %+v, want %+v", got, want)
	}
	if all[0].User != alice || all[0].EmailOnly() || !all[2].EmailOnly() || all[3].Status != store.StatusInactive {
		t.Errorf("SearchUsers rows: %+v", all)
	}
	if all[0].Invited() || !all[3].Invited() {
		t.Errorf("Invited(): alice (has a password) %v, dan (none) %v; want false, true", all[0].Invited(), all[3].Invited())
	}

	tests := []struct {
		f    store.UserFilter
		want []string
	}{
		{store.UserFilter{Q: "ALI"}, []string{"alice@example.com"}},                                                 // name, any case
		{store.UserFilter{Q: "  archer "}, []string{"alice@example.com"}},                                           // trimmed
		{store.UserFilter{Q: "Example.COM"}, []string{"alice@example.com", "carol@example.com", "dan@example.com"}}, // address part
		{store.UserFilter{Q: "corp"}, []string{"bob@corp.example"}},
		{store.UserFilter{Q: "%"}, []string{"carol@example.com"}},   // a literal %, not a wildcard
		{store.UserFilter{Q: "_"}, []string{"dan@example.com"}},     // a literal _, not a wildcard
		{store.UserFilter{Q: `\`}, []string{}},                      // the escape character itself
		{store.UserFilter{Q: "ärger"}, []string{"zoe@example.org"}}, // non-ASCII, as stored
		{store.UserFilter{Q: "Ärger"}, []string{"zoe@example.org"}},
		{store.UserFilter{Q: "ÄRGER"}, []string{"zoe@example.org"}},
		{store.UserFilter{Q: "zoË"}, []string{"zoe@example.org"}},
		{store.UserFilter{Q: "ë", Role: store.RoleAdmin}, []string{}},
		{store.UserFilter{Q: "é"}, []string{}},
		{store.UserFilter{Q: "nobody"}, []string{}},
		{store.UserFilter{Role: store.RoleUser}, []string{"carol@example.com", "dan@example.com", "zoe@example.org"}},
		{store.UserFilter{Role: store.RoleSuperAdmin}, []string{"alice@example.com"}},
		{store.UserFilter{Status: store.StatusInactive}, []string{"dan@example.com"}},
		{store.UserFilter{Status: store.StatusActive, Role: store.RoleUser}, []string{"carol@example.com", "zoe@example.org"}},
		{store.UserFilter{Q: "example.com", Status: store.StatusActive}, []string{"alice@example.com", "carol@example.com"}},
		{store.UserFilter{Limit: 2}, []string{"alice@example.com", "bob@corp.example"}},
	}
	for _, tt := range tests {
		if got := searchEmails(t, s, tt.f); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SearchUsers(%+v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestSearchUsersLimit(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	for i := range 205 {
		createUser(t, s, fmt.Sprintf("u%03d@example.com", i), fmt.Sprintf("User %03d", i), store.RoleUser)
	}
	for _, tt := range []struct{ limit, want int }{{0, 200}, {-1, 200}, {201, 201}, {5000, 205}} {
		got, err := s.SearchUsers(ctx, store.UserFilter{Limit: tt.limit})
		if err != nil || len(got) != tt.want {
			t.Errorf("SearchUsers(Limit %d): %d users, %v; want %d", tt.limit, len(got), err, tt.want)
		}
	}
}

func TestSetUserStatusAndRole(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := createUser(t, s, "a@example.com", "A", store.RoleSuperAdmin)
	b := createUser(t, s, "b@example.com", "B", store.RoleAdmin)
	later := t0.Add(time.Hour)

	if n, err := s.CountActiveSuperAdmins(ctx); n != 1 || err != nil {
		t.Fatalf("CountActiveSuperAdmins = %d, %v; want 1", n, err)
	}
	if err := s.SetUserRole(ctx, b.ID, store.RoleSuperAdmin, later); err != nil {
		t.Fatalf("SetUserRole: %v", err)
	}
	if got, _ := s.UserByID(ctx, b.ID); got.Role != store.RoleSuperAdmin || !got.UpdatedAt.Equal(later) {
		t.Errorf("after SetUserRole: %+v, want super_admin updated at %v", got, later)
	}
	if n, _ := s.CountActiveSuperAdmins(ctx); n != 2 {
		t.Errorf("CountActiveSuperAdmins = %d, want 2", n)
	}
	if err := s.SetUserStatus(ctx, a.ID, store.StatusInactive, later); err != nil {
		t.Fatalf("SetUserStatus: %v", err)
	}
	if got, _ := s.UserByID(ctx, a.ID); got.Active() || got.Role != store.RoleSuperAdmin {
		t.Errorf("after SetUserStatus(inactive): %+v", got)
	}
	if n, _ := s.CountActiveSuperAdmins(ctx); n != 1 {
		t.Errorf("CountActiveSuperAdmins with one inactive = %d, want 1", n)
	}
	if err := s.SetUserStatus(ctx, a.ID, store.StatusActive, later); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, a.ID); !got.Active() {
		t.Errorf("after SetUserStatus(active): %+v", got)
	}

	if err := s.SetUserRole(ctx, 9999, store.RoleUser, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserRole(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.SetUserStatus(ctx, 9999, store.StatusActive, later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserStatus(unknown) = %v, want ErrNotFound", err)
	}
	// The table's CHECK constraints hold whatever a caller passes.
	if err := s.SetUserRole(ctx, a.ID, store.Role("root"), later); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserRole(root) = %v, want a constraint error", err)
	}
	if err := s.SetUserStatus(ctx, a.ID, store.Status("gone"), later); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserStatus(gone) = %v, want a constraint error", err)
	}
}

func TestInvitations(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	admin := createUser(t, s, "admin@example.com", "Admin", store.RoleAdmin)
	u, err := s.CreateUser(ctx, store.User{Email: "new@example.com", Name: "New", Role: store.RoleUser}, t0)
	if err != nil {
		t.Fatal(err)
	}
	exp := t0.Add(7 * 24 * time.Hour)
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("tok"), UserID: u.ID, CreatedBy: admin.ID, ExpiresAt: exp, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateInvitation: %v", err)
	}

	got, err := s.InvitationUser(ctx, []byte("tok"), t0)
	if err != nil || got != u {
		t.Errorf("InvitationUser = %+v, %v; want %+v", got, err, u)
	}
	for name, tc := range map[string]struct {
		hash string
		at   time.Time
	}{
		"unknown token":    {"other", t0},
		"at expiry":        {"tok", exp},
		"after expiry":     {"tok", exp.Add(time.Second)},
		"empty token hash": {"", t0},
	} {
		if _, err := s.InvitationUser(ctx, []byte(tc.hash), tc.at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("InvitationUser, %s: err = %v, want ErrNotFound", name, err)
		}
		if _, err := s.ConsumeInvitation(ctx, []byte(tc.hash), tc.at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ConsumeInvitation, %s: err = %v, want ErrNotFound", name, err)
		}
	}
	// Looking did not use it up; consuming does, once.
	id, err := s.ConsumeInvitation(ctx, []byte("tok"), exp.Add(-time.Second))
	if err != nil || id != u.ID {
		t.Fatalf("ConsumeInvitation = %d, %v; want %d", id, err, u.ID)
	}
	if _, err := s.ConsumeInvitation(ctx, []byte("tok"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second ConsumeInvitation: err = %v, want ErrNotFound", err)
	}
	if _, err := s.InvitationUser(ctx, []byte("tok"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("InvitationUser after use: err = %v, want ErrNotFound", err)
	}

	// Only the hash is stored.
	db := store.RawDB(s)
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("h1"), UserID: u.ID, ExpiresAt: exp, CreatedAt: t0}); err != nil {
		t.Fatalf("CreateInvitation without creator: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM invitations WHERE token_hash = ? AND created_by IS NULL`, []byte("h1")); n != 1 {
		t.Errorf("invitation without creator: %d rows with created_by NULL, want 1", n)
	}
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("h1"), UserID: u.ID, ExpiresAt: exp, CreatedAt: t0}); err == nil {
		t.Error("CreateInvitation with a hash already stored succeeded, want an error")
	}
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("h2"), UserID: 9999, ExpiresAt: exp, CreatedAt: t0}); err == nil {
		t.Error("CreateInvitation for an unknown user succeeded, want a foreign key error")
	}
}

func TestInvitationsCleanUp(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	db := store.RawDB(s)
	admin := createUser(t, s, "admin@example.com", "Admin", store.RoleAdmin)
	a := createUser(t, s, "a@example.com", "A", store.RoleUser)
	b := createUser(t, s, "b@example.com", "B", store.RoleUser)
	add := func(hash string, userID int64, exp time.Time) {
		t.Helper()
		if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte(hash), UserID: userID, CreatedBy: admin.ID, ExpiresAt: exp, CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	add("a1", a.ID, t0.Add(time.Hour))
	add("a2", a.ID, t0.Add(-time.Hour))
	add("b1", b.ID, t0)
	add("b2", b.ID, t0.Add(time.Hour))

	if n, err := s.DeleteExpiredInvitations(ctx, t0); n != 2 || err != nil {
		t.Errorf("DeleteExpiredInvitations = %d, %v; want 2 (a2, b1)", n, err)
	}
	if err := s.DeleteUserInvitations(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM invitations`); n != 1 {
		t.Errorf("%d invitations left, want 1 (b2)", n)
	}
	// Deleting the admin who sent one keeps it; deleting its user removes it.
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, admin.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM invitations WHERE created_by IS NULL`); n != 1 {
		t.Errorf("after deleting the inviting admin: %d invitations with no creator, want 1", n)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, b.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM invitations`); n != 0 {
		t.Errorf("after deleting the invited user: %d invitations, want 0", n)
	}
}

func TestConsumeInvitationConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "u@example.com", "U", store.RoleUser)
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("tok"), UserID: u.ID, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	exactlyOneWins(t, "ConsumeInvitation", race(8, func(int) error {
		_, err := s.ConsumeInvitation(ctx, []byte("tok"), t0)
		return err
	}))
}

func TestSearchUsersNonASCIILimit(t *testing.T) {
	s, _ := newStore(t)
	for i := range 5 {
		createUser(t, s, fmt.Sprintf("a%d@example.com", i), fmt.Sprintf("Ann %d", i), store.RoleUser)
		createUser(t, s, fmt.Sprintf("e%d@example.com", i), fmt.Sprintf("Élodie %d", i), store.RoleUser)
	}
	got := searchEmails(t, s, store.UserFilter{Q: "élodie", Limit: 3})
	if want := []string{"e0@example.com", "e1@example.com", "e2@example.com"}; !reflect.DeepEqual(got, want) {
		t.Errorf("SearchUsers(élodie, limit 3) = %q, want %q", got, want)
	}
}
