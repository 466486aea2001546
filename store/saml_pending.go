package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SAMLPendingRequest is an AuthnRequest held until its browser has a complete session.
type SAMLPendingRequest struct {
	IDHash      []byte
	SPID        int64
	Binding     string // "redirect" or "post"
	SAMLRequest string
	RelayState  string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// HoldSAMLRequest stores a request, first clearing the expired ones. It returns ErrConflict
// (and stores nothing) when max requests are held already, so a flood of requests cannot grow
// the table without bound: the count and the insert are one transaction that holds a lock
// (Tx.Lock), so instances sharing a database cannot pass the bound together.
func (s *Store) HoldSAMLRequest(ctx context.Context, p SAMLPendingRequest, max int) error {
	return s.InTx(ctx, func(tx *Tx) error { return tx.holdSAMLRequest(ctx, p, max) })
}

func (q q) holdSAMLRequest(ctx context.Context, p SAMLPendingRequest, max int) error {
	if err := q.lock(ctx, "saml_pending_requests"); err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `DELETE FROM saml_pending_requests WHERE expires_at <= ?`, unix(p.CreatedAt)); err != nil {
		return fmt.Errorf("store: hold saml request: %w", err)
	}
	res, err := q.db.ExecContext(ctx, `
		INSERT INTO saml_pending_requests (id_hash, sp_id, binding, saml_request, relay_state, created_at, expires_at)
		SELECT ?, ?, ?, ?, ?, ?, ? WHERE (SELECT count(*) FROM saml_pending_requests) < ?`,
		p.IDHash, p.SPID, p.Binding, p.SAMLRequest, p.RelayState, unix(p.CreatedAt), unix(p.ExpiresAt), max)
	if err != nil {
		return fmt.Errorf("store: hold saml request: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrConflict
	}
	return nil
}

// SAMLRequest returns a held, unexpired request without taking it, or ErrNotFound.
func (q q) SAMLRequest(ctx context.Context, idHash []byte, now time.Time) (SAMLPendingRequest, error) {
	return scanSAMLPending(q.db.QueryRowContext(ctx, `
		SELECT id_hash, sp_id, binding, saml_request, relay_state, created_at, expires_at
		FROM saml_pending_requests WHERE id_hash = ? AND expires_at > ?`, idHash, unix(now)))
}

// TakeSAMLRequest removes a held, unexpired request and returns it, at most once: of two
// requests taking the same one, one gets ErrNotFound.
func (q q) TakeSAMLRequest(ctx context.Context, idHash []byte, now time.Time) (SAMLPendingRequest, error) {
	return scanSAMLPending(q.db.QueryRowContext(ctx, `
		DELETE FROM saml_pending_requests WHERE id_hash = ? AND expires_at > ?
		RETURNING id_hash, sp_id, binding, saml_request, relay_state, created_at, expires_at`, idHash, unix(now)))
}

func scanSAMLPending(row *sql.Row) (SAMLPendingRequest, error) {
	var p SAMLPendingRequest
	var created, expires int64
	err := row.Scan(&p.IDHash, &p.SPID, &p.Binding, &p.SAMLRequest, &p.RelayState, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLPendingRequest{}, ErrNotFound
	}
	if err != nil {
		return SAMLPendingRequest{}, fmt.Errorf("store: saml request: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromUnix(created), fromUnix(expires)
	return p, nil
}
