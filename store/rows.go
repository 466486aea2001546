package store

import (
	"context"
	"fmt"
)

// rowScanner is a row, or a set of rows at its current one.
type rowScanner = interface{ Scan(...any) error }

// queryAll runs query on db and scans every row it returns with scan; what names it in errors.
func queryAll[T any](ctx context.Context, db dbtx, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
