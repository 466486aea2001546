package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

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
	// RequiredAuthStrength is "tenant" or "enhanced" (SetSAMLSPRequiredStrength).
	RequiredAuthStrength string
	// MetadataURL is where the metadata was fetched from ("" when it was pasted or uploaded),
	// MetadataFetchedAt when (zero when it was not).
	MetadataURL       string
	MetadataFetchedAt time.Time
}

const samlSPColumns = `id, entity_id, name, metadata, acs_url, created_at, updated_at, required_auth_strength, metadata_url, metadata_fetched_at`

func scanSAMLSP(row interface{ Scan(...any) error }) (SAMLServiceProvider, error) {
	var sp SAMLServiceProvider
	var created, updated, fetched int64
	if err := row.Scan(&sp.ID, &sp.EntityID, &sp.Name, &sp.Metadata, &sp.ACSURL, &created, &updated, &sp.RequiredAuthStrength,
		&sp.MetadataURL, &fetched); err != nil {
		return SAMLServiceProvider{}, err
	}
	sp.CreatedAt, sp.UpdatedAt = fromUnix(created), fromUnix(updated)
	if fetched != 0 {
		sp.MetadataFetchedAt = fromUnix(fetched)
	}
	return sp, nil
}

// unixOrZero is t in Unix seconds, 0 for the zero time.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return unix(t)
}

// CreateSAMLServiceProvider stores a new service provider; ErrConflict when its entity ID is
// registered already.
func (q q) CreateSAMLServiceProvider(ctx context.Context, sp SAMLServiceProvider) (SAMLServiceProvider, error) {
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO saml_service_providers (entity_id, name, metadata, acs_url, created_at, updated_at, metadata_url, metadata_fetched_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		sp.EntityID, sp.Name, sp.Metadata, sp.ACSURL, unix(sp.CreatedAt), unix(sp.CreatedAt), sp.MetadataURL, unixOrZero(sp.MetadataFetchedAt)).Scan(&sp.ID)
	if uniqueViolation(err) {
		return SAMLServiceProvider{}, ErrConflict
	}
	if err != nil {
		return SAMLServiceProvider{}, fmt.Errorf("store: create saml service provider: %w", err)
	}
	sp.UpdatedAt = sp.CreatedAt
	sp.RequiredAuthStrength = "tenant" // the column's default: SetSAMLSPRequiredStrength changes it
	return sp, nil
}

// UpdateSAMLServiceProvider saves a service provider's name and metadata (with the entity ID
// and ACS read from it, and where it was fetched from); ErrNotFound when it is gone,
// ErrConflict when the new entity ID belongs to another one.
func (q q) UpdateSAMLServiceProvider(ctx context.Context, sp SAMLServiceProvider) error {
	res, err := q.db.ExecContext(ctx, `
		UPDATE saml_service_providers SET entity_id = ?, name = ?, metadata = ?, acs_url = ?, updated_at = ?,
			metadata_url = ?, metadata_fetched_at = ? WHERE id = ?`,
		sp.EntityID, sp.Name, sp.Metadata, sp.ACSURL, unix(sp.UpdatedAt), sp.MetadataURL, unixOrZero(sp.MetadataFetchedAt), sp.ID)
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: update saml service provider: %w", err)
	}
	return mustAffect(res)
}

// SetSAMLSPRequiredStrength sets what a service provider requires of a sign-in ("tenant" or
// "enhanced"); ErrNotFound when it is gone.
func (q q) SetSAMLSPRequiredStrength(ctx context.Context, id int64, strength string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE saml_service_providers SET required_auth_strength = ? WHERE id = ?`, strength, id)
	if err != nil {
		return fmt.Errorf("store: saml service provider strength: %w", err)
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
