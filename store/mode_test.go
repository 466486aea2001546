package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/weftid/weftid/store"
)

// TestNewDatabaseIsPrivate: the database holds password hashes, sessions and sealed secrets, so a
// new file, and the -wal and -shm files SQLite makes beside it, are readable by the owner only.
func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weftid.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(name), err)
			continue
		}
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(name), got)
		}
	}
}

// TestExistingDatabaseKeepsItsMode: Open does not change the mode of a file it did not create
// (an operator may have chosen a group-readable file on purpose).
func TestExistingDatabaseKeepsItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weftid.db")
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o640 {
		t.Errorf("existing file: %v %v, want mode 0640 kept", info, err)
	}
}
