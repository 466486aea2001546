package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve refuses replication settings that cannot work before it opens anything: a PostgreSQL
// database, a replica URL it cannot use, a sync interval too short or unreadable.
func TestServeRefusesReplicationSettings(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "weftid.db")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"PostgreSQL", []string{"--db", "postgres://weftid@localhost/weftid", "--replicate", "file://" + dir}, "PostgreSQL"},
		{"unknown scheme", []string{"--db", db, "--replicate", "ftp://host/dir"}, "want file:///dir or s3://bucket/path"},
		{"relative directory", []string{"--db", db, "--replicate", "file://replica"}, "file:///absolute/directory"},
		{"root directory", []string{"--db", db, "--replicate", "file:///"}, "file:///absolute/directory"},
		{"bucket without a path", []string{"--db", db, "--replicate", "s3://bucket"}, "s3://bucket/path"},
		{"settings in the URL", []string{"--db", db, "--replicate", "s3://bucket/path?region=eu-west-1"}, "AWS_*"},
		{"interval too short", []string{"--db", db, "--replicate", "file://" + dir + "/r", "--replicate-interval", "10ms"}, "at least 100ms"},
		{"interval unreadable", []string{"--db", db, "--replicate", "file://" + dir + "/r", "--replicate-interval", "often"}, "--replicate-interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a refused serve created the database")
	}
}

// restore refuses what it cannot do, and says why: no replica named, an existing destination,
// an unreadable --at, a replica that holds nothing.
func TestRestoreRefusals(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := "file://" + filepath.Join(dir, "empty-replica")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no replica", []string{filepath.Join(dir, "a.db")}, "usage"},
		{"no destination", []string{"--from", empty}, "usage"},
		{"existing destination", []string{"--from", empty, existing}, "already exists"},
		{"unreadable time", []string{"--from", empty, "--at", "yesterday", filepath.Join(dir, "b.db")}, "RFC 3339"},
		{"bad replica URL", []string{"--from", "http://example.com/x", filepath.Join(dir, "c.db")}, "file:///dir or s3://bucket/path"},
		{"nothing replicated", []string{"--from", empty, filepath.Join(dir, "d.db")}, "holds nothing to restore"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, "", append([]string{"restore"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(existing); err != nil || string(b) != "keep me" {
		t.Errorf("the existing destination was touched: %q %v", b, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".weftid-restore-*"))
	for _, name := range []string{"b.db", "c.db", "d.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			leftovers = append(leftovers, name)
		}
	}
	if len(leftovers) > 0 {
		t.Errorf("a refused restore left files behind: %v", leftovers)
	}
}

// replicate is the server's child: run by hand without a replica or with arguments, it says how
// it is used.
func TestReplicateUsage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "weftid.db")
	for _, args := range [][]string{{"--db", db}, {"--db", db, "--replicate", "file:///tmp/x", "extra"}} {
		if _, err := runCLI(t, "", append([]string{"replicate"}, args...)...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("replicate %v: %v, want the usage", args, err)
		}
	}
	if _, err := runCLI(t, "", "replicate", "--db", db, "--replicate", "file:///tmp/x"); err == nil {
		t.Error("replicate of a missing database: no error")
	}
}
