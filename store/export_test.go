package store

import "database/sql"

// RawDB exposes the store's own connection pool to the tests, for checks that the API does not
// offer (pragmas, deleting a user). It exists only in test builds.
func RawDB(s *Store) *sql.DB { return s.sqlDB }
