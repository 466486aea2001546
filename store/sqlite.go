package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/mattn/go-sqlite3"
)

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

// openSQLite opens (creating if needed) the SQLite file at path in WAL mode with foreign keys
// and a busy timeout. A new file is made readable by its owner only (0600), and so are its -wal
// and -shm files, which SQLite creates with the database file's permissions. Every transaction
// begins IMMEDIATE: SQLite serialises writers, so a transaction's reads and writes are never
// interleaved with another's.
func openSQLite(ctx context.Context, path string) (*Store, error) {
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
	return &Store{q: q{db: db, d: SQLite}, sqlDB: db, path: path}, nil
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

// Checkpoint copies the write-ahead log into the database and truncates the -wal file to zero
// bytes (PRAGMA wal_checkpoint(TRUNCATE)); it waits for writers (the busy timeout) and reports
// SQLITE_BUSY as an error when readers kept it from finishing. The jobs runner calls it every
// minute, so the WAL shrinks back after a burst. On PostgreSQL, which manages its own WAL, it
// does nothing.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.d != SQLite {
		return nil
	}
	var busy, logPages, checkpointed int
	if err := s.sqlDB.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &checkpointed); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("store: checkpoint: busy (%d of %d pages copied)", checkpointed, logPages)
	}
	return nil
}

// ErrBackupPostgres is Backup's refusal on PostgreSQL, whose own tools copy it.
var ErrBackupPostgres = errors.New("store: weftid backup copies a SQLite file; back a PostgreSQL database up with pg_dump (e.g. pg_dump --format=custom --file=weftid.dump DBNAME)")

// Backup writes a consistent copy of the database to path with VACUUM INTO, which works while
// the server runs. It refuses to overwrite an existing file, and the copy is readable by its
// owner only (mode 0600): it holds password hashes, sealed keys and the event log. A PostgreSQL
// database is refused (ErrBackupPostgres).
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.d != SQLite {
		return ErrBackupPostgres
	}
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
