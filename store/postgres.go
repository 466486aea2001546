package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Pool sizes on PostgreSQL, per instance: the queries' pool, and the connections that hold
// Lock's session locks (a lock waits for one of those, never for a query connection, so a
// crowd of requests waiting for locks cannot starve the holders of the queries they need).
const (
	postgresConns     = 16
	postgresLockConns = 8
)

// openPostgres connects to the PostgreSQL database of a postgres:// URL (pgx through
// database/sql). Several weftid instances may share it: what SQLite's single writer gave
// for free, they get from row locks, unique constraints and the advisory locks of Lock and
// Tx.Lock.
func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	name := cfg.Database
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(postgresConns)
	db.SetMaxIdleConns(postgresConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open postgres database %s: %w", name, err)
	}
	locks := stdlib.OpenDB(*cfg)
	locks.SetMaxOpenConns(postgresLockConns)
	locks.SetMaxIdleConns(postgresLockConns)
	locks.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{q: q{db: rebound{db}, d: Postgres}, sqlDB: db, locks: locks}, nil
}

// lockKey is the advisory lock key of a name in a space: a 64-bit hash, so unrelated names
// rarely share a key (and if they do, they only wait for each other). The two spaces keep a
// session lock and a transaction lock of one name apart: a request holding the first may take
// the second on another connection without waiting for itself.
func lockKey(space, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(space + "\x00" + name))
	return int64(h.Sum64())
}

// Lock takes the lock called name, across every instance on the database, and returns its
// release; it waits while another request holds it, until ctx ends. It is held across several
// transactions (a guess is checked, verified and counted under it). On PostgreSQL it is a
// session advisory lock on a connection of its own, which the release (or the connection's
// end, if the instance dies) gives back. On SQLite it is nothing: one process owns the file,
// and the caller's own mutex already covers it.
func (s *Store) Lock(ctx context.Context, name string) (release func(), err error) {
	if s.locks == nil {
		return func() {}, nil
	}
	conn, err := s.locks.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	key := lockKey("session", name)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		discard(conn) // whatever state the cancelled request left, it goes with the connection
		return nil, fmt.Errorf("store: lock %s: %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
			discard(conn) // a session that still holds the lock must not go back to the pool
			return
		}
		conn.Close()
	}, nil
}

// discard closes a connection for good instead of returning it to the pool.
func discard(conn *sql.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn })
	conn.Close()
}

// Lock takes the locks called names until the transaction ends, across every instance: the
// transaction's checks and writes then run as if alone among those that take one of them. On
// SQLite it does nothing: every transaction begins IMMEDIATE, and SQLite runs one writer at a
// time. The locks are taken in one fixed order, so two transactions taking the same names
// cannot wait for each other.
func (tx *Tx) Lock(ctx context.Context, names ...string) error { return tx.lock(ctx, names...) }

func (q q) lock(ctx context.Context, names ...string) error {
	if q.d != Postgres {
		return nil
	}
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = lockKey("tx", n)
	}
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		if _, err := q.db.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, k); err != nil {
			return fmt.Errorf("store: lock: %w", err)
		}
	}
	return nil
}
