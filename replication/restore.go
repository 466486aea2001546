package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/benbjohnson/litestream"
)

// Restore writes the database the replica at url holds to dest, a new file: its latest state, or
// with a non-zero at the state it had then (every write synced before at, none synced after).
// It refuses an existing dest. The file is made in a private directory beside dest, checked
// with PRAGMA integrity_check, made readable by its owner only (it holds password hashes and
// sealed keys), and only then linked to dest, so dest never holds a partial database.
func Restore(ctx context.Context, url string, at time.Time, dest string, log *slog.Logger) error {
	useCABundle()
	client, err := newClient(url)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("restore: %s already exists: restore to a new file", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	if err := client.Init(ctx); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	work, err := os.MkdirTemp(filepath.Dir(dest), ".weftid-restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(work)

	r := litestream.NewReplicaWithClient(nil, client)
	if log != nil {
		client.SetLogger(log)
	}
	opt := litestream.NewRestoreOptions()
	opt.OutputPath = filepath.Join(work, "weftid.db")
	opt.Timestamp = at
	opt.IntegrityCheck = litestream.IntegrityCheckFull
	if err := r.Restore(ctx, opt); err != nil {
		if errors.Is(err, litestream.ErrNoSnapshots) || errors.Is(err, litestream.ErrTxNotAvailable) {
			return fmt.Errorf("%w (%v)", ErrNothingToRestore, err)
		}
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Chmod(opt.OutputPath, 0o600); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// A link, unlike a rename, fails when dest has appeared meanwhile.
	if err := os.Link(opt.OutputPath, dest); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}
