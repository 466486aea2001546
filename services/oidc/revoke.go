package oidc

import (
	"context"
	"maps"

	"github.com/weftid/weftid/store"
)

// RevokeUserTokens is the one way a user's OAuth2 access and refresh tokens are revoked, all
// at once, inside tx: "Sign out everywhere", deactivation, a forced password reset and a breach
// hit call it. ev names who did it and why (ActorID nil for the system, UserID the user,
// Details a reason); it is logged as oauth2_user_tokens_revoked with the number of tokens
// revoked.
func RevokeUserTokens(ctx context.Context, tx *store.Tx, ev store.Event) error {
	n, err := tx.RevokeUserTokens(ctx, *ev.UserID)
	if err != nil {
		return err
	}
	ev.Type = store.EventOAuth2UserTokensRevoked
	details := map[string]any{"tokens": n}
	maps.Copy(details, ev.Details)
	ev.Details = details
	return tx.AddEvent(ctx, ev)
}
