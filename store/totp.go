package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TOTP is a user's authenticator: the sealed secret, whether its setup was confirmed, and the
// newest time step accepted (so a code cannot be used twice).
type TOTP struct {
	UserID      int64
	SecretEnc   []byte
	ConfirmedAt time.Time // zero while the setup waits for its first code
	LastStep    int64
	CreatedAt   time.Time
}

// Confirmed reports whether the authenticator is in use.
func (t TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// PutPendingTOTP stores a TOTP setup waiting for its first code, replacing an earlier pending
// one. It refuses (ErrConflict) while a confirmed authenticator exists.
func (q q) PutPendingTOTP(ctx context.Context, userID int64, secretEnc []byte, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `
		INSERT INTO totp (user_id, secret_enc, confirmed_at, last_step, created_at) VALUES (?, ?, 0, 0, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, created_at = excluded.created_at
		WHERE totp.confirmed_at = 0`, userID, secretEnc, unix(now))
	if err != nil {
		return fmt.Errorf("store: pending totp: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrConflict
	}
	return nil
}

// TOTPByUser returns a user's authenticator (pending or confirmed), or ErrNotFound.
func (q q) TOTPByUser(ctx context.Context, userID int64) (TOTP, error) {
	t := TOTP{UserID: userID}
	var confirmed, created int64
	err := q.db.QueryRowContext(ctx, `SELECT secret_enc, confirmed_at, last_step, created_at FROM totp WHERE user_id = ?`, userID).
		Scan(&t.SecretEnc, &confirmed, &t.LastStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return TOTP{}, ErrNotFound
	}
	if err != nil {
		return TOTP{}, fmt.Errorf("store: totp: %w", err)
	}
	if confirmed != 0 {
		t.ConfirmedAt = fromUnix(confirmed)
	}
	t.CreatedAt = fromUnix(created)
	return t, nil
}

// ConfirmTOTP turns a pending setup into the user's authenticator, recording the step of the
// code that confirmed it.
func (q q) ConfirmTOTP(ctx context.Context, userID int64, step int64, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at = 0`,
		unix(now), step, userID)
	if err != nil {
		return fmt.Errorf("store: confirm totp: %w", err)
	}
	return mustAffect(res)
}

// UseTOTPStep records that a code of step was accepted, only if step is newer than the last one
// accepted; ErrNotFound otherwise, so two requests cannot both use one code.
func (q q) UseTOTPStep(ctx context.Context, userID int64, step int64) error {
	res, err := q.db.ExecContext(ctx, `UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed_at != 0 AND last_step < ?`,
		step, userID, step)
	if err != nil {
		return fmt.Errorf("store: use totp step: %w", err)
	}
	return mustAffect(res)
}

// DeleteTOTP removes a user's authenticator and backup codes, and reports whether there was a
// confirmed authenticator.
func (q q) DeleteTOTP(ctx context.Context, userID int64) (bool, error) {
	var confirmed int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM totp WHERE user_id = ? RETURNING confirmed_at`, userID).Scan(&confirmed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: delete totp: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
		return false, fmt.Errorf("store: delete backup codes: %w", err)
	}
	return confirmed != 0, nil
}

// ReplaceBackupCodes stores a new set of backup code hashes; the old set stops working.
func (q q) ReplaceBackupCodes(ctx context.Context, userID int64, hashes [][]byte, now time.Time) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM backup_codes WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("store: replace backup codes: %w", err)
	}
	for _, h := range hashes {
		if _, err := q.db.ExecContext(ctx, `INSERT INTO backup_codes (code_hash, user_id, created_at) VALUES (?, ?, ?)`, h, userID, unix(now)); err != nil {
			return fmt.Errorf("store: replace backup codes: %w", err)
		}
	}
	return nil
}

// ConsumeBackupCode deletes the user's code with that hash, atomically, or reports ErrNotFound:
// each code works once.
func (q q) ConsumeBackupCode(ctx context.Context, userID int64, hash []byte) error {
	var got []byte
	err := q.db.QueryRowContext(ctx, `DELETE FROM backup_codes WHERE code_hash = ? AND user_id = ? RETURNING code_hash`, hash, userID).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: consume backup code: %w", err)
	}
	return nil
}

// CountBackupCodes returns how many unused backup codes a user has.
func (q q) CountBackupCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM backup_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count backup codes: %w", err)
	}
	return n, nil
}
