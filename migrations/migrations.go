// Package migrations holds the goose migrations, embedded into the binary: one folder of SQL
// files per dialect (sqlite/ and postgres/, the same numbers and the same logical schema: a
// test compares them column by column), and in Go (see Go) the few that SQL cannot express.
package migrations

import (
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// FS is the embedded folders of goose SQL migrations, applied by store.Open.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS

// GoSource is the source of the Go migrations: the tests key their template databases on it
// and on FS, so a changed migration makes a new template.
//
//go:embed 0*.go
var GoSource embed.FS

// Provider returns a goose provider of every migration of the dialect, SQL and Go, on db. On
// PostgreSQL the migrations run under an advisory lock, so instances that start together apply
// each once.
func Provider(db *sql.DB, postgres bool) (*goose.Provider, error) {
	dir, dialect := "sqlite", goose.DialectSQLite3
	var opts []goose.ProviderOption
	if postgres {
		dir, dialect = "postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("migrations: lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(FS, dir)
	if err != nil {
		return nil, err
	}
	opts = append(opts, goose.WithGoMigrations(Go(postgres)...))
	return goose.NewProvider(dialect, db, sub, opts...)
}
