package store

import (
	"context"
	"database/sql"
)

// RawDB exposes the store's own connection pool to the tests, for checks that the API does not
// offer (pragmas, deleting a user). It exists only in test builds.
func RawDB(s *Store) *sql.DB { return s.sqlDB }

// MigrateDownTo rolls the migrations back to version, for tests of one migration's data.
func MigrateDownTo(s *Store, version int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(context.Background(), version)
	return err
}
