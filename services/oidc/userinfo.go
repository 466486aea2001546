package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
)

// UserinfoRequest is where a userinfo request may carry its access token (RFC 6750 section 2):
// the Authorization header, the access_token of a form-encoded POST body, or of the query.
type UserinfoRequest struct {
	Authorization string
	FormToken     string
	QueryToken    string
}

// UserinfoAnswer is the userinfo endpoint's answer: the user's claims with 200, or an RFC 6750
// error: its status, the WWW-Authenticate challenge, and a JSON body with error and
// error_description.
type UserinfoAnswer struct {
	Status          int
	WWWAuthenticate string
	Body            any
}

// bearerError is an RFC 6750 section 3 error.
func bearerError(status int, code, description, scope string) UserinfoAnswer {
	challenge := fmt.Sprintf(`Bearer error=%q, error_description=%q`, code, description)
	if scope != "" {
		challenge += fmt.Sprintf(`, scope=%q`, scope)
	}
	return UserinfoAnswer{Status: status, WWWAuthenticate: challenge,
		Body: map[string]string{"error": code, "error_description": description}}
}

// The userinfo endpoint's refusals.
const (
	msgNoToken      = "an access token is required: send it as Authorization: Bearer <token>"
	msgInvalidToken = "the access token is invalid, expired or revoked"
	msgTwoTokens    = "send the access token one way only"
	msgNeedsOpenID  = "the access token was not issued for a user with the openid scope"
)

// Userinfo is the UserInfo endpoint (OpenID Connect Core 5.3) with RFC 6750's errors: 401 and
// a bare "Bearer" challenge without a token; 401 invalid_token for a token that is malformed,
// expired, revoked, or whose user can no longer sign in; 403 insufficient_scope for a token
// without openid (a client's own token, or a plain OAuth2 one); 400 invalid_request for a token
// sent more than one way.
func (p *Provider) Userinfo(ctx context.Context, req UserinfoRequest) (UserinfoAnswer, error) {
	var tokens []string
	if scheme, token, _ := strings.Cut(strings.TrimSpace(req.Authorization), " "); strings.EqualFold(scheme, "Bearer") {
		tokens = append(tokens, strings.TrimSpace(token)) // "" is a malformed token: invalid_token
	}
	for _, t := range []string{req.FormToken, req.QueryToken} {
		if t != "" {
			tokens = append(tokens, t)
		}
	}
	switch {
	case len(tokens) == 0:
		return UserinfoAnswer{Status: http.StatusUnauthorized, WWWAuthenticate: "Bearer",
			Body: map[string]string{"error_description": msgNoToken}}, nil
	case len(tokens) > 1:
		return bearerError(http.StatusBadRequest, "invalid_request", msgTwoTokens, ""), nil
	}
	plain, err := p.provider.Crypto().Decrypt(tokens[0])
	if err != nil {
		return bearerError(http.StatusUnauthorized, "invalid_token", msgInvalidToken, ""), nil
	}
	tokenID, subject, ok := strings.Cut(plain, ":")
	if !ok {
		return bearerError(http.StatusUnauthorized, "invalid_token", msgInvalidToken, ""), nil
	}
	t, err := p.storage.accessToken(ctx, tokenID, subject)
	if errors.Is(err, errTokenInactive) {
		return bearerError(http.StatusUnauthorized, "invalid_token", msgInvalidToken, ""), nil
	}
	if err != nil {
		return UserinfoAnswer{}, err
	}
	if t.UserID == 0 || !slices.Contains(t.Scopes, zoidc.ScopeOpenID) {
		return bearerError(http.StatusForbidden, "insufficient_scope", msgNeedsOpenID, zoidc.ScopeOpenID), nil
	}
	info := new(zoidc.UserInfo)
	err = p.storage.fillUserinfo(ctx, info, t.UserID, t.Scopes)
	if errors.Is(err, errTokenInactive) {
		return bearerError(http.StatusUnauthorized, "invalid_token", msgInvalidToken, ""), nil
	}
	if err != nil {
		return UserinfoAnswer{}, err
	}
	return UserinfoAnswer{Status: http.StatusOK, Body: info}, nil
}
