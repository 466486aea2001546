package oidc

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// storage is op's storage over our SQLite store. Every bearer secret (code, access token
// id, refresh token, client secret) is kept only as a keyed hash and found by one lookup on a
// primary or unique key.
type storage struct {
	st   *store.Store
	keys auth.Keys
	now  func() time.Time

	mu       sync.Mutex
	keyCache map[string]*signingKey // opened private keys by kid
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.ClientCredentialsStorage  = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// Purposes of the keyed hashes (auth.Keys.HashToken) of OAuth2 secrets.
const (
	hashClientSecret = "oauth_client_secret"
	hashAuthCode     = "oauth_code"
	hashAccessToken  = "oauth_access"
	hashRefreshToken = "oauth_refresh"
	hashOIDCBrowser  = "oidc_browser"
)

// refreshIDPrefix marks the "token id" GetRefreshTokenInfo hands back to RevokeToken.
const refreshIDPrefix = "rt:"

var errTokenInactive = errors.New("token inactive")

// ---- clients ----

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.st.OAuthClientByID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		// The token endpoint answers it as invalid_client (a 401), not as a server error; it
		// still is a store.ErrNotFound for the authorize endpoint's page.
		return nil, zoidc.ErrInvalidClient().WithDescription("%s", descriptions["invalid_client"]).WithParent(err)
	}
	if err != nil {
		return nil, err
	}
	return client{c}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	c, err := s.st.OAuthClientByID(ctx, clientID)
	if err != nil {
		return zoidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if !c.Confidential || c.SecretHash == nil || !hmac.Equal(c.SecretHash, s.keys.HashToken(hashClientSecret, secret)) {
		return zoidc.ErrInvalidClient().WithDescription("invalid client secret")
	}
	return nil
}

// ---- authorize requests and codes ----

// CreateAuthRequest stores an /authorize request Provider.Authorize validated (PKCE with S256,
// response_type code, response_mode query), with the acr_values it asked for.
func (s *storage) CreateAuthRequest(ctx context.Context, r *zoidc.AuthRequest, _ string) (op.AuthRequest, error) {
	now := s.now()
	req := store.OIDCAuthRequest{
		ID:            auth.NewToken(),
		ClientID:      r.ClientID,
		RedirectURI:   r.RedirectURI,
		Scopes:        r.Scopes,
		State:         r.State,
		Nonce:         r.Nonce,
		ResponseType:  string(r.ResponseType),
		ResponseMode:  string(r.ResponseMode),
		CodeChallenge: r.CodeChallenge,
		CodeMethod:    string(r.CodeChallengeMethod),
		Prompt:        r.Prompt,
		ACRValues:     r.ACRValues,
		CreatedAt:     now,
		ExpiresAt:     now.Add(requestTTL),
	}
	if r.MaxAge != nil {
		age := int64(*r.MaxAge)
		req.MaxAge = &age
	}
	if err := s.st.CreateOIDCAuthRequest(ctx, req); err != nil {
		return nil, err
	}
	return &authRequest{r: req}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	r, err := s.st.OIDCAuthRequestByID(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	return &authRequest{r: r}, nil
}

// SaveAuthCode keeps the keyed hash of the code, once per request: a second code is refused.
func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	err := s.st.SaveOIDCAuthCode(ctx, id, s.keys.HashToken(hashAuthCode, code), s.now().Add(codeTTL))
	if errors.Is(err, store.ErrConflict) {
		return zoidc.ErrInvalidRequest().WithDescription("this authorization request was answered already")
	}
	return err
}

// AuthRequestByCode: the code exchange. One indexed lookup; the user must still be active. A
// code exchanged before is refused and revokes the tokens of that exchange (codeReused).
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	hash := s.keys.HashToken(hashAuthCode, code)
	r, err := s.st.OIDCAuthRequestByCode(ctx, hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.codeReused(ctx, hash, err)
	}
	if err != nil {
		return nil, err
	}
	if u, err := s.st.UserByID(ctx, r.UserID); err != nil || !u.Active() || u.PasswordResetRequired {
		return nil, zoidc.ErrInvalidGrant().WithDescription("the user can no longer sign in")
	}
	return &authRequest{r: r, codeHash: hash}, nil
}

// DeleteAuthRequest: op calls it after a successful exchange, so a code works once.
func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.st.DeleteOIDCAuthRequest(ctx, id)
}

func (s *storage) userActive(ctx context.Context, id int64) bool {
	u, err := s.st.UserByID(ctx, id)
	return err == nil && u.Active()
}

// ---- tokens ----

func grantOf(req op.TokenRequest) store.OAuthGrant {
	switch r := req.(type) {
	case *authRequest:
		return store.OAuthGrant{ClientID: r.r.ClientID, Subject: r.GetSubject(), UserID: r.r.UserID, Scopes: r.r.Scopes,
			AMR: r.r.AMR, ACR: r.r.ACR, AuthTime: r.r.AuthTime}
	case *refreshRequest:
		return r.g
	case *serviceRequest:
		return store.OAuthGrant{ClientID: r.clientID, Subject: r.clientID} // no scope
	}
	panic(fmt.Sprintf("oidc: unexpected token request %T", req))
}

// insertAccess stores a new access token of the grant and returns its id (op seals "id:subject"
// into the opaque token the client gets; we keep the keyed hash of the id).
func (s *storage) insertAccess(ctx context.Context, q interface {
	CreateOAuthAccessToken(context.Context, []byte, store.OAuthAccessToken) error
}, g store.OAuthGrant) (string, time.Time, error) {
	id := auth.NewToken()
	now := s.now()
	t := store.OAuthAccessToken{OAuthGrant: g, Audience: []string{g.ClientID}, IssuedAt: now, ExpiresAt: now.Add(accessTTL)}
	if err := q.CreateOAuthAccessToken(ctx, s.keys.HashToken(hashAccessToken, id), t); err != nil {
		return "", time.Time{}, err
	}
	return id, t.ExpiresAt, nil
}

// CreateAccessToken: an access token without a refresh token (no offline_access, client
// credentials).
func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g := grantOf(req)
	if g.GrantID == "" {
		g.GrantID = auth.NewToken()
	}
	var id string
	var exp time.Time
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := s.consumeCode(ctx, tx, req, g.GrantID); err != nil {
			return err
		}
		if err := tx.DeleteExpiredOAuthTokens(ctx, s.now()); err != nil {
			return err
		}
		var err error
		id, exp, err = s.insertAccess(ctx, tx, g)
		return err
	})
	return id, exp, s.lostCode(ctx, req, err)
}

// CreateAccessAndRefreshTokens: the code exchange with offline_access (current == ""), or a
// refresh, which rotates the presented refresh token: it is deleted and its successor stored
// in the same transaction, so each refresh token works once.
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (accessID, refresh string, exp time.Time, err error) {
	g := grantOf(req)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if current != "" {
			if err := tx.ConsumeOAuthRefreshToken(ctx, s.keys.HashToken(hashRefreshToken, current), s.now()); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return zoidc.ErrInvalidGrant().WithDescription("refresh token already used or revoked")
				}
				return err
			}
		} else {
			g.GrantID = auth.NewToken()
			if err := s.consumeCode(ctx, tx, req, g.GrantID); err != nil {
				return err
			}
		}
		if err := tx.DeleteExpiredOAuthTokens(ctx, s.now()); err != nil {
			return err
		}
		var err error
		if accessID, exp, err = s.insertAccess(ctx, tx, g); err != nil {
			return err
		}
		refresh = auth.NewToken()
		return tx.CreateOAuthRefreshToken(ctx, s.keys.HashToken(hashRefreshToken, refresh),
			store.OAuthRefreshToken{OAuthGrant: g, ExpiresAt: s.now().Add(refreshTTL)})
	})
	return accessID, refresh, exp, s.lostCode(ctx, req, err)
}

// TokenRequestByRefreshToken: grant_type=refresh_token. One indexed lookup; the user must
// still be active.
func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.st.OAuthRefreshTokenByHash(ctx, s.keys.HashToken(hashRefreshToken, token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, op.ErrInvalidRefreshToken
	}
	if err != nil {
		return nil, err
	}
	if t.Rotated {
		// Used before: someone holds a copy. The whole authorization ends, for the copy and for
		// the client alike, which must sign the user in again.
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.RevokeOAuthGrant(ctx, t.GrantID); err != nil {
				return err
			}
			return tx.AddEvent(ctx, store.Event{At: s.now(), Type: store.EventOAuth2RefreshTokenReused, UserID: &t.UserID,
				Details: map[string]any{"client_id": t.ClientID}})
		})
		if err != nil {
			return nil, err
		}
		return nil, op.ErrInvalidRefreshToken
	}
	if !s.userActive(ctx, t.UserID) {
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{token: token, g: t.OAuthGrant}, nil
}

// TerminateSession is op's RP-initiated logout, which weftid does not route to op (see
// Provider.EndSession): it revokes that user's tokens of that client.
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	uid, err := strconv.ParseInt(userID, 10, 64)
	if err != nil {
		return nil
	}
	_, err = s.st.RevokeOAuthUserClientTokens(ctx, uid, clientID)
	return err
}

// GetRefreshTokenInfo: the revocation endpoint asks whether a token is a refresh token. It must
// answer op.ErrInvalidRefreshToken when not (op then tries it as an access token).
func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	h := s.keys.HashToken(hashRefreshToken, token)
	t, err := s.st.OAuthRefreshTokenByHash(ctx, h, s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Rotated) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return strconv.FormatInt(t.UserID, 10), refreshIDPrefix + token, nil
}

// RevokeToken (RFC 7009) gets what GetRefreshTokenInfo returned, or the id op decrypted from an
// access token. Revoking a refresh token revokes its whole grant. An unknown token is fine.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *zoidc.Error {
	now := s.now()
	if raw, ok := strings.CutPrefix(tokenOrID, refreshIDPrefix); ok {
		t, err := s.st.OAuthRefreshTokenByHash(ctx, s.keys.HashToken(hashRefreshToken, raw), now)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return zoidc.ErrServerError().WithParent(err)
		case t.ClientID != clientID:
			return errNotYourToken()
		}
		if err := s.st.RevokeOAuthGrant(ctx, t.GrantID); err != nil {
			return zoidc.ErrServerError().WithParent(err)
		}
		return nil
	}
	h := s.keys.HashToken(hashAccessToken, tokenOrID)
	t, err := s.st.OAuthAccessTokenByHash(ctx, h, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return zoidc.ErrServerError().WithParent(err)
	case t.ClientID != clientID:
		return errNotYourToken()
	}
	if err := s.st.DeleteOAuthAccessToken(ctx, h); err != nil {
		return zoidc.ErrServerError().WithParent(err)
	}
	return nil
}

// errNotYourToken refuses the revocation of another client's token (RFC 7009 section 2.1): the
// client authenticated, so it is a 400, not invalid_client (which would count as a failed client
// authentication against the caller's address).
func errNotYourToken() *zoidc.Error {
	return zoidc.ErrInvalidRequest().WithDescription("the token was not issued to this client")
}

// ---- userinfo and introspection ----

// accessToken is the one indexed lookup behind userinfo and introspection.
func (s *storage) accessToken(ctx context.Context, tokenID, subject string) (store.OAuthAccessToken, error) {
	t, err := s.st.OAuthAccessTokenByHash(ctx, s.keys.HashToken(hashAccessToken, tokenID), s.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Subject != subject) {
		return t, errTokenInactive
	}
	return t, err
}

func (s *storage) fillUserinfo(ctx context.Context, ui *zoidc.UserInfo, userID int64, scopes []string) error {
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return errTokenInactive
	}
	if err != nil {
		return err
	}
	if !u.Active() {
		return errTokenInactive
	}
	ui.Subject = strconv.FormatInt(u.ID, 10)
	for _, sc := range scopes {
		switch sc {
		case zoidc.ScopeEmail:
			ui.Email, ui.EmailVerified = u.Email, true
		case zoidc.ScopeProfile:
			ui.Name, ui.PreferredUsername = u.Name, u.Email
		case ScopeGroups:
			if err := s.groupsClaim(ctx, ui, u.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// SetUserinfoFromScopes: the claims of the ID token.
func (s *storage) SetUserinfoFromScopes(ctx context.Context, ui *zoidc.UserInfo, userID, _ string, scopes []string) error {
	uid, err := strconv.ParseInt(userID, 10, 64)
	if err != nil {
		return err
	}
	return s.fillUserinfo(ctx, ui, uid, scopes)
}

// SetUserinfoFromToken: /oauth2/userinfo. Only user tokens have user info.
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if t.UserID == 0 {
		return errors.New("not a user's token")
	}
	return s.fillUserinfo(ctx, ui, t.UserID, t.Scopes)
}

// SetIntrospectionFromToken: /oauth2/introspect; an error answers "active": false. The caller
// (authenticated by op with its client secret) may be the token's own client or any service
// client (a resource server).
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *zoidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.accessToken(ctx, tokenID, subject)
	if err != nil {
		return err
	}
	if clientID != t.ClientID {
		caller, err := s.st.OAuthClientByID(ctx, clientID)
		if err != nil || !caller.Service {
			return errors.New("the caller may not introspect this token")
		}
	}
	if t.UserID != 0 && !s.userActive(ctx, t.UserID) {
		return errTokenInactive
	}
	resp.Scope, resp.ClientID, resp.Subject = t.Scopes, t.ClientID, t.Subject
	if t.UserID != 0 {
		// How the user signed in (RFC 8176 amr; acr, as in the ID token).
		resp.AuthenticationMethodsReferences = t.AMR
		if !t.AuthTime.IsZero() {
			resp.AuthTime = zoidc.FromTime(t.AuthTime)
		}
		if t.ACR != "" {
			resp.Claims = map[string]any{"acr": t.ACR}
		}
	}
	resp.TokenType = zoidc.BearerToken
	resp.Audience = zoidc.Audience(t.Audience)
	resp.IssuedAt, resp.Expiration = zoidc.FromTime(t.IssuedAt), zoidc.FromTime(t.ExpiresAt)
	return nil
}

// SetUserinfoFromRequest adds the acr of a refreshed grant to its new ID token: op puts acr in
// ID tokens of authorize requests only.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *zoidc.UserInfo, req op.IDTokenRequest, _ []string) error {
	if r, ok := req.(*refreshRequest); ok && r.g.ACR != "" {
		ui.AppendClaims("acr", r.g.ACR)
	}
	return nil
}

// GetPrivateClaimsFromScopes: extra claims of JWT access tokens; ours are opaque.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID: keys for private_key_jwt and the JWT-bearer grant, not supported.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("jwt client authentication is not supported")
}

// ValidateJWTProfileScopes: JWT-bearer grant only, not supported.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the jwt-bearer grant is not supported")
}

// Health: op's readiness probe.
func (s *storage) Health(ctx context.Context) error { return s.st.Ping(ctx) }

// ---- client credentials ----

// ClientCredentials authenticates a service client for grant_type=client_credentials.
func (s *storage) ClientCredentials(ctx context.Context, clientID, secret string) (op.Client, error) {
	if err := s.AuthorizeClientIDSecret(ctx, clientID, secret); err != nil {
		return nil, err
	}
	c, err := s.st.OAuthClientByID(ctx, clientID)
	if err != nil {
		return nil, err
	}
	if !c.Service {
		return nil, zoidc.ErrUnauthorizedClient().WithDescription("this client may not use client credentials")
	}
	return client{c}, nil
}

// ClientCredentialsTokenRequest is the token request of a client_credentials grant.
// A service client's token is the client's own: no user, so no scope of weftid's applies, and a
// scope asked for is refused rather than echoed back as if it meant something.
func (s *storage) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	if len(scopes) > 0 {
		return nil, zoidc.ErrInvalidScope().WithDescription("a service client's token carries no scope: ask for none")
	}
	return &serviceRequest{clientID: clientID}, nil
}
