package store_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// t0 is the tests' "now"; times are whole seconds, as the store keeps them.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openAt(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a fresh database of the suite's dialect (storetest) and returns it with its
// --db value (a path or a URL).
func newStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	db := storetest.DB(t)
	return openAt(t, db), db
}

// newSQLite opens a fresh SQLite file, for the tests of what only SQLite has (its file, its
// pragmas, its WAL, its query plans, VACUUM INTO).
func newSQLite(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "weftid.db")
	return openAt(t, path), path
}

// secondHandle opens another database/sql handle on the same database, with the driver's
// defaults.
func secondHandle(t *testing.T, db string) *storetest.Raw {
	t.Helper()
	return storetest.RawDB(t, db)
}

// rowQuerier is a raw handle of either kind.
type rowQuerier interface {
	QueryRow(query string, args ...any) *sql.Row
}

func createUser(t *testing.T, s *store.Store, email, name string, role store.Role) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.User{Email: email, Name: name, Role: role, PasswordHash: "h"}, t0)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func count(t *testing.T, db rowQuerier, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestMigrateUpDownUp(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	createUser(t, s, "before@example.com", "Before", store.RoleUser)

	if err := s.MigrateDownAll(ctx); err != nil {
		t.Fatalf("MigrateDownAll: %v", err)
	}
	if tables := schemaObjects(t, s, "%"); len(tables) != 0 {
		t.Errorf("after MigrateDownAll the schema still holds %q, want nothing but goose's own table", tables)
	}
	if _, err := s.CreateUser(ctx, store.User{Email: "x@example.com", Name: "X", Role: store.RoleUser}, t0); err == nil {
		t.Errorf("CreateUser after MigrateDownAll succeeded, want an error (no users table)")
	}

	if err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	u := createUser(t, s, "after@example.com", "After", store.RoleSuperAdmin)
	if got, err := s.UserByEmail(ctx, "after@example.com"); err != nil || got.ID != u.ID {
		t.Errorf("UserByEmail after up/down/up = %+v, %v; want user %d", got, err, u.ID)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want 1 (down dropped the earlier user)", n, err)
	}
	if st, err := s.Settings(ctx); err != nil || st.MinimumPasswordLength != 14 {
		t.Errorf("Settings after up/down/up = %+v, %v; want the default row back", st, err)
	}

	// Down once more, then up again through Open on the same file.
	if err := s.MigrateDownAll(ctx); err != nil {
		t.Fatalf("second MigrateDownAll: %v", err)
	}
	s.Close()
	s2 := openAt(t, path)
	createUser(t, s2, "reopened@example.com", "Reopened", store.RoleUser)
	if err := s2.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenIsIdempotent(t *testing.T) {
	_, path := newStore(t)
	s2 := openAt(t, path) // migrations already applied: nothing to do, no error
	createUser(t, s2, "a@example.com", "A", store.RoleUser)
	s3 := openAt(t, path)
	if n, err := s3.CountUsers(context.Background()); err != nil || n != 1 {
		t.Errorf("CountUsers through a third Open = %d, %v; want 1", n, err)
	}
}

func TestOpenPathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b#c?d%e&f=g")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "weft id.db")
	s := openAt(t, path)
	createUser(t, s, "a@example.com", "A", store.RoleUser)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %q: %v", path, err)
	}
}

func TestOpenPragmas(t *testing.T) {
	ctx := context.Background()
	s, path := newSQLite(t)
	db := store.SQLDB(s)
	// foreign_keys, busy_timeout and synchronous are per connection: check several of the pool's
	// connections at once, not just the first.
	var conns []*sql.Conn
	for i := 0; i < 4; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("Conn: %v", err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		var journal string
		var fk, busy, sync int
		if err := c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&journal); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if journal != "wal" || fk != 1 || busy != 5000 || sync != 1 {
			t.Errorf("connection %d: journal_mode %q, foreign_keys %d, busy_timeout %d, synchronous %d; want wal, 1, 5000, 1 (NORMAL)",
				i, journal, fk, busy, sync)
		}
	}

	// WAL is a property of the file: another handle, read-only, sees it too.
	other := secondHandle(t, path)
	var journal string
	if err := other.QueryRow(`PRAGMA journal_mode`).Scan(&journal); err != nil || journal != "wal" {
		t.Errorf("journal_mode through a second handle = %q, %v; want wal", journal, err)
	}
}

func TestSettingsDefaults(t *testing.T) {
	s, _ := newStore(t)
	got, err := s.Settings(context.Background())
	want := store.Settings{RequiredAuthStrength: "baseline", MinimumPasswordLength: 14, MinimumStrengthScore: 3}
	if err != nil || got != want {
		t.Errorf("Settings() = %+v, %v; want %+v, nil", got, err, want)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	s, _ := newSQLite(t)
	createUser(t, s, "b@example.com", "Bea", store.RoleAdmin)
	createUser(t, s, "a@example.com", "Al", store.RoleSuperAdmin)
	want, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	// Changes after the backup are not in it.
	createUser(t, s, "c@example.com", "Cy", store.RoleUser)

	b := openAt(t, path)
	got, err := b.ListUsers(ctx)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("users in the backup = %+v, %v; want %+v", got, err, want)
	}
	createUser(t, b, "d@example.com", "Di", store.RoleUser) // the backup is a working database

	before, _ := os.ReadFile(path)
	if err := s.Backup(ctx, path); err == nil {
		t.Errorf("Backup to an existing file succeeded, want an error")
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, empty); err == nil {
		t.Errorf("Backup to an existing empty file succeeded, want an error")
	}
	if after, _ := os.ReadFile(path); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused Backup changed the existing file")
	}
}

func TestInTx(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, store.User{Email: "r@example.com", Name: "R", Role: store.RoleUser}, t0)
		if err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, store.Event{At: t0, Type: "user_created", UserID: &u.ID}); err != nil {
			return err
		}
		// Inside the transaction the change is visible.
		if _, err := tx.UserByID(ctx, u.ID); err != nil {
			t.Errorf("UserByID inside the transaction: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("InTx = %v, want the function's error", err)
	}
	if n, _ := s.CountUsers(ctx); n != 0 {
		t.Errorf("after rollback CountUsers = %d, want 0", n)
	}
	if ev, _ := s.ListEvents(ctx, store.EventFilter{}); len(ev) != 0 {
		t.Errorf("after rollback ListEvents = %+v, want none", ev)
	}

	err = s.InTx(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, store.User{Email: "c@example.com", Name: "C", Role: store.RoleUser}, t0)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, store.Event{At: t0, Type: "user_created", UserID: &u.ID})
	})
	if err != nil {
		t.Fatalf("InTx (commit): %v", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("after commit CountUsers = %d, want 1", n)
	}
	if ev, _ := s.ListEvents(ctx, store.EventFilter{}); len(ev) != 1 || ev[0].Type != "user_created" {
		t.Errorf("after commit ListEvents = %+v, want the one user_created", ev)
	}
}

func TestDeleteExpired(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "u@example.com", "U", store.RoleUser)
	now := t0
	earlier := now.Add(-time.Hour) // when everything below was still live

	mkSession := func(id string, expires time.Time) []byte {
		h := []byte(id)
		if err := s.CreateSession(ctx, store.Session{IDHash: h, UserID: u.ID, CreatedAt: earlier, LastSeenAt: earlier, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	mkSignIn := func(id string, expires time.Time) []byte {
		h := []byte(id)
		if err := s.CreateSignIn(ctx, store.SignIn{IDHash: h, UserID: u.ID, CreatedAt: earlier, ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	sessGone, sessKept := mkSession("s-gone", now), mkSession("s-kept", now.Add(time.Second))
	signGone, signKept := mkSignIn("i-gone", now), mkSignIn("i-kept", now.Add(time.Hour))
	otherSignIn := mkSignIn("i-other", now.Add(time.Hour))
	codeGone, err := s.ReplaceEmailCode(ctx, store.EmailCode{SignInHash: signKept, CodeHash: []byte("c1"), CreatedAt: earlier, ExpiresAt: now})
	if err != nil {
		t.Fatal(err)
	}
	codeKept, err := s.ReplaceEmailCode(ctx, store.EmailCode{SignInHash: otherSignIn, CodeHash: []byte("c2"), CreatedAt: earlier, ExpiresAt: now.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSetupToken(ctx, []byte("setup"), now); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if err := s.RecordAttempt(ctx, store.AttemptPassword, []string{"old"}, false, now.Add(-day)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(ctx, store.AttemptPassword, []string{"recent"}, false, now.Add(-day+time.Second)); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteExpired(ctx, now); err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}

	// Rows are looked up at an earlier time, when they were live, so ErrNotFound means deleted.
	if _, _, err := s.SessionUser(ctx, sessGone, earlier); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session that expired at now: err = %v, want ErrNotFound (deleted)", err)
	}
	if _, _, err := s.SessionUser(ctx, sessKept, earlier); err != nil {
		t.Errorf("session that expires after now: %v, want kept", err)
	}
	if _, err := s.SignInByHash(ctx, signGone, earlier); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("sign-in that expired at now: err = %v, want ErrNotFound (deleted)", err)
	}
	if _, err := s.SignInByHash(ctx, signKept, earlier); err != nil {
		t.Errorf("sign-in that expires after now: %v, want kept", err)
	}
	if _, err := s.EmailCodeForSignIn(ctx, signKept); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("email code %d that expired at now: err = %v, want ErrNotFound (deleted)", codeGone.ID, err)
	}
	if c, err := s.EmailCodeForSignIn(ctx, otherSignIn); err != nil || c.ID != codeKept.ID {
		t.Errorf("email code that expires after now = %+v, %v; want %d kept", c, err, codeKept.ID)
	}
	if ok, err := s.SetupTokenValid(ctx, []byte("setup"), earlier); ok || err != nil {
		t.Errorf("setup token that expired at now: valid %v, err %v; want deleted", ok, err)
	}
	if n, _ := s.CountAttempts(ctx, store.AttemptPassword, "old", time.Time{}); n != 0 {
		t.Errorf("attempt a day old: %d left, want 0", n)
	}
	if n, _ := s.CountAttempts(ctx, store.AttemptPassword, "recent", time.Time{}); n != 1 {
		t.Errorf("attempt less than a day old: %d left, want 1", n)
	}
	if _, err := s.UserByID(ctx, u.ID); err != nil {
		t.Errorf("the user: %v, want untouched", err)
	}
}

// TestEventsAppendOnly tries to change the audit log behind the store's back.
func TestEventsAppendOnly(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	if err := s.AddEvent(ctx, store.Event{At: t0, Type: "user_created"}); err != nil {
		t.Fatal(err)
	}
	db := secondHandle(t, path)
	for _, stmt := range []string{
		`UPDATE events SET type = 'tampered'`,
		`UPDATE events SET details = '{"x":1}' WHERE id = 1`,
		`DELETE FROM events`,
		`DELETE FROM events WHERE id = 1`,
	} {
		_, err := db.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want an error mentioning append-only", stmt, err)
		}
	}
	ev, err := s.ListEvents(ctx, store.EventFilter{})
	if err != nil || len(ev) != 1 || ev[0].Type != "user_created" {
		t.Errorf("events after the attempts = %+v, %v; want the one event unchanged", ev, err)
	}
}
