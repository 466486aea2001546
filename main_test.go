package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// runCLI runs a command as main would, with the password (or nothing) on stdin.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, quietLog())
	return out.String(), err
}

func TestUserAdd(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weftid.db")
	out, err := runCLI(t, "violet tractor juggles quietly 1987\n", "user", "add", "--db", db, "--email", "Ada@Example.com", "--name", "Ada Lovelace", "--role", "super_admin")
	if err != nil || !strings.Contains(out, "created super_admin ada@example.com") {
		t.Fatalf("user add: %q %v", out, err)
	}
	if info, err := os.Stat(filepath.Join(filepath.Dir(db), "weftid.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v, want mode 0600", info, err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByEmail(context.Background(), "ada@example.com")
	if err != nil || u.Role != store.RoleSuperAdmin || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("stored user %+v %v", u, err)
	}
	events, _ := st.ListEvents(context.Background(), store.EventFilter{Type: "user_created"})
	if len(events) != 1 || events[0].Details["via"] != "cli" {
		t.Errorf("user_created events %+v", events)
	}

	for _, tt := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"taken address", "violet tractor juggles quietly 1987\n", []string{"--email", "ada@example.com", "--name", "Ada", "--role", "user"}, "already exists"},
		{"weak password", "password1234\n", []string{"--email", "bob@example.com", "--name", "Bob", "--role", "user"}, "Strength at least Strong"},
		{"super admin needs 14", "kR7#vQ2!mZ9@\n", []string{"--email", "cy@example.com", "--name", "Cy", "--role", "super_admin"}, "At least 14 characters"},
		{"bad role", "violet tractor juggles quietly 1987\n", []string{"--email", "di@example.com", "--name", "Di", "--role", "root"}, "Choose a role"},
		{"bad address", "violet tractor juggles quietly 1987\n", []string{"--email", "not-an-address", "--name", "Ed", "--role", "user"}, "valid email"},
		{"no password", "", []string{"--email", "fi@example.com", "--name", "Fi", "--role", "user"}, "At least"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, tt.stdin, append([]string{"user", "add", "--db", db}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "weftid.db")
	if _, err := runCLI(t, "violet tractor juggles quietly 1987\n", "user", "add", "--db", db, "--email", "a@example.com", "--name", "A", "--role", "user"); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "copy.db")
	if out, err := runCLI(t, "", "backup", "--db", db, dest); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: %q %v", out, err)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy's mode: %v %v, want 0600 (it holds hashes and sealed keys)", fi.Mode().Perm(), err)
	}
	st, err := store.Open(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByEmail(context.Background(), "a@example.com"); err != nil {
		t.Errorf("the copy lacks the user: %v", err)
	}
	st.Close()
	if _, err := runCLI(t, "", "backup", "--db", db, dest); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("backup over an existing file: %v, want a refusal", err)
	}
	if _, err := runCLI(t, "", "backup", "--db", filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Error("backup of a missing database: no error")
	}
	if _, err := runCLI(t, "", "backup", "--db", db); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("backup without a destination: %v", err)
	}
}

// A backup changes nothing in the database it copies: a newer binary must not migrate the file
// an older server is running on.
func TestBackupDoesNotMigrate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "", "backup", "--db", db, filepath.Join(dir, "copy.db")); err != nil {
		t.Fatalf("backup: %q %v", out, err)
	}
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'goose_db_version'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the backup migrated the database it copied (goose table: %d, %v)", n, err)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	if out, err := runCLI(t, "", "version"); err != nil || !strings.HasPrefix(out, "weftid ") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, err := runCLI(t, "", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := runCLI(t, "", "serve", "--base-url", "ftp://x"); err == nil || !strings.Contains(err.Error(), "--base-url") {
		t.Errorf("bad base URL: %v", err)
	}
}

// serve prints the one-time setup link on an empty database and stops when its context ends.
func TestServePrintsSetupLink(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "weftid.db"), "--base-url", "http://localhost:8080"},
			strings.NewReader(""), pw, quietLog())
		pw.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(15 * time.Second)
	for link := ""; link == ""; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("serve stopped without printing a setup link: %v", <-done)
			}
			if strings.Contains(line, "http://localhost:8080/setup?token=") {
				link = line
			}
		case <-timeout:
			t.Fatal("serve did not print a setup link")
		}
	}
	cancel()
	go func() {
		for range lines { // drain
		}
	}()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
