package store

import "database/sql"

// DBStats is the connection pool's statistics (open, in use, idle, waits), for the metrics.
func (s *Store) DBStats() sql.DBStats { return s.sqlDB.Stats() }
