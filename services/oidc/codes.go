package oidc

import (
	"context"
	"errors"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/weftid/weftid/store"
)

// codeReplayTTL is how long an exchanged code is remembered: a second use within it revokes
// what the first use was given (RFC 6749 section 4.1.2).
const codeReplayTTL = 24 * time.Hour

// codeUsed is the answer to a code that was exchanged already (a new value each time: op may
// change the error it is given).
func codeUsed() error { return zoidc.ErrInvalidGrant().WithDescription("invalid code") }

// consumeCode takes the code of an authorization-code request inside the transaction that
// mints its tokens (of grantID), so a code yields tokens once even when exchanges overlap, and
// remembers the grant for codeReplayTTL.
func (s *storage) consumeCode(ctx context.Context, tx *store.Tx, req op.TokenRequest, grantID string) error {
	r, ok := req.(*authRequest)
	if !ok {
		return nil
	}
	if err := tx.ConsumeOIDCAuthCode(ctx, r.r.ID, grantID, s.now().Add(codeReplayTTL)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return codeUsed()
		}
		return err
	}
	return nil
}

// lostCode is the error of a token request whose code another exchange took first (err is
// codeUsed): that is a second use of the code too, so what the first was given is revoked.
func (s *storage) lostCode(ctx context.Context, req op.TokenRequest, err error) error {
	r, ok := req.(*authRequest)
	if !ok || !errors.Is(err, codeUsed()) || r.codeHash == nil {
		return err
	}
	return s.codeReused(ctx, r.codeHash, err)
}

// codeReused is asked when a code (by its keyed hash) finds no request: if it was exchanged
// already, every token of that exchange's authorization is revoked and oauth2_code_reused
// logged, once (the record of the exchange goes with them). It returns refused, the error the
// token request answers, or the error that kept it from revoking.
func (s *storage) codeReused(ctx context.Context, codeHash []byte, refused error) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		g, err := tx.TakeCodeGrant(ctx, codeHash, s.now())
		if err != nil {
			return err
		}
		if err := tx.RevokeOAuthGrant(ctx, g.GrantID); err != nil {
			return err
		}
		var user *int64
		if g.UserID != 0 {
			user = &g.UserID
		}
		return tx.AddEvent(ctx, store.Event{At: s.now(), Type: store.EventOAuth2CodeReused, UserID: user,
			Details: map[string]any{"client_id": g.ClientID}})
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return refused
}
