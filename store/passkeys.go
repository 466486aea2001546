package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Passkey is a registered WebAuthn credential. Credential is go-webauthn's Credential as JSON.
type Passkey struct {
	ID           int64
	UserID       int64
	CredentialID []byte
	Name         string
	Credential   string
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero when never used
}

const passkeyColumns = `id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (Passkey, error) {
	var p Passkey
	var created, used int64
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &p.SignCount, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, ErrNotFound
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("store: scan passkey: %w", err)
	}
	p.CreatedAt = fromUnix(created)
	if used != 0 {
		p.LastUsedAt = fromUnix(used)
	}
	return p, nil
}

// CreatePasskey stores a new passkey; ErrConflict when the credential is registered already.
func (q q) CreatePasskey(ctx context.Context, p Passkey) (Passkey, error) {
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO passkeys (user_id, credential_id, name, credential, sign_count, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, 0)
		RETURNING id`,
		p.UserID, p.CredentialID, p.Name, p.Credential, p.SignCount, unix(p.CreatedAt)).Scan(&p.ID)
	if uniqueViolation(err) {
		return Passkey{}, ErrConflict
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("store: create passkey: %w", err)
	}
	return p, nil
}

// PasskeysByUser lists a user's passkeys, oldest first.
func (q q) PasskeysByUser(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PasskeyByCredentialID finds a passkey by its WebAuthn credential id, or ErrNotFound.
func (q q) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	return scanPasskey(q.db.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, credentialID))
}

// CountPasskeys returns how many passkeys a user has.
func (q q) CountPasskeys(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count passkeys: %w", err)
	}
	return n, nil
}

// UsePasskey records a sign-in with a passkey: its new credential state and signature counter.
// The counter must move forward (or stay 0 for authenticators that keep none), checked in the
// same statement, so two sign-ins presenting one counter value cannot both pass: ErrNotFound.
func (q q) UsePasskey(ctx context.Context, id int64, credential string, signCount uint32, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `
		UPDATE passkeys SET credential = ?1, sign_count = ?2, last_used_at = ?3
		WHERE id = ?4 AND (sign_count < ?2 OR (?2 = 0 AND sign_count = 0))`,
		credential, signCount, unix(now), id)
	if err != nil {
		return fmt.Errorf("store: use passkey: %w", err)
	}
	return mustAffect(res)
}

// RenamePasskey renames one of a user's passkeys; ErrNotFound when it is not theirs.
func (q q) RenamePasskey(ctx context.Context, userID, id int64, name string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID)
	if err != nil {
		return fmt.Errorf("store: rename passkey: %w", err)
	}
	return mustAffect(res)
}

// DeletePasskey deletes one of a user's passkeys and returns it; ErrNotFound when it is not theirs.
func (q q) DeletePasskey(ctx context.Context, userID, id int64) (Passkey, error) {
	return scanPasskey(q.db.QueryRowContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ? RETURNING `+passkeyColumns, id, userID))
}

// WebAuthnHandle returns the user's random WebAuthn user handle, creating it on first use.
func (q q) WebAuthnHandle(ctx context.Context, userID int64) ([]byte, error) {
	var handle []byte
	err := q.db.QueryRowContext(ctx, `SELECT webauthn_handle FROM users WHERE id = ?`, userID).Scan(&handle)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: webauthn handle: %w", err)
	}
	if len(handle) > 0 {
		return handle, nil
	}
	handle = make([]byte, 32)
	if _, err := rand.Read(handle); err != nil {
		return nil, fmt.Errorf("store: webauthn handle: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE users SET webauthn_handle = ? WHERE id = ? AND webauthn_handle IS NULL`, handle, userID); err != nil {
		return nil, fmt.Errorf("store: webauthn handle: %w", err)
	}
	return q.WebAuthnHandle(ctx, userID)
}

// UserByWebAuthnHandle finds the user a passkey names, or ErrNotFound.
func (q q) UserByWebAuthnHandle(ctx context.Context, handle []byte) (User, error) {
	return scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE webauthn_handle = ?`, handle))
}

// Challenge is a WebAuthn ceremony in progress: go-webauthn's SessionData as JSON.
type Challenge struct {
	IDHash    []byte
	UserID    int64 // 0 for a sign-in with a passkey, before anyone is known
	Purpose   string
	Data      string
	ExpiresAt time.Time
}

// CreateChallenge stores a ceremony in progress.
func (q q) CreateChallenge(ctx context.Context, ch Challenge) error {
	var userID any
	if ch.UserID != 0 {
		userID = ch.UserID
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO webauthn_challenges (id_hash, user_id, purpose, data, expires_at) VALUES (?, ?, ?, ?, ?)`,
		ch.IDHash, userID, ch.Purpose, ch.Data, unix(ch.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create challenge: %w", err)
	}
	return nil
}

// ConsumeChallenge deletes and returns an unexpired ceremony of that purpose, atomically, or
// ErrNotFound: a challenge answers once.
func (q q) ConsumeChallenge(ctx context.Context, idHash []byte, purpose string, now time.Time) (Challenge, error) {
	ch := Challenge{IDHash: idHash, Purpose: purpose}
	var userID sql.NullInt64
	var expires int64
	err := q.db.QueryRowContext(ctx, `
		DELETE FROM webauthn_challenges WHERE id_hash = ? AND purpose = ? AND expires_at > ? RETURNING user_id, data, expires_at`,
		idHash, purpose, unix(now)).Scan(&userID, &ch.Data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Challenge{}, ErrNotFound
	}
	if err != nil {
		return Challenge{}, fmt.Errorf("store: consume challenge: %w", err)
	}
	ch.UserID, ch.ExpiresAt = userID.Int64, fromUnix(expires)
	return ch, nil
}

// StartChallenge stores a ceremony in progress in place of the browser's previous one (the
// keyed hash of the id its cookie named, nil when none): a browser has one ceremony at a time,
// and its cookie is about to name the new one. Expired ceremonies go in the same transaction, so
// their table holds no more than the ceremonies of the last few minutes, however many begin.
func (s *Store) StartChallenge(ctx context.Context, ch Challenge, previous []byte, now time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.db.ExecContext(ctx, `DELETE FROM webauthn_challenges WHERE expires_at <= ?`, unix(now)); err != nil {
			return fmt.Errorf("store: sweep challenges: %w", err)
		}
		if previous != nil {
			if _, err := tx.db.ExecContext(ctx, `DELETE FROM webauthn_challenges WHERE id_hash = ?`, previous); err != nil {
				return fmt.Errorf("store: replace challenge: %w", err)
			}
		}
		return tx.CreateChallenge(ctx, ch)
	})
}
