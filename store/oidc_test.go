package store_test

import (
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

// Every OAuth2 token, code and client lookup, and every revocation, is one indexed search,
// never a scan: SQLite's own query plan says so.
func TestOIDCLookupsAreIndexed(t *testing.T) {
	s, _ := newSQLite(t)
	db := store.RawDB(s)
	for q, args := range store.OIDCLookups {
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "SCAN") || !strings.Contains(p, "SEARCH") || !strings.Contains(p, "INDEX") {
			t.Errorf("not one indexed lookup:\n  %s\n  plan: %s", q, p)
		} else {
			t.Logf("%.60s… => %s", q, p)
		}
	}
}
