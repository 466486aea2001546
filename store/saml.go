package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SAMLKey is the identity provider's signing key: the certificate in DER and the PKCS #8
// private key, sealed.
type SAMLKey struct {
	Certificate []byte
	SealedKey   []byte
	CreatedAt   time.Time
}

// SAMLKey returns the identity provider's key, or ErrNotFound before the first start made one.
func (q q) SAMLKey(ctx context.Context) (SAMLKey, error) {
	var k SAMLKey
	var created int64
	err := q.db.QueryRowContext(ctx, `SELECT certificate, private_key, created_at FROM saml_idp_key WHERE id = 1`).
		Scan(&k.Certificate, &k.SealedKey, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLKey{}, ErrNotFound
	}
	if err != nil {
		return SAMLKey{}, fmt.Errorf("store: saml key: %w", err)
	}
	k.CreatedAt = fromUnix(created)
	return k, nil
}

// CreateSAMLKey stores the identity provider's key; ErrConflict when one exists already (the
// caller then reads that one, so every process signs with the same key).
func (q q) CreateSAMLKey(ctx context.Context, k SAMLKey) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO saml_idp_key (id, certificate, private_key, created_at) VALUES (1, ?, ?, ?)`,
		k.Certificate, k.SealedKey, unix(k.CreatedAt))
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create saml key: %w", err)
	}
	return nil
}

// SAMLServiceProvider is an application that signs its users in with SAML, registered by its
// metadata.
type SAMLServiceProvider struct {
	ID        int64
	EntityID  string
	Name      string
	Metadata  string
	ACSURL    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

const samlSPColumns = `id, entity_id, name, metadata, acs_url, created_at, updated_at`

func scanSAMLSP(row interface{ Scan(...any) error }) (SAMLServiceProvider, error) {
	var sp SAMLServiceProvider
	var created, updated int64
	if err := row.Scan(&sp.ID, &sp.EntityID, &sp.Name, &sp.Metadata, &sp.ACSURL, &created, &updated); err != nil {
		return SAMLServiceProvider{}, err
	}
	sp.CreatedAt, sp.UpdatedAt = fromUnix(created), fromUnix(updated)
	return sp, nil
}

// CreateSAMLServiceProvider stores a new service provider; ErrConflict when its entity ID is
// registered already.
func (q q) CreateSAMLServiceProvider(ctx context.Context, sp SAMLServiceProvider) (SAMLServiceProvider, error) {
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO saml_service_providers (entity_id, name, metadata, acs_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		RETURNING id`,
		sp.EntityID, sp.Name, sp.Metadata, sp.ACSURL, unix(sp.CreatedAt), unix(sp.CreatedAt)).Scan(&sp.ID)
	if uniqueViolation(err) {
		return SAMLServiceProvider{}, ErrConflict
	}
	if err != nil {
		return SAMLServiceProvider{}, fmt.Errorf("store: create saml service provider: %w", err)
	}
	sp.UpdatedAt = sp.CreatedAt
	return sp, nil
}

// UpdateSAMLServiceProvider saves a service provider's name and metadata (with the entity ID
// and ACS read from it); ErrNotFound when it is gone, ErrConflict when the new entity ID belongs
// to another one.
func (q q) UpdateSAMLServiceProvider(ctx context.Context, sp SAMLServiceProvider) error {
	res, err := q.db.ExecContext(ctx, `
		UPDATE saml_service_providers SET entity_id = ?, name = ?, metadata = ?, acs_url = ?, updated_at = ? WHERE id = ?`,
		sp.EntityID, sp.Name, sp.Metadata, sp.ACSURL, unix(sp.UpdatedAt), sp.ID)
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: update saml service provider: %w", err)
	}
	return mustAffect(res)
}

// DeleteSAMLServiceProvider removes a service provider (and the requests held for it).
func (q q) DeleteSAMLServiceProvider(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM saml_service_providers WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete saml service provider: %w", err)
	}
	return mustAffect(res)
}

// SAMLServiceProvider returns one service provider by id, or ErrNotFound.
func (q q) SAMLServiceProvider(ctx context.Context, id int64) (SAMLServiceProvider, error) {
	sp, err := scanSAMLSP(q.db.QueryRowContext(ctx, `SELECT `+samlSPColumns+` FROM saml_service_providers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLServiceProvider{}, ErrNotFound
	}
	if err != nil {
		return SAMLServiceProvider{}, fmt.Errorf("store: saml service provider: %w", err)
	}
	return sp, nil
}

// SAMLServiceProviderByEntityID returns the service provider with that entity ID, or ErrNotFound.
func (q q) SAMLServiceProviderByEntityID(ctx context.Context, entityID string) (SAMLServiceProvider, error) {
	sp, err := scanSAMLSP(q.db.QueryRowContext(ctx, `SELECT `+samlSPColumns+` FROM saml_service_providers WHERE entity_id = ?`, entityID))
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLServiceProvider{}, ErrNotFound
	}
	if err != nil {
		return SAMLServiceProvider{}, fmt.Errorf("store: saml service provider: %w", err)
	}
	return sp, nil
}

// SAMLServiceProviders lists every service provider by name.
func (q q) SAMLServiceProviders(ctx context.Context) ([]SAMLServiceProvider, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+samlSPColumns+` FROM saml_service_providers ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("store: saml service providers: %w", err)
	}
	defer rows.Close()
	var out []SAMLServiceProvider
	for rows.Next() {
		sp, err := scanSAMLSP(rows)
		if err != nil {
			return nil, fmt.Errorf("store: saml service providers: %w", err)
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}
