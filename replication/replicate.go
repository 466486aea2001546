package replication

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
)

// Status is one line the replicator writes after each sync.
type Status struct {
	// Synced: every write committed before this moment is in the replica (the sync read the WAL
	// after it). Zero when the sync failed.
	Synced time.Time `json:"synced,omitzero"`
	// TXID is the replica's position, the last Litestream transaction it holds.
	TXID uint64 `json:"txid,omitempty"`
	// Error says why the sync failed ("" when it did not).
	Error string `json:"error,omitempty"`
	// Final marks the last sync, made on the way out.
	Final bool `json:"final,omitempty"`
}

// Replicate is the replicator process's work: it opens the database with Litestream and, every
// Interval, copies the new part of the WAL into the replica (by way of Litestream's LTX files
// next to the database, in .NAME-litestream), writing one Status line to status after each
// sync. Litestream owns checkpoints here: it holds a read transaction so no other checkpoint
// passes what it has copied, and checkpoints (PASSIVE) itself once it has. When stop closes
// (or ctx ends) it syncs a last time, closes, and returns.
//
// Compaction keeps the history a point-in-time restore needs, at Litestream's default
// granularity: every sync for 5 minutes, 30-second steps for longer, then 5-minute and hourly
// ones, and a daily snapshot kept a day.
func Replicate(ctx context.Context, opt Options, stop <-chan struct{}, status io.Writer, log *slog.Logger) error {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	useCABundle()
	client, err := newClient(opt.URL)
	if err != nil {
		return err
	}
	client.SetLogger(log)
	db := litestream.NewDB(opt.DB)
	db.Logger = log
	db.MonitorInterval = 0 // no syncs of its own: this loop makes them and knows when they ran
	r := litestream.NewReplicaWithClient(db, client)
	r.MonitorEnabled = false
	db.Replica = r
	if fc, ok := client.(*file.ReplicaClient); ok {
		fc.Replica = r // the replica's files get the database's owner and mode
	}
	levels := make(litestream.CompactionLevels, len(litestream.DefaultCompactionLevels))
	copy(levels, litestream.DefaultCompactionLevels)
	ls := litestream.NewStore([]*litestream.DB{db}, levels)
	ls.Logger = log
	if err := ls.Open(ctx); err != nil {
		return fmt.Errorf("replication: open %s: %w", opt.DB, err)
	}
	enc := json.NewEncoder(status)
	report := func(s Status) {
		// EPIPE: the server is gone (its stdin closing stops this loop next).
		if err := enc.Encode(s); err != nil && !errors.Is(err, syscall.EPIPE) {
			log.Warn("replication status not written", "err", err)
		}
	}

	tick := time.NewTicker(opt.Interval)
	defer tick.Stop()
	var failing, logged time.Time // since when syncs fail; when that was last logged
syncing:
	for {
		start := time.Now()
		if err := syncOnce(ctx, db, r); err != nil {
			// Logged when it starts failing and then once a minute, not at every interval.
			if failing.IsZero() || time.Since(logged) >= time.Minute {
				log.Warn("replication sync failed; retrying at every interval", "err", err, "failing_since", cmp.Or(failing, start))
				logged = time.Now()
			}
			failing = cmp.Or(failing, start)
			report(Status{Error: err.Error()})
		} else {
			if !failing.IsZero() {
				log.Warn("replication sync works again", "failed_for", time.Since(failing).Round(time.Second))
				failing = time.Time{}
			}
			report(Status{Synced: start, TXID: uint64(r.Pos().TXID)})
		}
		select {
		case <-tick.C:
		case <-stop:
			break syncing
		case <-ctx.Done():
			break syncing
		}
	}

	// The final sync: Close copies what is left and releases the database.
	start := time.Now()
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), db.ShutdownSyncTimeout+5*time.Second)
	defer cancel()
	if err := ls.Close(closeCtx); err != nil {
		report(Status{Error: err.Error(), Final: true})
		return fmt.Errorf("replication: final sync: %w", err)
	}
	report(Status{Synced: start, TXID: uint64(r.Pos().TXID), Final: true})
	return nil
}

// syncOnce copies the WAL into LTX files, then the LTX files into the replica.
func syncOnce(ctx context.Context, db *litestream.DB, r *litestream.Replica) error {
	if err := db.Sync(ctx); err != nil {
		return fmt.Errorf("read the WAL: %w", err)
	}
	if err := r.Sync(ctx); err != nil {
		return fmt.Errorf("copy to the replica: %w", err)
	}
	return nil
}
