package store_test

import (
	"testing"

	"github.com/weftid/weftid/store"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`VALUES (?1, ?2, ?3, ?3)`, `VALUES ($1, $2, $3, $3)`},
		{`WHERE a = ?2 OR b = ?1 AND c = ?`, `WHERE a = $2 OR b = $1 AND c = $3`}, // a bare ? follows the largest number, as in SQLite
		{`WHERE a = '?' AND b = ? AND c LIKE ? ESCAPE '\'`, `WHERE a = '?' AND b = $1 AND c LIKE $2 ESCAPE '\'`},
		{`WHERE a = 'it''s ?' AND b = ?`, `WHERE a = 'it''s ?' AND b = $1`},
		{`SELECT "odd?name" FROM t WHERE x = ?`, `SELECT "odd?name" FROM t WHERE x = $1`},
		{"SELECT 1 -- why? because\nWHERE x = ?", "SELECT 1 -- why? because\nWHERE x = $1"},
		{`WHERE x = ?10 AND y = ?`, `WHERE x = $10 AND y = $11`},
	} {
		if got := store.Rebind(c.in); got != c.want {
			t.Errorf("Rebind(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := store.Rebind(c.in); got != c.want { // from the cache
			t.Errorf("Rebind(%q) again = %q, want %q", c.in, got, c.want)
		}
	}
}
