package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReplaceSetupToken drops any earlier setup token and stores this one, in one transaction that
// holds the setup lock: only the newest printed /setup link works, also when several instances
// start at once.
func (s *Store) ReplaceSetupToken(ctx context.Context, tokenHash []byte, expires time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Lock(ctx, SetupLock); err != nil {
			return err
		}
		if _, err := tx.db.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("store: replace setup token: %w", err)
		}
		if _, err := tx.db.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)`, tokenHash, unix(expires)); err != nil {
			return fmt.Errorf("store: replace setup token: %w", err)
		}
		return nil
	})
}

// SetupLock is the lock (Tx.Lock) of the first-run setup: the transaction that uses the setup
// link and creates the first super admin holds it, so two cannot both find no users.
const SetupLock = "setup"

// SetupTokenValid reports whether the token is stored and unexpired, without using it.
func (q q) SetupTokenValid(ctx context.Context, tokenHash []byte, now time.Time) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM setup_tokens WHERE token_hash = ? AND expires_at > ?`, tokenHash, unix(now)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: setup token: %w", err)
	}
	return n > 0, nil
}

// ConsumeSetupToken deletes the token if it is stored and unexpired, atomically, and reports
// ErrNotFound otherwise: the link works once.
func (q q) ConsumeSetupToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	var exp int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ? RETURNING expires_at`,
		tokenHash, unix(now)).Scan(&exp)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: consume setup token: %w", err)
	}
	return nil
}
