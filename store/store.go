// Package store keeps weftid's state: explicit SQL, one file per entity, on one SQLite file (the
// default) or on PostgreSQL, which several instances can share (see Dialect).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/weftid/weftid/migrations"
)

// ErrNotFound is returned when no row matched.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique value (such as an e-mail address) is taken.
var ErrConflict = errors.New("store: already exists")

// dbtx is what both *sql.DB and *sql.Tx offer; queries are written once against it.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// q carries every query; Store runs them on the pool, Tx inside one transaction. d is the
// dialect, for the few statements that differ; watch hears of writes that end sessions
// (watch.go).
type q struct {
	db    dbtx
	d     Dialect
	watch watcher
}

// Store is the database. Its query methods each run on their own; use InTx to group writes.
type Store struct {
	q
	sqlDB *sql.DB
	// locks are PostgreSQL connections apart from the pool, which hold the locks of Lock
	// (nil on SQLite).
	locks   *sql.DB
	path    string // the SQLite file ("" on PostgreSQL)
	watches *watches
}

// Tx is one transaction: the same query methods as Store, committed together. Its events are
// appended to the chain when it commits (AddEvent).
type Tx struct {
	q
	events []Event
}

// Open opens the database db names and applies every embedded migration of its dialect that
// has not run yet: a postgres:// (or postgresql://) URL is PostgreSQL, anything else the path of
// a SQLite file, created when missing (see openSQLite).
func Open(ctx context.Context, db string) (*Store, error) { return open(ctx, db, true) }

// OpenAsIs opens the database as Open does but applies no migration: for a backup or a check,
// which must not change the database a running server (perhaps an older one) uses.
func OpenAsIs(ctx context.Context, db string) (*Store, error) { return open(ctx, db, false) }

func open(ctx context.Context, db string, migrate bool) (*Store, error) {
	var s *Store
	var err error
	if IsPostgresURL(db) {
		s, err = openPostgres(ctx, db)
	} else {
		s, err = openSQLite(ctx, db)
	}
	if err != nil {
		return nil, err
	}
	s.watches = &watches{}
	s.watch = s.watches
	if !migrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect is the database the store runs on.
func (s *Store) Dialect() Dialect { return s.d }

func (s *Store) provider() (*goose.Provider, error) {
	p, err := migrations.Provider(s.sqlDB, s.d == Postgres)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate up: %w", err)
	}
	return nil
}

// MigrateDownAll rolls back every migration. It exists for the migration round-trip test.
func (s *Store) MigrateDownAll(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		return fmt.Errorf("store: migrate down: %w", err)
	}
	return nil
}

// MigrateUp applies every migration that has not run yet.
func (s *Store) MigrateUp(ctx context.Context) error { return s.migrate(ctx) }

// Close closes the database.
func (s *Store) Close() error {
	if s.locks != nil {
		s.locks.Close()
	}
	return s.sqlDB.Close()
}

// Ping checks that the database answers; /healthz uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.sqlDB.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// InTx runs fn in one transaction, committed when fn returns nil and rolled back otherwise. The
// events fn added are appended to the chain last, just before the commit (appendEvents).
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	pending := &txWatch{}
	tx := &Tx{q: q{db: sqlTx, d: s.d, watch: pending}}
	if s.d == Postgres {
		tx.db = rebound{sqlTx}
	}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := tx.appendEvents(ctx, tx.events); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if pending.changed {
		s.watches.accessChanged()
	}
	return nil
}

// unix converts a time to the stored Unix seconds.
func unix(t time.Time) int64 { return t.Unix() }

// fromUnix converts stored Unix seconds back to a UTC time.
func fromUnix(s int64) time.Time { return time.Unix(s, 0).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
