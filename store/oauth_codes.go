package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConsumeOIDCAuthCode deletes the done request a code was issued for, once: of two exchanges
// of one code only one deletes it; the other (and any exchange after a revocation) gets
// ErrNotFound. It remembers until keepUntil which authorization (grantID) the code's tokens
// belong to, so a later use of the code can revoke them (TakeCodeGrant). Call it in the
// transaction that mints those tokens.
func (q q) ConsumeOIDCAuthCode(ctx context.Context, id, grantID string, keepUntil time.Time) error {
	var codeHash []byte
	var clientID string
	var userID sql.NullInt64
	err := q.db.QueryRowContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = ? AND done = 1 AND code_hash IS NOT NULL
		RETURNING code_hash, client_id, user_id`, id).Scan(&codeHash, &clientID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: consume auth code: %w", err)
	}
	_, err = q.db.ExecContext(ctx, `INSERT INTO oauth_code_grants (code_hash, grant_id, client_id, user_id, expires_at) VALUES (?, ?, ?, ?, ?)`,
		codeHash, grantID, clientID, userID, unix(keepUntil))
	if err != nil {
		return fmt.Errorf("store: remember code grant: %w", err)
	}
	return nil
}

// CodeGrant is the authorization an exchanged code's tokens belong to.
type CodeGrant struct {
	GrantID  string
	ClientID string
	UserID   int64
}

// TakeCodeGrant forgets and returns the authorization a code (by its keyed hash) was exchanged
// for, while it is remembered, or ErrNotFound: the code was never exchanged, or long ago, or its
// reuse was already acted on.
func (q q) TakeCodeGrant(ctx context.Context, codeHash []byte, now time.Time) (CodeGrant, error) {
	var g CodeGrant
	var userID sql.NullInt64
	err := q.db.QueryRowContext(ctx, `DELETE FROM oauth_code_grants WHERE code_hash = ? AND expires_at > ?
		RETURNING grant_id, client_id, user_id`, codeHash, unix(now)).Scan(&g.GrantID, &g.ClientID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return CodeGrant{}, ErrNotFound
	}
	if err != nil {
		return CodeGrant{}, fmt.Errorf("store: take code grant: %w", err)
	}
	g.UserID = userID.Int64
	return g, nil
}
