package store

import (
	"context"
	"fmt"
)

// RevokeUserTokens deletes every OAuth2 access and refresh token of a user and returns how
// many there were. Two indexed deletes: no scan.
func (q q) RevokeUserTokens(ctx context.Context, userID int64) (int64, error) {
	return q.revokeTokens(ctx, `user_id = ?`, userID)
}

// RevokeOAuthUserClientTokens deletes a user's access and refresh tokens for one client, and
// the authorize requests of that client they finished (RP-initiated logout), and returns how
// many tokens there were.
func (q q) RevokeOAuthUserClientTokens(ctx context.Context, userID int64, clientID string) (int64, error) {
	return q.revokeTokens(ctx, `user_id = ? AND client_id = ?`, userID, clientID)
}

// revokeTokens deletes the tokens and finished authorize requests that match where (a condition
// on user_id and client_id, which all three tables have) and counts the tokens.
func (q q) revokeTokens(ctx context.Context, where string, args ...any) (int64, error) {
	var total int64
	for _, table := range []string{"oauth_access_tokens", "oauth_refresh_tokens"} {
		res, err := q.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+where, args...)
		if err != nil {
			return 0, fmt.Errorf("store: revoke tokens: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: revoke tokens: %w", err)
		}
		total += n
	}
	// A code issued before the revocation must not be exchanged for new tokens after it.
	if _, err := q.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE `+where, args...); err != nil {
		return 0, fmt.Errorf("store: revoke tokens: %w", err)
	}
	return total, nil
}
