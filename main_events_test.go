package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftid/weftid/migrations"
	"github.com/weftid/weftid/store"
)

// eventsDB is a database with two users created through the command line, and so their events.
func eventsDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "weftid.db")
	for _, email := range []string{"a@example.com", "b@example.com"} {
		if _, err := runCLI(t, "violet tractor juggles quietly 1987\n", "user", "add", "--db", db, "--email", email, "--name", "A", "--role", "user"); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// rawDB opens the file with the sqlite3 driver directly, as someone with the file could.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestEventsVerifyIntact: on an untouched log the command prints exactly "N events, chain
// intact", also while the server has the database open, and records the verification.
func TestEventsVerifyIntact(t *testing.T) {
	db := eventsDB(t)
	st, err := store.Open(context.Background(), db) // as a running server would hold it
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := rawDB(t, db).QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n < 2 {
		t.Fatalf("events: %d %v", n, err)
	}
	out, err := runCLI(t, "", "events", "verify", "--db", db)
	if want := fmt.Sprintf("%d events, chain intact\n", n); err != nil || out != want {
		t.Fatalf("events verify = %q, %v; want %q", out, err, want)
	}
	c, err := st.LastChainCheck(context.Background())
	if err != nil || !c.Intact || c.Events != int64(n) || c.HeadID == 0 {
		t.Errorf("recorded check %+v %v, want intact with %d events", c, err, n)
	}
	if _, err := runCLI(t, "", "events", "check"); err == nil || !strings.Contains(err.Error(), "usage: weftid events verify") {
		t.Errorf("events check: %v, want the usage", err)
	}
}

// TestEventsVerifyNamesEditedEvent: an event row changed behind the store's back (the update
// trigger dropped first) is named by id and type, and the command fails.
func TestEventsVerifyNamesEditedEvent(t *testing.T) {
	db := eventsDB(t)
	raw := rawDB(t, db)
	var id int64
	var typ string
	if err := raw.QueryRow(`SELECT id, type FROM events WHERE type = 'user_created' ORDER BY id LIMIT 1`).Scan(&id, &typ); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TRIGGER events_no_update`,
		fmt.Sprintf(`UPDATE events SET details = '{"role":"super_admin","via":"cli"}' WHERE id = %d`, id),
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runCLI(t, "", "events", "verify", "--db", db)
	if want := fmt.Sprintf("event %d (%s)", id, typ); err == nil || !strings.Contains(err.Error(), want) || out != "" {
		t.Fatalf("events verify = %q, %v; want an error naming %s", out, err, want)
	}

	// The real binary's exit status: this test binary re-runs itself as weftid.
	cmd := exec.Command(os.Args[0], "-test.run=^TestEventsVerifyMain$")
	cmd.Env = append(os.Environ(), "WEFTID_TEST_MAIN_DB="+db)
	combined, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(combined), fmt.Sprintf("event %d (%s)", id, typ)) {
		t.Errorf("weftid events verify exited with %v, output %q; want status 1 naming event %d", err, combined, id)
	}
}

// TestEventsVerifyMain is main itself, run by TestEventsVerifyNamesEditedEvent as a child.
func TestEventsVerifyMain(t *testing.T) {
	db := os.Getenv("WEFTID_TEST_MAIN_DB")
	if db == "" {
		t.Skip("only run as a child of TestEventsVerifyNamesEditedEvent")
	}
	os.Args = []string{"weftid", "events", "verify", "--db", db}
	main()
	os.Exit(0)
}

// TestEventsVerifyDoesNotMigrate: on a database from before the chain the command says so and
// leaves the schema as it was (the server that owns it may be older).
func TestEventsVerifyDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	db := eventsDB(t)
	raw := rawDB(t, db)
	p, err := migrations.Provider(raw, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "", "events", "verify", "--db", db); !errors.Is(err, store.ErrNoEventChain) {
		t.Errorf("events verify before migration 14: %v, want ErrNoEventChain", err)
	}
	if v, err := p.GetDBVersion(ctx); err != nil || v != 13 {
		t.Errorf("schema version after events verify = %d, %v; want 13 still", v, err)
	}
	if _, err := runCLI(t, "", "events", "verify", "--db", filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("events verify of a missing database: no error")
	}
}
