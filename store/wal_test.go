package store_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// burst writes about 3 times JournalSizeLimit in one transaction: the WAL must hold it all.
func burst(t *testing.T, s *store.Store, path string) {
	t.Helper()
	ctx := context.Background()
	pad := strings.Repeat("x", 1000)
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for i := range 3 * store.JournalSizeLimit / 1000 {
			if err := tx.RecordAttempt(ctx, "burst", []string{pad + string(rune('a'+i%26))}, false, t0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := walSize(t, path); got <= store.JournalSizeLimit {
		t.Fatalf("after the burst the WAL is %d bytes: the test did not grow it past %d", got, store.JournalSizeLimit)
	}
}

// The WAL does not keep the size of a burst: journal_size_limit truncates it at the next write
// after a checkpoint, and Checkpoint empties it.
func TestWALShrinksAfterABurst(t *testing.T) {
	s, p := newSQLite(t)
	ctx := context.Background()
	var limit int64
	if err := store.RawDB(s).QueryRow(`PRAGMA journal_size_limit`).Scan(&limit); err != nil || limit != store.JournalSizeLimit {
		t.Fatalf("journal_size_limit = %d (err %v), want %d", limit, err, store.JournalSizeLimit)
	}

	// The commit's automatic checkpoint copies the burst into the database; the next write
	// starts the log over and truncates the file to the limit.
	burst(t, s, p)
	if err := s.RecordAttempt(ctx, "after", []string{"k"}, false, t0); err != nil {
		t.Fatal(err)
	}
	if got := walSize(t, p); got > store.JournalSizeLimit {
		t.Errorf("after a checkpoint and a write the WAL is %d bytes, more than the limit %d", got, store.JournalSizeLimit)
	}

	burst(t, s, p)
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if got := walSize(t, p); got != 0 {
		t.Errorf("after Checkpoint the WAL is %d bytes, want 0", got)
	}
	// Nothing was lost on the way.
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM signin_attempts WHERE kind = 'burst'`); n != 2*(3*store.JournalSizeLimit/1000) {
		t.Errorf("%d burst rows, want %d", n, 2*(3*store.JournalSizeLimit/1000))
	}
}
