package store

import (
	"context"
	"fmt"
)

// RevokeUserTokens deletes every OAuth2 access and refresh token of a user and returns how
// many there were. Two indexed deletes: no scan.
func (q q) RevokeUserTokens(ctx context.Context, userID int64) (int64, error) {
	var total int64
	for _, stmt := range []string{
		`DELETE FROM oauth_access_tokens WHERE user_id = ?`,
		`DELETE FROM oauth_refresh_tokens WHERE user_id = ?`,
	} {
		res, err := q.db.ExecContext(ctx, stmt, userID)
		if err != nil {
			return 0, fmt.Errorf("store: revoke user tokens: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store: revoke user tokens: %w", err)
		}
		total += n
	}
	// A code issued before the revocation must not be exchanged for new tokens after it.
	if _, err := q.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE user_id = ?`, userID); err != nil {
		return 0, fmt.Errorf("store: revoke user tokens: %w", err)
	}
	return total, nil
}
