// Package storetest gives each test a fresh, migrated database of the dialect the suite runs
// on: a SQLite file in the test's temporary directory, or, when WEFTID_TEST_DB=postgres, a new
// PostgreSQL database on the server WEFTID_TEST_POSTGRES names (copied from a migrated template
// and dropped when the test ends). Tests that need PostgreSQL whatever the suite runs on (the
// schema comparison, several instances on one database) ask PostgresDB, which fails the test
// when WEFTID_TEST_POSTGRES is not set.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/weftid/weftid/migrations"
	"github.com/weftid/weftid/store"
)

// The environment the tests read.
const (
	// EnvServer is a PostgreSQL URL whose role may create databases, such as
	// postgres://postgres@127.0.0.1:5432/postgres. Its database is only used to create and drop
	// the tests' own.
	EnvServer = "WEFTID_TEST_POSTGRES"
	// EnvDialect set to "postgres" runs the store, services and handler tests on PostgreSQL.
	EnvDialect = "WEFTID_TEST_DB"
)

// Postgres reports whether the suite runs on PostgreSQL (WEFTID_TEST_DB=postgres).
func Postgres() bool { return os.Getenv(EnvDialect) == "postgres" }

// DB returns the --db value of a fresh, migrated database of the suite's dialect: a file path
// in t's temporary directory, or a postgres:// URL of a new database dropped when t ends.
func DB(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return PostgresDB(t)
	}
	return filepath.Join(t.TempDir(), "weftid.db")
}

// Open opens a fresh database of the suite's dialect (DB) and closes it when t ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenAt(t, DB(t))
}

// OpenAt opens the database db (a path or a URL) and closes it when t ends.
func OpenAt(t testing.TB, db string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// server is the connection to EnvServer's database, opened once per test binary, and the name
// of the template the tests' databases are copied from.
var server struct {
	once     sync.Once
	base     *url.URL
	db       *sql.DB
	template string
	err      error
}

// PostgresDB returns the URL of a new PostgreSQL database, migrated, and drops it when t ends
// (after every cleanup registered later, such as closing a store on it). It fails t when
// WEFTID_TEST_POSTGRES is not set or its server does not answer.
func PostgresDB(t testing.TB) string {
	t.Helper()
	server.once.Do(connect)
	if server.err != nil {
		t.Fatalf("PostgreSQL for the tests: %v", server.err)
	}
	name := "weftid_t_" + randomHex(8)
	if _, err := server.db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + server.template); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if _, err := server.db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := *server.base
	u.Path = "/" + name
	return u.String()
}

func connect() {
	raw := os.Getenv(EnvServer)
	if raw == "" {
		server.err = fmt.Errorf("set %s to a PostgreSQL URL whose role may create databases (e.g. postgres://postgres@127.0.0.1:5432/postgres); the README says how to start one", EnvServer)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !store.IsPostgresURL(raw) {
		server.err = fmt.Errorf("%s=%q is not a postgres:// URL", EnvServer, raw)
		return
	}
	db, err := sql.Open("pgx", raw)
	if err == nil {
		err = db.Ping()
	}
	if err != nil {
		server.err = fmt.Errorf("%s: %w", EnvServer, err)
		return
	}
	db.SetMaxOpenConns(4)
	server.base, server.db = u, db
	server.template, server.err = ensureTemplate(u, db)
}

// ensureTemplate makes the migrated template database of the current migrations, once for
// every test binary that shares the server: its name holds a hash of the migrations, and it is
// built under a new name and renamed when complete, under an advisory lock.
func ensureTemplate(base *url.URL, db *sql.DB) (string, error) {
	name := "weftid_tpl_" + migrationsHash()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	const lockKey = 0x77656674 // "weft"
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lockKey)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil || exists {
		return name, err
	}
	build := name + "_build"
	if _, err := conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+build+` WITH (FORCE)`); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+build); err != nil {
		return "", err
	}
	u := *base
	u.Path = "/" + build
	st, err := store.Open(ctx, u.String())
	if err != nil {
		return "", fmt.Errorf("migrate the template: %w", err)
	}
	st.Close()
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+build+` RENAME TO `+name); err != nil {
		return "", err
	}
	return name, nil
}

// migrationsHash is a short hash of every embedded migration file and of the Go migrations'
// source, so a change makes a new template.
func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations.FS, path)
			h.Write([]byte(path))
			h.Write(b)
		}
		return nil
	})
	for _, m := range migrations.Go(true) {
		fmt.Fprint(h, m.Version)
	}
	fs.WalkDir(migrations.GoSource, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations.GoSource, path)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Raw is a raw connection to a test's database, for what the store's API does not offer (a
// trigger that makes a write fail, a row deleted under the store): queries are written with `?`
// placeholders in either dialect, as the store's are.
type Raw struct {
	*sql.DB
	postgres bool
}

// RawDB opens a raw connection to db (a path or a URL, as DB returns) and closes it when t ends.
func RawDB(t testing.TB, db string) *Raw {
	t.Helper()
	var conn *sql.DB
	var err error
	if store.IsPostgresURL(db) {
		conn, err = sql.Open("pgx", db)
	} else {
		conn, err = sql.Open("sqlite3", "file:"+db+"?_busy_timeout=5000")
	}
	if err != nil {
		t.Fatalf("open %s: %v", db, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Raw{DB: conn, postgres: store.IsPostgresURL(db)}
}

func (r *Raw) q(query string) string {
	if r.postgres {
		return store.Rebind(query)
	}
	return query
}

// Exec runs a statement.
func (r *Raw) Exec(query string, args ...any) (sql.Result, error) {
	return r.DB.Exec(r.q(query), args...)
}

// ExecContext runs a statement.
func (r *Raw) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.DB.ExecContext(ctx, r.q(query), args...)
}

// Query runs a query.
func (r *Raw) Query(query string, args ...any) (*sql.Rows, error) {
	return r.DB.Query(r.q(query), args...)
}

// QueryRow runs a query that returns one row.
func (r *Raw) QueryRow(query string, args ...any) *sql.Row {
	return r.DB.QueryRow(r.q(query), args...)
}

// QueryRowContext runs a query that returns one row.
func (r *Raw) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.DB.QueryRowContext(ctx, r.q(query), args...)
}

// Postgres reports whether the connection is to PostgreSQL.
func (r *Raw) Postgres() bool { return r.postgres }

// DropTrigger drops a trigger of table (the append-only triggers of events, to tamper with the
// log as someone with write access to the database could).
func (r *Raw) DropTrigger(table, name string) error {
	stmt := `DROP TRIGGER ` + name
	if r.postgres {
		stmt += ` ON ` + table
	}
	_, err := r.DB.Exec(stmt)
	return err
}

// FailInserts makes the database refuse, with message, every insert into table whose new row
// meets when (a condition on NEW, such as NEW.type = 'x'), as a full disk or a lock timeout
// would: a trigger called name, which DropTrigger removes.
func (r *Raw) FailInserts(table, name, when, message string) error {
	stmts := []string{fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON %s WHEN %s BEGIN SELECT RAISE(ABORT, '%s'); END`,
		name, table, when, message)}
	if r.postgres {
		stmts = []string{
			fmt.Sprintf(`CREATE OR REPLACE FUNCTION %s_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '%s'; END $$`,
				name, message),
			fmt.Sprintf(`CREATE TRIGGER %s BEFORE INSERT ON %s FOR EACH ROW WHEN (%s) EXECUTE FUNCTION %[1]s_fail()`, name, table, when),
		}
	}
	for _, s := range stmts {
		if _, err := r.DB.Exec(s); err != nil {
			return err
		}
	}
	return nil
}

// Holding lists the tables of the database whose rows hold s, as text or as bytes (a BYTEA
// column shows as hex): the PostgreSQL stand-in for searching a SQLite file for a secret. It
// sees the rows as they are, not the dead row versions a VACUUM has not yet reclaimed.
func (r *Raw) Holding(t testing.TB, s string) []string {
	t.Helper()
	rows, err := r.DB.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	var hits []string
	for _, table := range tables {
		var n int
		err := r.DB.QueryRow(`SELECT count(*) FROM `+table+` t WHERE strpos(row_to_json(t)::text, $1) > 0 OR strpos(row_to_json(t)::text, $2) > 0`,
			s, hex.EncodeToString([]byte(s))).Scan(&n)
		if err != nil {
			t.Fatalf("search %s: %v", table, err)
		}
		if n > 0 {
			hits = append(hits, table)
		}
	}
	return hits
}

// Dialect is one database the benchmarks run on: its name and a maker of a fresh one.
type Dialect struct {
	Name string
	DB   func(testing.TB) string
}

// Dialects are the databases a benchmark compares in one run: SQLite, and PostgreSQL when
// WEFTID_TEST_POSTGRES names a server (benchmarks measure, they do not test: without it they
// measure SQLite alone).
func Dialects() []Dialect {
	ds := []Dialect{{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "weftid.db") }}}
	if os.Getenv(EnvServer) != "" {
		ds = append(ds, Dialect{"postgres", PostgresDB})
	}
	return ds
}
