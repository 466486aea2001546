package store_test

import (
	"testing"

	"github.com/weftid/weftid/store"
)

// schemaObjects lists the tables, indexes and triggers of the store's schema whose names are
// LIKE pattern, goose's own table left out, in either dialect.
func schemaObjects(t *testing.T, s *store.Store, pattern string) []string {
	t.Helper()
	query := `SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger', 'index')
		AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose_%' AND name LIKE ? ORDER BY name`
	if s.Dialect() == store.Postgres {
		query = `SELECT name FROM (
			SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'S')
			UNION ALL
			SELECT tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND NOT g.tgisinternal
			UNION ALL
			SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
		) o WHERE name NOT LIKE 'goose_%' AND name LIKE ? ORDER BY name`
	}
	return names(t, s, query, pattern)
}

// hasColumn reports whether table has the column, in either dialect.
func hasColumn(t *testing.T, s *store.Store, table, column string) bool {
	t.Helper()
	query := `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`
	if s.Dialect() == store.Postgres {
		query = `SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	return count(t, store.RawDB(s), query, table, column) > 0
}
