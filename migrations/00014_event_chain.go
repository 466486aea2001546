package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/weftid/weftid/store/eventchain"
)

// chainBatch is how many events the event chain migration reads at a time.
const chainBatch = 1000

// Go returns the migrations written in Go of a dialect (SQLite, or PostgreSQL when postgres),
// for goose.WithGoMigrations: those SQL cannot do. Each call builds them anew, so no two
// providers share (and goose mutates) one value.
func Go(postgres bool) []*goose.Migration {
	c := eventChainSQL[sqliteChain]
	if postgres {
		c = eventChainSQL[postgresChain]
	}
	return []*goose.Migration{
		// 14: each event gets the SHA-256 hash that chains it to the one before (SQLite has no
		// SHA-256 of its own), and the last verification of the chain gets a row.
		goose.NewGoMigration(14, &goose.GoFunc{RunTx: c.up}, &goose.GoFunc{RunTx: c.down}),
	}
}

// chainSQL is what migration 14 runs in one dialect: before chaining the events written so far,
// after it, and to go back down. Only the types and the triggers differ.
type chainSQL struct {
	before, after, undo []string
	postgres            bool // placeholders are $1, $2
}

const (
	sqliteChain = iota
	postgresChain
)

// eventChecksTable is the last verification of the chain (one row): when, how many events it
// walked, whether they were intact and if not the first bad one, and the head it vouched for
// last, which the next verification checks is still there with the same hash. %s is the
// dialect's INTEGER.
const eventChecksTable = `CREATE TABLE event_chain_checks (
	id        %[1]s PRIMARY KEY CHECK (id = 1),
	at        %[1]s NOT NULL,
	events    %[1]s NOT NULL,
	intact    %[1]s NOT NULL,
	bad_id    %[1]s NOT NULL DEFAULT 0,
	bad_type  TEXT    NOT NULL DEFAULT '',
	problem   TEXT    NOT NULL DEFAULT '',
	head_id   %[1]s NOT NULL DEFAULT 0,
	head_hash TEXT    NOT NULL DEFAULT ''
)`

// The events written so far are chained by this migration, the only writer ever allowed to change
// an event row: the append-only trigger steps aside for it and comes back after. An event written
// without its hash (by anything but the store's appendEvents) would break the chain unnoticed
// until the next verification: a trigger refuses it at once.
var eventChainSQL = [...]chainSQL{
	sqliteChain: {
		before: []string{
			`ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''`,
			fmt.Sprintf(eventChecksTable, "INTEGER"),
			`DROP TRIGGER events_no_update`,
		},
		after: []string{
			`CREATE TRIGGER events_no_update BEFORE UPDATE ON events
			BEGIN
				SELECT RAISE(ABORT, 'events are append-only');
			END`,
			`CREATE TRIGGER events_hash_required BEFORE INSERT ON events WHEN length(NEW.hash) <> 64
			BEGIN
				SELECT RAISE(ABORT, 'events need their chain hash');
			END`,
		},
		undo: []string{
			`DROP TRIGGER events_hash_required`,
			`DROP TABLE event_chain_checks`,
			`ALTER TABLE events DROP COLUMN hash`,
		},
	},
	postgresChain: {
		postgres: true,
		before: []string{
			`ALTER TABLE events ADD COLUMN hash TEXT NOT NULL DEFAULT ''`,
			fmt.Sprintf(eventChecksTable, "BIGINT "),
			`DROP TRIGGER events_no_update ON events`,
		},
		after: []string{
			`CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only()`,
			`CREATE FUNCTION events_hash_missing() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'events need their chain hash';
			END
			$$`,
			`CREATE TRIGGER events_hash_required BEFORE INSERT ON events FOR EACH ROW WHEN (length(NEW.hash) <> 64)
			EXECUTE FUNCTION events_hash_missing()`,
		},
		undo: []string{
			`DROP TRIGGER events_hash_required ON events`,
			`DROP FUNCTION events_hash_missing()`,
			`DROP TABLE event_chain_checks`,
			`ALTER TABLE events DROP COLUMN hash`,
		},
	},
}

// exec runs statements in order.
func exec(ctx context.Context, tx *sql.Tx, what string, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func (c chainSQL) up(ctx context.Context, tx *sql.Tx) error {
	if err := exec(ctx, tx, "event chain", c.before); err != nil {
		return err
	}
	var last int64
	prev := ""
	for {
		links, err := c.unchained(ctx, tx, last)
		if err != nil {
			return err
		}
		for _, l := range links {
			l.Prev = prev
			prev = eventchain.Hash(l)
			if _, err := tx.ExecContext(ctx, c.rebind(`UPDATE events SET hash = ? WHERE id = ?`), prev, l.ID); err != nil {
				return fmt.Errorf("event chain: event %d: %w", l.ID, err)
			}
			last = l.ID
		}
		if len(links) < chainBatch {
			break
		}
	}
	return exec(ctx, tx, "event chain", c.after)
}

// unchained reads the next batch of events after id last, in id order.
func (c chainSQL) unchained(ctx context.Context, tx *sql.Tx, last int64) ([]eventchain.Link, error) {
	rows, err := tx.QueryContext(ctx, c.rebind(`
		SELECT id, at, type, actor_id, user_id, ip, user_agent, details FROM events WHERE id > ? ORDER BY id LIMIT ?`),
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

func (c chainSQL) down(ctx context.Context, tx *sql.Tx) error {
	return exec(ctx, tx, "event chain down", c.undo)
}

// rebind numbers a query's two placeholders as PostgreSQL wants them (the store's Rebind would
// do, but migrations come before the store).
func (c chainSQL) rebind(query string) string {
	if c.postgres {
		return strings.Replace(strings.Replace(query, "?", "$1", 1), "?", "$2", 1)
	}
	return query
}
