package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TakeLease gives holder the lease called name until `until` when it is free at now (nobody
// holds it, or its holder's time is up) or holder has it already (a renewal), in one
// statement; it reports whether holder has it, and otherwise until when the other holder does.
func (q q) TakeLease(ctx context.Context, name, holder string, now, until time.Time) (held bool, busyUntil time.Time, err error) {
	var got string
	err = q.db.QueryRowContext(ctx, `
		INSERT INTO job_leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= ?3
		RETURNING holder`, name, holder, unix(now), unix(until)).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		var expires int64
		err = q.db.QueryRowContext(ctx, `SELECT expires_at FROM job_leases WHERE name = ?`, name).Scan(&expires)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, time.Time{}, fmt.Errorf("store: lease %s: %w", name, err)
		}
		return false, fromUnix(expires), nil
	}
	if err != nil {
		return false, time.Time{}, fmt.Errorf("store: lease %s: %w", name, err)
	}
	return got == holder, time.Time{}, nil
}

// ReleaseLease frees the lease called name if holder has it, so any instance may take it at
// once.
func (q q) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM job_leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, err)
	}
	return nil
}

// ErrOtherSecretKey is CheckSecretKey's refusal.
var ErrOtherSecretKey = errors.New("store: this secret key file is not the one the database was first used with: " +
	"every instance on a database must read the same key file (copy it from the instance that made it)")

// CheckSecretKey records digest, the fingerprint of the secret key file, the first time, and
// afterwards returns ErrOtherSecretKey when it differs from the one recorded.
func (q q) CheckSecretKey(ctx context.Context, digest []byte, now time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO secret_key_check (id, digest, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		digest, unix(now))
	if err != nil {
		return fmt.Errorf("store: secret key check: %w", err)
	}
	var stored []byte
	if err := q.db.QueryRowContext(ctx, `SELECT digest FROM secret_key_check WHERE id = 1`).Scan(&stored); err != nil {
		return fmt.Errorf("store: secret key check: %w", err)
	}
	if !hmac.Equal(stored, digest) {
		return ErrOtherSecretKey
	}
	return nil
}
