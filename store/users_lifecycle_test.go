package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func TestSetUserProfile(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := createUser(t, s, "ada@example.com", "Ada", store.RoleUser)
	b := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)
	if err := s.SetUserProfile(ctx, a.ID, "Ada L.", " Ada.L@Example.COM ", t0.Add(time.Minute)); err != nil {
		t.Fatalf("SetUserProfile: %v", err)
	}
	got, err := s.UserByID(ctx, a.ID)
	if err != nil || got.Name != "Ada L." || got.Email != "ada.l@example.com" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("after SetUserProfile: %+v, %v; want Ada L., ada.l@example.com, updated a minute later", got, err)
	}
	// Another user's address, in another case: the unique index ignores case.
	if err := s.SetUserProfile(ctx, a.ID, "Ada", "BOB@example.com", t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetUserProfile to bob's address: %v, want ErrConflict", err)
	}
	if got, _ := s.UserByID(ctx, b.ID); got.Email != "bob@example.com" {
		t.Errorf("bob's address changed: %q", got.Email)
	}
	if err := s.SetUserProfile(ctx, 999, "X", "x@example.com", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetUserProfile of nobody: %v, want ErrNotFound", err)
	}
}

// TestDeleteUser: the user and everything of theirs go; their events and who they were stay;
// the next user never gets their id, even when it was the highest.
func TestDeleteUser(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	admin := createUser(t, s, "admin@example.com", "Admin", store.RoleSuperAdmin)
	stays := createUser(t, s, "stays@example.com", "Stays", store.RoleUser)
	gone := createUser(t, s, "gone@example.com", "Gone", store.RoleAdmin) // the highest id
	for _, u := range []store.User{stays, gone} {
		give(t, s, u, admin)
	}
	if err := s.AddEvent(ctx, store.Event{At: t0, Type: store.EventUserSignedIn, ActorID: &gone.ID, UserID: &gone.ID}); err != nil {
		t.Fatal(err)
	}
	f, err := s.UserFootprint(ctx, gone.ID)
	want := store.Footprint{Sessions: 1, SignIns: 1, Passkeys: 1, BackupCodes: 2, Devices: 1, AccessTokens: 1, RefreshTokens: 1, TOTP: true}
	if err != nil || f != want {
		t.Errorf("UserFootprint = %+v, %v; want %+v", f, err, want)
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteUser(ctx, gone, admin.ID, t0.Add(time.Hour)) }); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.UserByID(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID after delete: %v, want ErrNotFound", err)
	}
	db := store.RawDB(s)
	for _, table := range userTables {
		if n := count(t, db, `SELECT count(*) FROM `+table+` WHERE user_id = ?`, gone.ID); n != 0 {
			t.Errorf("%s: %d rows of the deleted user left", table, n)
		}
		if n := count(t, db, `SELECT count(*) FROM `+table+` WHERE user_id = ?`, stays.ID); n == 0 {
			t.Errorf("%s: the other user's rows went too", table)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM events WHERE user_id = ?`, gone.ID); n != 1 {
		t.Errorf("%d events of the deleted user, want 1 (events stay)", n)
	}
	d, err := s.DeletedUserByID(ctx, gone.ID)
	if err != nil || d.Email != "gone@example.com" || d.Name != "Gone" || d.Role != store.RoleAdmin || d.DeletedBy != admin.ID || !d.DeletedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("DeletedUserByID = %+v, %v", d, err)
	}
	for _, q := range []struct {
		text  string
		exact bool
		found bool
	}{{"GONE@example.com", true, true}, {"gone@", true, false}, {"one@exa", false, true}, {"gon", false, true}, {"stays", false, false}} {
		got, err := s.SearchDeletedUsers(ctx, q.text, q.exact, 10)
		if err != nil || (len(got) == 1) != q.found {
			t.Errorf("SearchDeletedUsers(%q, exact %v) = %v, %v; want found %v", q.text, q.exact, got, err, q.found)
		}
	}
	// The next user gets a new id: SQLite alone would reuse the deleted, highest one.
	next := createUser(t, s, "next@example.com", "Next", store.RoleUser)
	if next.ID <= gone.ID {
		t.Errorf("new user id %d, want above the deleted user's %d", next.ID, gone.ID)
	}
	// And so after a restart.
	s.Close()
	s2 := openAt(t, path)
	if again := createUser(t, s2, "again@example.com", "Again", store.RoleUser); again.ID <= next.ID {
		t.Errorf("id after reopening %d, want above %d", again.ID, next.ID)
	}
	// Deleting nobody.
	if err := s2.DeleteUser(ctx, store.User{ID: 999, Email: "x@example.com", Role: store.RoleUser}, 0, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteUser of nobody: %v, want ErrNotFound", err)
	}
}

// userTables are the tables with rows of a user that give makes.
var userTables = []string{"sessions", "signins", "totp", "backup_codes", "passkeys", "devices", "password_resets", "invitations", "oauth_access_tokens", "oauth_refresh_tokens"}

// give makes u one of everything a user can have: a session, a sign-in in progress, TOTP with
// backup codes, a passkey, a device, a reset link, an invitation (from inviter), and OAuth2 tokens.
func give(t *testing.T, s *store.Store, u, inviter store.User) {
	t.Helper()
	ctx := context.Background()
	id := func(what string) []byte { return []byte(what + "-" + u.Email) }
	later := t0.Add(24 * time.Hour)
	grant := store.OAuthGrant{GrantID: u.Email, ClientID: "app", Subject: u.Email, UserID: u.ID, Scopes: []string{"openid"}, AuthTime: t0}
	for _, err := range []error{
		s.CreateSession(ctx, store.Session{IDHash: id("session"), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: later}),
		s.CreateSignIn(ctx, store.SignIn{IDHash: id("signin"), UserID: u.ID, CreatedAt: t0, ExpiresAt: later}),
		s.PutPendingTOTP(ctx, u.ID, []byte("secret"), t0),
		s.ConfirmTOTP(ctx, u.ID, 1, t0),
		s.ReplaceBackupCodes(ctx, u.ID, hashes(u.Email, 2), t0),
		s.CreatePasswordReset(ctx, id("reset"), u.ID, t0, later),
		s.CreateInvitation(ctx, store.Invitation{TokenHash: id("invite"), UserID: u.ID, CreatedBy: inviter.ID, ExpiresAt: later, CreatedAt: t0}),
		s.CreateOAuthAccessToken(ctx, id("access"), store.OAuthAccessToken{OAuthGrant: grant, IssuedAt: t0, ExpiresAt: later}),
		s.CreateOAuthRefreshToken(ctx, id("refresh"), store.OAuthRefreshToken{OAuthGrant: grant, ExpiresAt: later}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	newPasskey(t, s, u.ID, "cred-"+u.Email, "key")
	if _, err := s.CreateDevice(ctx, store.Device{UserID: u.ID, TokenHash: id("device"), CreatedAt: t0, LastSignInAt: t0, ExpiresAt: later}); err != nil {
		t.Fatal(err)
	}
}

// TestInvitationsOfADeletedInviter: the invitations an admin sent stay when the admin is
// deleted, and forget who sent them.
func TestInvitationsOfADeletedInviter(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	admin := createUser(t, s, "admin@example.com", "Admin", store.RoleAdmin)
	invited := createUser(t, s, "new@example.com", "New", store.RoleUser)
	if err := s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("t"), UserID: invited.ID, CreatedBy: admin.ID, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, admin, 0, t0); err != nil {
		t.Fatal(err)
	}
	inv, err := s.UserInvitation(ctx, invited.ID, t0)
	if err != nil || inv.CreatedBy != 0 || !inv.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("UserInvitation after the inviter's deletion = %+v, %v; want it, with no sender", inv, err)
	}
	if _, err := s.UserInvitation(ctx, invited.ID, t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserInvitation once expired: %v, want ErrNotFound", err)
	}
}

// TestEveryForeignKeyToUsersLetsADeleteThrough: every table that refers to a user (those of
// other features included, such as group memberships) removes its rows with the user or
// forgets them; otherwise deleting a user would fail, or leave rows of nobody.
func TestEveryForeignKeyToUsersLetsADeleteThrough(t *testing.T) {
	s, _ := newStore(t)
	query := `
		SELECT m.name, f."from", f.on_delete FROM sqlite_master m, pragma_foreign_key_list(m.name) f
		WHERE m.type = 'table' AND f."table" = 'users'`
	if s.Dialect() == store.Postgres {
		query = `
			SELECT c.conrelid::regclass::text, a.attname,
				CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END
			FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.contype = 'f' AND c.confrelid = 'users'::regclass`
	}
	rows, err := store.RawDB(s).Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var table, column, onDelete string
		if err := rows.Scan(&table, &column, &onDelete); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, table)
		if onDelete != "CASCADE" && onDelete != "SET NULL" {
			t.Errorf("%s.%s refers to users ON DELETE %s, want CASCADE (or SET NULL)", table, column, onDelete)
		}
	}
	if !slices.Contains(seen, "sessions") || !slices.Contains(seen, "devices") {
		t.Errorf("foreign keys found on %v: the query misses some", seen)
	}
}

// TestIdleUsers: active users whose sign-in, creation and last status change are all before the
// cutoff, and who have no invitation that still works.
func TestIdleUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	cutoff := t0.Add(30 * 24 * time.Hour)
	now := cutoff.Add(time.Hour)
	neverSignedIn := createUser(t, s, "never@example.com", "Never", store.RoleUser)
	oldSignIn := createUser(t, s, "old@example.com", "Old", store.RoleUser)
	recent := createUser(t, s, "recent@example.com", "Recent", store.RoleUser)
	reactivated := createUser(t, s, "back@example.com", "Back", store.RoleUser)
	inactive := createUser(t, s, "off@example.com", "Off", store.RoleUser)
	invited := createUser(t, s, "invited@example.com", "Invited", store.RoleUser)
	expiredInvite := createUser(t, s, "expired@example.com", "Expired", store.RoleUser)
	// Added after the cutoff: not idle yet.
	if _, err := s.CreateUser(ctx, store.User{Email: "new@example.com", Name: "New", Role: store.RoleUser}, cutoff.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.RecordSignIn(ctx, oldSignIn.ID, t0.Add(time.Hour)))
	must(s.RecordSignIn(ctx, recent.ID, cutoff))
	must(s.SetUserStatus(ctx, reactivated.ID, store.StatusActive, cutoff))
	must(s.SetUserStatus(ctx, inactive.ID, store.StatusInactive, t0))
	must(s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("live"), UserID: invited.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: t0}))
	must(s.CreateInvitation(ctx, store.Invitation{TokenHash: []byte("dead"), UserID: expiredInvite.ID, ExpiresAt: now, CreatedAt: t0}))
	idle, err := s.IdleUsers(ctx, cutoff, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range idle {
		got = append(got, u.Email)
	}
	// Never signed in sorts first (0), then by creation; the old sign-in last.
	want := []string{neverSignedIn.Email, expiredInvite.Email, oldSignIn.Email}
	if !slices.Equal(got, want) {
		t.Errorf("IdleUsers = %v, want %v", got, want)
	}
	if u, _ := s.UserByID(ctx, oldSignIn.ID); !u.LastSignInAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("LastSignInAt = %v, want %v", u.LastSignInAt, t0.Add(time.Hour))
	}
	if u, _ := s.UserByID(ctx, neverSignedIn.ID); !u.LastSignInAt.IsZero() || !u.StatusChangedAt.IsZero() {
		t.Errorf("a new user's LastSignInAt %v and StatusChangedAt %v, want zero", u.LastSignInAt, u.StatusChangedAt)
	}
}

// TestIdleJobSchedule: a run is claimed once; a new setting makes one due at once.
func TestIdleJobSchedule(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	j, err := s.IdleJob(ctx)
	if err != nil || !j.NextRunAt.IsZero() || !j.LastRunAt.IsZero() {
		t.Fatalf("IdleJob at first = %+v, %v; want nothing scheduled", j, err)
	}
	next := t0.Add(24 * time.Hour)
	if ok, err := s.ClaimIdleRun(ctx, j.NextRunAt, next); !ok || err != nil {
		t.Fatalf("first claim = %v, %v; want true", ok, err)
	}
	if ok, err := s.ClaimIdleRun(ctx, j.NextRunAt, next); ok || err != nil {
		t.Errorf("second claim of the same run = %v, %v; want false", ok, err)
	}
	if err := s.FinishIdleRun(ctx, t0, 3); err != nil {
		t.Fatal(err)
	}
	if j, _ = s.IdleJob(ctx); !j.NextRunAt.Equal(next) || !j.LastRunAt.Equal(t0) || j.LastDeactivated != 3 {
		t.Errorf("IdleJob after a run = %+v", j)
	}
	if err := s.SetIdleDeactivation(ctx, 90, t0); err != nil {
		t.Fatal(err)
	}
	st, _ := s.Settings(ctx)
	if j, _ = s.IdleJob(ctx); !j.NextRunAt.IsZero() || st.IdleDeactivationDays != 90 {
		t.Errorf("after a new setting: next run %v, days %d; want due at once, 90", j.NextRunAt, st.IdleDeactivationDays)
	}
	if err := s.SetIdleDeactivation(ctx, 45, t0); err == nil {
		t.Error("SetIdleDeactivation(45) succeeded; the schema allows only 0, 30, 60, 90 and 180")
	}
}

// TestLifecycleMigrationKeepsLastSignIns: migration 21 takes each user's last sign-in from the
// event log, and rolls back.
func TestLifecycleMigrationKeepsLastSignIns(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if err := store.MigrateDownTo(s, 20); err != nil {
		t.Fatalf("down to 20: %v", err)
	}
	db := store.RawDB(s)
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, name, role, created_at, updated_at)
		VALUES (1, 'a@example.com', 'A', 'user', 100, 150), (2, 'b@example.com', 'B', 'user', 100, 100)`); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		at   int64
		typ  store.EventType
		user int64
	}{{200, store.EventUserSignedIn, 1}, {300, store.EventUserSignedIn, 1}, {400, store.EventLoginFailed, 1}, {500, store.EventUserSignedIn, 2}} {
		if err := s.AddEvent(ctx, store.Event{At: time.Unix(e.at, 0), Type: e.typ, UserID: &e.user}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	for id, want := range map[int64]int64{1: 300, 2: 500} {
		u, err := s.UserByID(ctx, id)
		if err != nil || u.LastSignInAt.Unix() != want {
			t.Errorf("user %d: LastSignInAt %v, %v; want %d", id, u.LastSignInAt.Unix(), err, want)
		}
	}
	if u, _ := s.UserByID(ctx, 1); u.StatusChangedAt.Unix() != 150 {
		t.Errorf("StatusChangedAt %d, want the last change (150)", u.StatusChangedAt.Unix())
	}
	if err := store.MigrateDownTo(s, 20); err != nil {
		t.Fatalf("down to 20 with data: %v", err)
	}
	if hasColumn(t, s, "users", "last_sign_in_at") || hasColumn(t, s, "users", "status_changed_at") {
		t.Error("lifecycle columns left after rolling back")
	}
}
