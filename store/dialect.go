package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Dialect is the SQL database a store runs on. The store's SQL is written once, in the subset
// both accept: `?` placeholders (rebound to $n for PostgreSQL, below), times as INTEGER Unix
// seconds, booleans as INTEGER 0 or 1, RETURNING instead of the last insert id, ON CONFLICT,
// COALESCE. The few statements that differ ask the dialect, in one small place per file.
type Dialect int

// The two dialects.
const (
	SQLite Dialect = iota
	Postgres
)

// String names the dialect as goose and the logs do.
func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite3"
}

// IsPostgresURL reports whether a --db value names a PostgreSQL database rather than a
// SQLite file.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// uniqueViolation reports whether err is the database refusing a duplicate value (a unique
// index or a primary key).
func uniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// foreignKeyViolation reports whether err is the database refusing a row whose reference is
// missing.
func foreignKeyViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintForeignKey
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// rebound runs queries written with `?` placeholders on PostgreSQL: each query is rewritten to
// $1, $2, ... once and cached, and boolean arguments become the 0 and 1 the INTEGER columns
// hold (SQLite's driver does that itself).
type rebound struct{ db dbtx }

func (r rebound) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.db.ExecContext(ctx, Rebind(query), boolsAsInts(args)...)
}

func (r rebound) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.db.QueryContext(ctx, Rebind(query), boolsAsInts(args)...)
}

func (r rebound) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.db.QueryRowContext(ctx, Rebind(query), boolsAsInts(args)...)
}

func boolsAsInts(args []any) []any {
	copied := false
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if !copied { // the caller's slice stays as it was
				args, copied = append([]any(nil), args...), true
			}
			args[i] = int64(boolInt(b))
		}
	}
	return args
}

// rebindCache holds each query's PostgreSQL form: the store's queries are constants (or built
// from a few), so it stays small.
var rebindCache sync.Map

// Rebind rewrites a query's placeholders for PostgreSQL as SQLite numbers them: `?NNN` is
// $NNN, and a bare `?` is one more than the largest number before it. Question marks inside
// quoted strings, quoted identifiers and comments are left alone.
func Rebind(query string) string {
	if v, ok := rebindCache.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	largest := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			n := largest + 1
			if j > i+1 {
				n, _ = strconv.Atoi(query[i+1 : j])
			}
			largest = max(largest, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	rebindCache.Store(query, out)
	return out
}
