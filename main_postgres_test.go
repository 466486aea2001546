package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// On PostgreSQL the command line needs the key file named (there is no "next to the database"),
// user add works, a second key file is refused, events verify works, and backup points to
// pg_dump. These run on PostgreSQL whatever the suite's dialect.
func TestCommandLineOnPostgres(t *testing.T) {
	db := storetest.PostgresDB(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "weftid.key")
	add := func(email string, extra ...string) (string, error) {
		args := append([]string{"user", "add", "--db", db, "--hibp-url", "off", "--email", email, "--name", "Ada", "--role", "super_admin"}, extra...)
		return runCLI(t, "violet tractor juggles quietly 1987\n", args...)
	}
	if _, err := add("ada@example.com"); !errors.Is(err, errKeyFileRequired) {
		t.Errorf("user add on PostgreSQL without --secret-key-file: %v, want errKeyFileRequired", err)
	}
	if out, err := add("ada@example.com", "--secret-key-file", key); err != nil || !strings.Contains(out, "created super_admin ada@example.com") {
		t.Fatalf("user add: %q %v", out, err)
	}
	if _, err := add("Ada@Example.COM", "--secret-key-file", key); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("the same address in other case: %v, want it taken", err)
	}
	if _, err := add("bob@example.com", "--secret-key-file", filepath.Join(dir, "other.key")); !errors.Is(err, store.ErrOtherSecretKey) {
		t.Errorf("user add with another key file: %v, want ErrOtherSecretKey", err)
	}
	st := storetest.OpenAt(t, db)
	if n, err := st.CountUsers(context.Background()); err != nil || n != 1 {
		t.Errorf("users: %d %v, want only ada", n, err)
	}
	if out, err := runCLI(t, "", "events", "verify", "--db", db); err != nil || !strings.HasSuffix(out, "events, chain intact\n") {
		t.Errorf("events verify: %q %v", out, err)
	}
	out, err := runCLI(t, "", "backup", "--db", db, filepath.Join(dir, "copy.db"))
	if !errors.Is(err, store.ErrBackupPostgres) || !strings.Contains(err.Error(), "pg_dump") || out != "" {
		t.Errorf("backup of a PostgreSQL database: %q %v, want a refusal naming pg_dump", out, err)
	}
}
