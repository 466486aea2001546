// Package migrations holds the goose migrations, embedded into the binary: SQL files, and in Go
// (see Go) the few that SQL cannot express.
package migrations

import (
	"database/sql"
	"embed"

	"github.com/pressly/goose/v3"
)

// FS is the embedded folder of goose SQL migrations, applied by store.Open.
//
//go:embed *.sql
var FS embed.FS

// Provider returns a goose provider of every migration, SQL and Go, on db.
func Provider(db *sql.DB) (*goose.Provider, error) {
	return goose.NewProvider(goose.DialectSQLite3, db, FS, goose.WithGoMigrations(Go()...))
}
