package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/weftid/weftid/store/eventchain"
)

// chainBatch is how many events the event chain migration reads at a time.
const chainBatch = 1000

// Go returns the migrations written in Go, for goose.WithGoMigrations: those SQL cannot do.
// Each call builds them anew, so no two providers share (and goose mutates) one value.
func Go() []*goose.Migration {
	return []*goose.Migration{
		// 14: each event gets the SHA-256 hash that chains it to the one before (SQLite has no
		// SHA-256 of its own), and the last verification of the chain gets a row.
		goose.NewGoMigration(14, &goose.GoFunc{RunTx: eventChainUp}, &goose.GoFunc{RunTx: eventChainDown}),
	}
}

func eventChainUp(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''`,
		// The last verification of the chain (one row): when, how many events it walked, whether
		// they were intact and if not the first bad one, and the head it vouched for last, which
		// the next verification checks is still there with the same hash.
		`CREATE TABLE event_chain_checks (
			id        INTEGER PRIMARY KEY CHECK (id = 1),
			at        INTEGER NOT NULL,
			events    INTEGER NOT NULL,
			intact    INTEGER NOT NULL,
			bad_id    INTEGER NOT NULL DEFAULT 0,
			bad_type  TEXT    NOT NULL DEFAULT '',
			problem   TEXT    NOT NULL DEFAULT '',
			head_id   INTEGER NOT NULL DEFAULT 0,
			head_hash TEXT    NOT NULL DEFAULT ''
		)`,
		// The events written so far are chained by this migration, the only writer ever allowed to
		// change an event row: the append-only trigger steps aside for it and comes back below.
		`DROP TRIGGER events_no_update`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("event chain: %w", err)
		}
	}
	var last int64
	prev := ""
	for {
		links, err := unchained(ctx, tx, last)
		if err != nil {
			return err
		}
		for _, l := range links {
			l.Prev = prev
			prev = eventchain.Hash(l)
			if _, err := tx.ExecContext(ctx, `UPDATE events SET hash = ? WHERE id = ?`, prev, l.ID); err != nil {
				return fmt.Errorf("event chain: event %d: %w", l.ID, err)
			}
			last = l.ID
		}
		if len(links) < chainBatch {
			break
		}
	}
	for _, stmt := range []string{
		`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
		BEGIN
			SELECT RAISE(ABORT, 'events are append-only');
		END`,
		// An event written without its hash (by anything but store.AddEvent) would break the chain
		// unnoticed until the next verification: refuse it at once.
		`CREATE TRIGGER events_hash_required BEFORE INSERT ON events WHEN length(NEW.hash) <> 64
		BEGIN
			SELECT RAISE(ABORT, 'events need their chain hash');
		END`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("event chain: %w", err)
		}
	}
	return nil
}

// unchained reads the next batch of events after id last, in id order.
func unchained(ctx context.Context, tx *sql.Tx, last int64) ([]eventchain.Link, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT id, at, type, actor_id, user_id, ip, user_agent, details FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		last, chainBatch)
	if err != nil {
		return nil, fmt.Errorf("event chain: read events: %w", err)
	}
	defer rows.Close()
	var links []eventchain.Link
	for rows.Next() {
		var l eventchain.Link
		if err := rows.Scan(&l.ID, &l.At, &l.Type, &l.ActorID, &l.UserID, &l.IP, &l.UserAgent, &l.Details); err != nil {
			return nil, fmt.Errorf("event chain: read events: %w", err)
		}
		links = append(links, l)
	}
	return links, rows.Err()
}

func eventChainDown(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range []string{
		`DROP TRIGGER events_hash_required`,
		`DROP TABLE event_chain_checks`,
		`ALTER TABLE events DROP COLUMN hash`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("event chain down: %w", err)
		}
	}
	return nil
}
