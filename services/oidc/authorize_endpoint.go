package oidc

// The authorization endpoint and its callback. weftid answers them itself, with op's validation
// functions, because op's own endpoint would answer some errors with a plain-text 400 in the
// user's browser, some at the redirect URI by the fragment, and never with iss (RFC 9207).

import (
	"context"
	"errors"
	"net/url"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/store"
)

// The authorize requests whose error cannot go back to the application: the client is unknown,
// or the redirect URI is missing or not one the client registered (RFC 6749 section 4.1.2.1
// forbids sending the browser there). The browser gets weftid's page instead.
var (
	ErrAuthorizeUnreadable  = errors.New("oidc: the authorize request could not be read")
	ErrAuthorizeNoClient    = errors.New("oidc: the authorize request has no client_id")
	ErrAuthorizeUnknown     = errors.New("oidc: the authorize request's client is not registered")
	ErrAuthorizeNoRedirect  = errors.New("oidc: the authorize request has no redirect_uri")
	ErrAuthorizeBadRedirect = errors.New("oidc: the authorize request's redirect_uri is not registered")
)

// Authorize is the authorization endpoint (RFC 6749 section 4.1.1, OpenID Connect Core 3.1.2.1)
// for the request's parameters. It returns where the browser goes: the login URL where the
// stored request waits for its sign-in, or an error response at the client's registered redirect
// URI (with error_description, state and iss). Only response_type=code, response_mode=query and
// PKCE with S256 are accepted, as discovery says. The ErrAuthorize errors when the error cannot
// go to the application.
func (p *Provider) Authorize(ctx context.Context, params url.Values) (string, error) {
	ctx = p.ctx(ctx)
	req := new(zoidc.AuthRequest)
	unreadable := p.provider.Decoder().Decode(req, params) != nil || repeated(params) != ""
	if unreadable {
		// A parameter that is not what it should be (max_age that is not a whole number of
		// seconds): the error goes back to the application if client and redirect URI are good.
		req = &zoidc.AuthRequest{ClientID: params.Get("client_id"), RedirectURI: params.Get("redirect_uri"), State: params.Get("state")}
	}
	if req.ClientID == "" {
		return "", ErrAuthorizeNoClient
	}
	cl, err := p.storage.GetClientByClientID(ctx, req.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrAuthorizeUnknown
	}
	if err != nil {
		return "", err
	}
	if req.RedirectURI == "" {
		return "", ErrAuthorizeNoRedirect
	}
	// Whatever response type was asked for, the redirect URI must be one the client registered
	// (its rules are those of the code flow, the only one weftid offers).
	if err := op.ValidateAuthReqRedirectURI(cl, req.RedirectURI, zoidc.ResponseTypeCode); err != nil {
		return "", ErrAuthorizeBadRedirect
	}
	// From here on, errors go back to the application.
	refuse := func(code, description string) (string, error) {
		return p.ErrorRedirect(req.RedirectURI, req.State, code, description), nil
	}
	switch {
	case unreadable:
		return refuse("invalid_request", "a parameter could not be read: max_age must be a whole number of seconds, and each parameter a single value of its type")
	case req.ResponseType == "":
		return refuse("invalid_request", "response_type is missing")
	case req.ResponseType != zoidc.ResponseTypeCode:
		return refuse("unsupported_response_type", "only response_type=code is supported")
	case req.ResponseMode != "" && req.ResponseMode != zoidc.ResponseModeQuery:
		return refuse("invalid_request", "only response_mode=query is supported")
	case req.RequestParam != "":
		return refuse("request_not_supported", "request objects are not supported")
	case params.Get("request_uri") != "":
		return refuse("request_uri_not_supported", "request_uri is not supported")
	case req.CodeChallenge == "" || req.CodeChallengeMethod != zoidc.CodeChallengeMethodS256:
		return refuse("invalid_request", "PKCE with code_challenge_method S256 is required")
	}
	if req.MaxAge, err = op.ValidateAuthReqPrompt(req.Prompt, req.MaxAge); err != nil {
		return refuse(oauthError(err))
	}
	if req.Scopes, err = op.ValidateAuthReqScopes(cl, req.Scopes); err != nil {
		return refuse(oauthError(err))
	}
	userID, err := op.ValidateAuthReqIDTokenHint(ctx, req.IDTokenHint, p.provider.IDTokenHintVerifier(ctx))
	if err != nil {
		return refuse(oauthError(err))
	}
	stored, err := p.storage.CreateAuthRequest(ctx, req, userID)
	if err != nil {
		return "", err
	}
	return cl.LoginURL(stored.GetID()), nil
}

// oauthError is the code and description of op's error (server_error for any other).
func oauthError(err error) (string, string) {
	e := zoidc.DefaultToServerError(err, "the request could not be answered")
	desc := e.Description
	if desc == "" {
		desc = descriptions[string(e.ErrorType)]
	}
	return string(e.ErrorType), desc
}

// Callback answers the authorize request id with its code once the browser and session that
// completed it ask (CallbackAllowed): the redirect to the application with code, state and iss.
// ErrRequestGone for anyone else, a request not completed, or one answered already.
func (p *Provider) Callback(ctx context.Context, id string, b Browser) (string, error) {
	ok, err := p.svc.CallbackAllowed(ctx, id, b)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrRequestGone
	}
	ctx = p.ctx(ctx)
	ar, err := p.storage.AuthRequestByID(ctx, id)
	if err != nil {
		return "", ErrRequestGone
	}
	resp, err := op.BuildAuthResponseCodeResponsePayload(ctx, ar, p.provider)
	var oe *zoidc.Error
	if errors.As(err, &oe) {
		return "", ErrRequestGone // a code was issued for it already
	}
	if err != nil {
		return "", err
	}
	v := url.Values{"code": {resp.Code}}
	if resp.State != "" {
		v.Set("state", resp.State)
	}
	return p.responseURL(ar.GetRedirectURI(), v), nil
}

// ErrorRedirect is an error response (RFC 6749 section 4.1.2.1) at the validated redirect URI
// of a request, with its state and the issuer (RFC 9207).
func (p *Provider) ErrorRedirect(redirectURI, state, code, description string) string {
	v := url.Values{"error": {code}, "error_description": {description}}
	if state != "" {
		v.Set("state", state)
	}
	return p.responseURL(redirectURI, v)
}

// responseURL adds an authorization response's parameters, and iss, to the query of the
// redirect URI (response_mode query, the only one weftid offers).
func (p *Provider) responseURL(redirectURI string, v url.Values) string {
	v.Set("iss", p.issuer)
	u, err := url.Parse(redirectURI)
	if err != nil {
		return redirectURI // stored requests hold validated redirect URIs
	}
	q := u.Query()
	for k, vals := range v {
		q[k] = vals
	}
	u.RawQuery = q.Encode()
	return u.String()
}
