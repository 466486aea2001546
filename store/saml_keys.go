package store

import (
	"context"
	"fmt"
	"time"
)

// SAMLSigningKey is one of the identity provider's signing keys: the certificate in DER and the
// PKCS #8 private key, sealed. It is published from CreatedAt, signs from ActivatesAt and leaves
// the metadata at RetiresAt (zero while no newer key signs).
type SAMLSigningKey struct {
	KID         string
	Certificate []byte
	SealedKey   []byte
	CreatedAt   time.Time
	ActivatesAt time.Time
	RetiresAt   time.Time
}

// SAMLSigningKeys returns the keys not retired at now, the one activating last first: the first
// whose ActivatesAt has come signs; every one is published.
func (q q) SAMLSigningKeys(ctx context.Context, now time.Time) ([]SAMLSigningKey, error) {
	return queryAll(ctx, q.db, "saml signing keys", func(r rowScanner) (SAMLSigningKey, error) {
		var k SAMLSigningKey
		var created, activates, retires int64
		if err := r.Scan(&k.KID, &k.Certificate, &k.SealedKey, &created, &activates, &retires); err != nil {
			return k, fmt.Errorf("store: saml signing keys: %w", err)
		}
		k.CreatedAt, k.ActivatesAt, k.RetiresAt = fromUnix(created), fromUnix(activates), retiredAt(retires)
		return k, nil
	}, `SELECT kid, certificate, private_key, created_at, activates_at, COALESCE(retires_at, 0)
		FROM saml_signing_keys WHERE retires_at IS NULL OR retires_at > ? ORDER BY activates_at DESC, created_at DESC, kid`, unix(now))
}

// CreateFirstSAMLSigningKey stores the key of the first start; ErrConflict (and nothing stored)
// when there is a key already, so that every process signs with the one stored first. The check
// and the insert are one transaction under the keys' lock: instances starting together on one
// database store one.
func (s *Store) CreateFirstSAMLSigningKey(ctx context.Context, k SAMLSigningKey) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.createFirstSAMLSigningKey(ctx, k) })
}

func (q q) createFirstSAMLSigningKey(ctx context.Context, k SAMLSigningKey) error {
	if err := q.lock(ctx, "saml_signing_keys"); err != nil {
		return err
	}
	res, err := q.db.ExecContext(ctx, `INSERT INTO saml_signing_keys (kid, certificate, private_key, created_at, activates_at)
		SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM saml_signing_keys)`,
		k.KID, k.Certificate, k.SealedKey, unix(k.CreatedAt), unix(k.ActivatesAt))
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create saml signing key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrConflict
	}
	return nil
}

// AddSAMLSigningKey stores a rotated-in key, and schedules every key not yet retiring to leave
// the metadata at retireOthers. Call it in a transaction: it holds the keys' lock until the end,
// so two rotations at once (on two instances) leave one key not retiring.
func (q q) AddSAMLSigningKey(ctx context.Context, k SAMLSigningKey, retireOthers time.Time) error {
	if err := q.lock(ctx, "saml_signing_keys"); err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE saml_signing_keys SET retires_at = ? WHERE retires_at IS NULL`, unix(retireOthers)); err != nil {
		return fmt.Errorf("store: retire saml signing keys: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO saml_signing_keys (kid, certificate, private_key, created_at, activates_at) VALUES (?, ?, ?, ?, ?)`,
		k.KID, k.Certificate, k.SealedKey, unix(k.CreatedAt), unix(k.ActivatesAt))
	if err != nil {
		return fmt.Errorf("store: add saml signing key: %w", err)
	}
	return nil
}

// ActivateSAMLSigningKeyNow makes the waiting key kid sign from now and retires every other key
// not yet retired at now; ErrNotFound when kid is not a key waiting to sign. It takes the keys'
// lock, as AddSAMLSigningKey does.
func (q q) ActivateSAMLSigningKeyNow(ctx context.Context, kid string, now time.Time) error {
	if err := q.lock(ctx, "saml_signing_keys"); err != nil {
		return err
	}
	res, err := q.db.ExecContext(ctx, `UPDATE saml_signing_keys SET activates_at = ? WHERE kid = ? AND activates_at > ? AND retires_at IS NULL`,
		unix(now), kid, unix(now))
	if err != nil {
		return fmt.Errorf("store: activate saml signing key: %w", err)
	}
	if err := mustAffect(res); err != nil {
		return err
	}
	_, err = q.db.ExecContext(ctx, `UPDATE saml_signing_keys SET retires_at = ? WHERE kid <> ? AND (retires_at IS NULL OR retires_at > ?)`,
		unix(now), kid, unix(now))
	if err != nil {
		return fmt.Errorf("store: retire saml signing keys: %w", err)
	}
	return nil
}
