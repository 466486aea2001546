package store

import (
	"context"
	"database/sql"
)

// RawDB exposes the store's own connection pool to the tests, for checks that the API does not
// offer (deleting a user, counting rows): queries with `?` placeholders, rebound on PostgreSQL
// as the store's are. It exists only in test builds.
func RawDB(s *Store) Raw { return Raw{s.db} }

// SQLDB is the store's pool itself, for the SQLite-only checks of its connections (pragmas).
func SQLDB(s *Store) *sql.DB { return s.sqlDB }

// Raw runs queries on a store's pool.
type Raw struct{ db dbtx }

// Exec runs a statement.
func (r Raw) Exec(query string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(context.Background(), query, args...)
}

// ExecContext runs a statement.
func (r Raw) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(ctx, query, args...)
}

// Query runs a query.
func (r Raw) Query(query string, args ...any) (*sql.Rows, error) {
	return r.db.QueryContext(context.Background(), query, args...)
}

// QueryRow runs a query that returns one row.
func (r Raw) QueryRow(query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(context.Background(), query, args...)
}

// QueryRowContext runs a query that returns one row.
func (r Raw) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, query, args...)
}

// MigrateDownTo rolls the migrations back to version, for tests of one migration's data.
func MigrateDownTo(s *Store, version int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(context.Background(), version)
	return err

}
