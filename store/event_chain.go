package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weftid/weftid/store/eventchain"
)

// AddEvent appends one event in a transaction of its own (see Tx.AddEvent). An event that
// records a change belongs on that change's Tx instead.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.AddEvent(ctx, e) })
}

// ErrNoEventChain is returned when the database predates the event chain (migration 14): a
// server of this version has not yet opened it.
var ErrNoEventChain = errors.New("store: the database has no event chain yet (start the server once to upgrade it)")

// ChainLink is one event as the chain hashes it, its columns exactly as stored (Link.Prev is
// left empty: it is the hash of the link before), and the hash stored with it.
type ChainLink struct {
	eventchain.Link
	Hash string
}

// EventChain returns up to limit events with an id above after, in id order, as the chain
// hashes them.
func (q q) EventChain(ctx context.Context, after int64, limit int) ([]ChainLink, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT id, at, type, actor_id, user_id, ip, user_agent, details, hash FROM events WHERE id > ? ORDER BY id LIMIT ?`,
		after, limit)
	if err != nil {
		return nil, q.chainErr(ctx, fmt.Errorf("store: event chain: %w", err))
	}
	defer rows.Close()
	var links []ChainLink
	for rows.Next() {
		var l ChainLink
		if err := rows.Scan(&l.ID, &l.At, &l.Type, &l.ActorID, &l.UserID, &l.IP, &l.UserAgent, &l.Details, &l.Hash); err != nil {
			return nil, fmt.Errorf("store: event chain: %w", err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event chain: %w", err)
	}
	return links, nil
}

// chainErr turns err into ErrNoEventChain when the events have no hash column.
func (q q) chainErr(ctx context.Context, err error) error {
	var n int
	query := `SELECT count(*) FROM pragma_table_info('events') WHERE name = 'hash'`
	if q.d == Postgres {
		query = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'hash'`
	}
	if e := q.db.QueryRowContext(ctx, query).Scan(&n); e == nil && n == 0 {
		return ErrNoEventChain
	}
	return err
}

// ChainCheck is one verification of the event chain: when it ran, how many events it walked,
// and whether they were intact; if not, the first bad event and what was wrong with it. Head is
// the newest event it vouched for: the last event of an intact chain, or the head an earlier
// check vouched for when this one found the chain broken.
type ChainCheck struct {
	At       time.Time
	Events   int64
	Intact   bool
	BadID    int64
	BadType  EventType
	Problem  string
	HeadID   int64
	HeadHash string
}

// SaveChainCheck records c as the last verification of the chain, replacing the one before.
func (q q) SaveChainCheck(ctx context.Context, c ChainCheck) error {
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO event_chain_checks (id, at, events, intact, bad_id, bad_type, problem, head_id, head_hash)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET at = excluded.at, events = excluded.events, intact = excluded.intact,
			bad_id = excluded.bad_id, bad_type = excluded.bad_type, problem = excluded.problem,
			head_id = excluded.head_id, head_hash = excluded.head_hash`,
		unix(c.At), c.Events, boolInt(c.Intact), c.BadID, c.BadType, c.Problem, c.HeadID, c.HeadHash)
	if err != nil {
		return q.chainErr(ctx, fmt.Errorf("store: save chain check: %w", err))
	}
	return nil
}

// LastChainCheck returns the last verification of the chain, or ErrNotFound when there was none.
func (q q) LastChainCheck(ctx context.Context) (ChainCheck, error) {
	var c ChainCheck
	var at int64
	err := q.db.QueryRowContext(ctx, `
		SELECT at, events, intact, bad_id, bad_type, problem, head_id, head_hash FROM event_chain_checks WHERE id = 1`).
		Scan(&at, &c.Events, &c.Intact, &c.BadID, &c.BadType, &c.Problem, &c.HeadID, &c.HeadHash)
	if errors.Is(err, sql.ErrNoRows) {
		return ChainCheck{}, ErrNotFound
	}
	if err != nil {
		return ChainCheck{}, q.chainErr(ctx, fmt.Errorf("store: last chain check: %w", err))
	}
	c.At = fromUnix(at)
	return c, nil
}
