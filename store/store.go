// Package store keeps weftid's state in one SQLite file: explicit SQL, one file per entity.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/mattn/go-sqlite3"

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

// q carries every query; Store runs them on the pool, Tx inside one transaction. watch hears
// of writes that end sessions (watch.go).
type q struct {
	db    dbtx
	watch watcher
}

// Store is the database. Its query methods each run on their own; use InTx to group writes.
type Store struct {
	q
	sqlDB   *sql.DB
	path    string
	watches *watches
}

// Tx is one transaction: the same query methods as Store, committed together.
type Tx struct{ q }

// JournalSizeLimit bounds the write-ahead log (bytes): after a checkpoint SQLite truncates the
// -wal file back to at most this, so a burst of writes does not leave a file of hundreds of
// megabytes behind. Checkpoint empties it.
const JournalSizeLimit = 4 << 20

// driverName is the SQLite driver as weftid opens it: go-sqlite3 with the pragmas its DSN
// cannot set run on every new connection.
const driverName = "sqlite3_weftid"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		_, err := conn.Exec(fmt.Sprintf("PRAGMA journal_size_limit = %d", JournalSizeLimit), nil)
		return err
	}})
}

// Open opens (creating if needed) the SQLite file at path in WAL mode with foreign keys and a
// busy timeout, and applies every embedded migration that has not run yet. A new file is made
// readable by its owner only (0600), and so are its -wal and -shm files, which SQLite creates
// with the database file's permissions.
func Open(ctx context.Context, path string) (*Store, error) { return open(ctx, path, true) }

// OpenAsIs opens the SQLite file at path as Open does but applies no migration: for a backup,
// which must not change the database a running server (perhaps an older one) uses.
func OpenAsIs(ctx context.Context, path string) (*Store, error) { return open(ctx, path, false) }

func open(ctx context.Context, path string, migrate bool) (*Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + url.Values{
		"_journal_mode": {"WAL"},
		"_foreign_keys": {"on"},
		"_busy_timeout": {"5000"},
		"_synchronous":  {"NORMAL"},
		"_txlock":       {"immediate"},
	}.Encode()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w := &watches{}
	s := &Store{q: q{db: db, watch: w}, sqlDB: db, path: path, watches: w}
	if !migrate {
		return s, nil
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// createPrivate creates the database file empty with mode 0600 when it does not exist yet, so
// that SQLite, which would create it 0644 (less the umask), finds it and keeps its mode. An
// existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func (s *Store) provider() (*goose.Provider, error) {
	p, err := migrations.Provider(s.sqlDB)
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
func (s *Store) Close() error { return s.sqlDB.Close() }

// Ping checks that the database answers; /healthz uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.sqlDB.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// Checkpoint copies the write-ahead log into the database and truncates the -wal file to zero
// bytes (PRAGMA wal_checkpoint(TRUNCATE)); it waits for writers (the busy timeout) and reports
// SQLITE_BUSY as an error when readers kept it from finishing. The jobs runner calls it every
// minute, so the WAL shrinks back after a burst.
func (s *Store) Checkpoint(ctx context.Context) error {
	var busy, logPages, checkpointed int
	if err := s.sqlDB.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &checkpointed); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("store: checkpoint: busy (%d of %d pages copied)", checkpointed, logPages)
	}
	return nil
}

// InTx runs fn in one transaction, committed when fn returns nil and rolled back otherwise.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := s.sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	pending := &txWatch{}
	if err := fn(&Tx{q: q{db: sqlTx, watch: pending}}); err != nil {
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

// Backup writes a consistent copy of the database to path with VACUUM INTO, which works while
// the server runs. It refuses to overwrite an existing file, and the copy is readable by its
// owner only (mode 0600): it holds password hashes, sealed keys and the event log.
func (s *Store) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("store: backup: %s already exists", path)
	}
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close() // VACUUM INTO fills an empty file, keeping its mode
	if _, err := s.sqlDB.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: backup to %s: %w", path, err)
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
