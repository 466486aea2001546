package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weftid/weftid/store/eventchain"
)

// Event is one line of the append-only audit log. ActorID is who acted (nil for the system or an
// anonymous visitor), UserID whom it concerns.
type Event struct {
	ID        int64
	At        time.Time
	Type      EventType
	ActorID   *int64
	UserID    *int64
	IP        string
	UserAgent string
	Details   map[string]any
}

// Origin is where a change came from, as events record it: the client's address and user agent
// (both empty for the system and the command line). Handlers read it from the request and pass
// it to the service that writes the event.
type Origin struct {
	IP        string
	UserAgent string
}

// Event builds an event that came from o.
func (o Origin) Event(at time.Time, typ EventType, actor, subject *int64, details map[string]any) Event {
	return Event{At: at, Type: typ, ActorID: actor, UserID: subject, IP: o.IP, UserAgent: o.UserAgent, Details: details}
}

// AddEvent adds an event to the transaction of the change it records. It is appended to the
// chain (see package eventchain) when the transaction commits, after everything else it
// does: Store.InTx calls appendEvents last. Store.AddEvent wraps a lone event in a transaction
// of its own.
func (tx *Tx) AddEvent(_ context.Context, e Event) error {
	tx.events = append(tx.events, e)
	return nil
}

// appendEvents appends events to the chain: it reads the newest event's id and hash and writes
// each next id with the hash over both. No other writer may add an event between the read and
// the insert, and the chain's order must be the order of the commits: SQLite's transactions
// begin IMMEDIATE (one writer at a time), and on PostgreSQL the transaction takes the chain's
// lock here, as its last step, holding it only until its commit. Taken last, it is never held
// while waiting for another lock, so it cannot be part of a deadlock.
func (q q) appendEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := q.lock(ctx, "events"); err != nil {
		return err
	}
	var head eventchain.Link
	err := q.db.QueryRowContext(ctx, `SELECT id, hash FROM events ORDER BY id DESC LIMIT 1`).Scan(&head.ID, &head.Prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: add event %s: chain head: %w", events[0].Type, err)
	}
	id, prev := head.ID, head.Prev
	for _, e := range events {
		details := []byte("{}")
		if len(e.Details) > 0 {
			if details, err = json.Marshal(e.Details); err != nil {
				return fmt.Errorf("store: event details: %w", err)
			}
		}
		id++
		l := eventchain.Link{ID: id, Prev: prev, At: unix(e.At), Type: string(e.Type), ActorID: e.ActorID, UserID: e.UserID,
			IP: e.IP, UserAgent: e.UserAgent, Details: string(details)}
		prev = eventchain.Hash(l)
		_, err = q.db.ExecContext(ctx, `
			INSERT INTO events (id, at, type, actor_id, user_id, ip, user_agent, details, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.ID, l.At, l.Type, l.ActorID, l.UserID, l.IP, l.UserAgent, l.Details, prev)
		if err != nil {
			return fmt.Errorf("store: add event %s: %w", e.Type, err)
		}
	}
	return nil
}

// EventFilter narrows ListEvents. Zero values match everything; BeforeID pages backwards.
type EventFilter struct {
	Type EventType
	// UserID keeps the events about this user (their subject).
	UserID int64
	// InvolvingUser keeps the events this user did or that are about them (actor or subject).
	InvolvingUser int64
	// InvolvingUsers keeps the events any of these users did or that are about them; nil is no
	// such condition, an empty non-nil slice matches nothing.
	InvolvingUsers []int64
	// From keeps events at or after it; To keeps events before it (a day range is
	// [midnight, next midnight)). Zero leaves that end open.
	From, To time.Time
	BeforeID int64
	Limit    int
}

// MaxEventPage is the most events one ListEvents call returns.
const MaxEventPage = 1000

// ListEvents returns events newest first (by id, the order they were written), at most Limit
// (default 100, at most MaxEventPage).
func (q q) ListEvents(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 || f.Limit > MaxEventPage {
		f.Limit = 100
	}
	// Each condition can use an index: events_type (type, id), events_user_id (user_id, id),
	// events_at (at) and the primary key for BeforeID.
	query := `SELECT id, at, type, actor_id, user_id, ip, user_agent, details FROM events WHERE 1=1`
	var args []any
	if f.Type != "" {
		query += ` AND type = ?`
		args = append(args, f.Type)
	}
	if f.UserID != 0 {
		query += ` AND user_id = ?`
		args = append(args, f.UserID)
	}
	if f.InvolvingUser != 0 {
		query += ` AND (user_id = ? OR actor_id = ?)`
		args = append(args, f.InvolvingUser, f.InvolvingUser)
	}
	if f.InvolvingUsers != nil {
		in := "NULL" // IN (NULL) matches nothing
		if len(f.InvolvingUsers) > 0 {
			in = "?" + strings.Repeat(",?", len(f.InvolvingUsers)-1)
		}
		query += ` AND (user_id IN (` + in + `) OR actor_id IN (` + in + `))`
		for range 2 {
			for _, id := range f.InvolvingUsers {
				args = append(args, id)
			}
		}
	}
	if !f.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, unix(f.From))
	}
	if !f.To.IsZero() {
		query += ` AND at < ?`
		args = append(args, unix(f.To))
	}
	if f.BeforeID != 0 {
		query += ` AND id < ?`
		args = append(args, f.BeforeID)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Type, &e.ActorID, &e.UserID, &e.IP, &e.UserAgent, &details); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		e.At = fromUnix(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("store: event %d details: %w", e.ID, err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	return events, nil
}
