package store_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// column is one column of a table as both dialects can describe it: its logical type
// (integer, text or blob), whether it may be NULL, and its default ("(auto)" for an id the
// database assigns: SQLite's INTEGER PRIMARY KEY, PostgreSQL's identity column).
type column struct {
	Type     string
	Nullable bool
	Default  string
}

// TestDialectsHaveTheSameSchema: migrations/sqlite and migrations/postgres, each applied to a
// fresh database, make the same tables with the same columns (name, logical type,
// nullability, default) and the same named indexes. It needs PostgreSQL whatever dialect the
// suite runs on.
func TestDialectsHaveTheSameSchema(t *testing.T) {
	lite, _ := newSQLite(t)
	pg := openAt(t, storetest.PostgresDB(t))
	want, got := sqliteSchema(t, lite), postgresSchema(t, pg)
	for _, table := range union(keys(want), keys(got)) {
		w, inW := want[table]
		g, inG := got[table]
		switch {
		case !inG:
			t.Errorf("table %s: in SQLite, not in PostgreSQL", table)
			continue
		case !inW:
			t.Errorf("table %s: in PostgreSQL, not in SQLite", table)
			continue
		}
		for _, name := range union(keys(w), keys(g)) {
			wc, inW := w[name]
			gc, inG := g[name]
			if !inW || !inG || wc != gc {
				t.Errorf("%s.%s: SQLite %s, PostgreSQL %s", table, name, describe(wc, inW), describe(gc, inG))
			}
		}
	}
	if w, g := sqliteIndexes(t, lite), postgresIndexes(t, pg); !slices.Equal(w, g) {
		t.Errorf("named indexes differ:\n  SQLite     %q\n  PostgreSQL %q", w, g)
	}
	if len(want) < 25 {
		t.Errorf("only %d tables compared: the introspection found too little", len(want))
	}
}

func describe(c column, ok bool) string {
	if !ok {
		return "(none)"
	}
	null := "NOT NULL"
	if c.Nullable {
		null = "NULL"
	}
	return fmt.Sprintf("%s %s DEFAULT %s", c.Type, null, c.Default)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func sqliteSchema(t *testing.T, s *store.Store) map[string]map[string]column {
	t.Helper()
	rows, err := store.RawDB(s).Query(`
		SELECT m.name, c.name, c.type, c."notnull", COALESCE(c.dflt_value, ''), c.pk,
			(SELECT count(*) FROM pragma_table_info(m.name) WHERE pk > 0),
			(SELECT count(*) FROM pragma_foreign_key_list(m.name) f WHERE f."from" = c.name), m.sql
		FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE 'goose_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]column{}
	for rows.Next() {
		var table, name, typ, dflt, sql string
		var notNull, pk, pkColumns, foreign int
		if err := rows.Scan(&table, &name, &typ, &notNull, &dflt, &pk, &pkColumns, &foreign, &sql); err != nil {
			t.Fatal(err)
		}
		c := column{Type: strings.ToLower(typ), Nullable: notNull == 0 && pk == 0, Default: dflt}
		// The rowid: SQLite assigns it when weftid does not, which it always does for another
		// table's id (totp.user_id) and for a one-row table's (CHECK (id = 1)).
		if c.Type == "integer" && pk == 1 && pkColumns == 1 && foreign == 0 && !strings.Contains(sql, "CHECK ("+name+" = 1)") {
			c.Default = "(auto)"
		}
		// A PRIMARY KEY column is NOT NULL, as in PostgreSQL (SQLite would take a NULL in one that
		// is not an INTEGER PRIMARY KEY; weftid never writes one).
		if out[table] == nil {
			out[table] = map[string]column{}
		}
		out[table][name] = c
	}
	return out
}

// pgCast is the type cast PostgreSQL writes into a column's default ('x'::text).
var pgCast = regexp.MustCompile(`::[a-z ]+$`)

func postgresSchema(t *testing.T, s *store.Store) map[string]map[string]column {
	t.Helper()
	rows, err := store.RawDB(s).Query(`
		SELECT table_name, column_name, data_type, is_nullable, COALESCE(column_default, ''), is_identity
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name NOT LIKE 'goose_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	logical := map[string]string{"bigint": "integer", "text": "text", "bytea": "blob"}
	out := map[string]map[string]column{}
	for rows.Next() {
		var table, name, typ, nullable, dflt, identity string
		if err := rows.Scan(&table, &name, &typ, &nullable, &dflt, &identity); err != nil {
			t.Fatal(err)
		}
		c := column{Type: logical[typ], Nullable: nullable == "YES", Default: pgCast.ReplaceAllString(dflt, "")}
		if c.Type == "" {
			c.Type = "unexpected " + typ
		}
		if identity == "YES" {
			c.Default = "(auto)"
		}
		if out[table] == nil {
			out[table] = map[string]column{}
		}
		out[table][name] = c
	}
	return out
}

// sqliteIndexes are the indexes made by CREATE INDEX (not the automatic ones of UNIQUE and
// PRIMARY KEY constraints).
func sqliteIndexes(t *testing.T, s *store.Store) []string {
	t.Helper()
	return names(t, s, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)
}

// postgresIndexes are the indexes that back no constraint.
func postgresIndexes(t *testing.T, s *store.Store) []string {
	t.Helper()
	return names(t, s, `SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_namespace n ON n.oid = i.relnamespace
		WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY i.relname`)
}

// names runs a query of one text column and returns its rows.
func names(t *testing.T, s *store.Store, query string, args ...any) []string {
	t.Helper()
	rows, err := store.RawDB(s).Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}
