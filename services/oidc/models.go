package oidc

import (
	"net/url"
	"strconv"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/store"
)

// The lifetimes of what the OpenID provider issues.
const (
	accessTTL  = 15 * time.Minute
	refreshTTL = 30 * 24 * time.Hour
	idTokenTTL = time.Hour
	requestTTL = 30 * time.Minute // an authorize request waiting for its sign-in (enrollment takes a while)
	codeTTL    = time.Minute
)

// client is a registered client as op sees it.
type client struct{ c store.OAuthClient }

func (c client) GetID() string                    { return c.c.ClientID }
func (c client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }

// ApplicationType: a confidential client is a web app; a public one is treated as native, which
// op lets use http loopback redirect URIs (RFC 8252) and https ones.
func (c client) ApplicationType() op.ApplicationType {
	if c.c.Confidential {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeNative
}

func (c client) AuthMethod() zoidc.AuthMethod {
	if c.c.Confidential {
		return zoidc.AuthMethodBasic
	}
	return zoidc.AuthMethodNone
}

func (c client) ResponseTypes() []zoidc.ResponseType {
	return []zoidc.ResponseType{zoidc.ResponseTypeCode}
}

func (c client) GrantTypes() []zoidc.GrantType {
	g := []zoidc.GrantType{zoidc.GrantTypeCode, zoidc.GrantTypeRefreshToken}
	if c.c.Service && c.c.Confidential {
		g = append(g, zoidc.GrantTypeClientCredentials)
	}
	return g
}

// LoginURL is where op sends the browser once it stored the authorize request: our page that
// holds the request in the browser's sign-in.
func (c client) LoginURL(id string) string { return "/oauth2/login?id=" + url.QueryEscape(id) }

func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer } // opaque
func (c client) IDTokenLifetime() time.Duration      { return idTokenTTL }
func (c client) DevMode() bool                       { return false }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(s string) bool         { return s == ScopeGroups } // and the standard OIDC scopes
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }             // email and name in the ID token too
func (c client) ClockSkew() time.Duration             { return 0 }

// authRequest is a stored authorize request as op sees it.
type authRequest struct {
	r store.OIDCAuthRequest
	// codeHash is the keyed hash of the code it was found by (nil before a code exchange).
	codeHash []byte
}

func (a *authRequest) GetID() string          { return a.r.ID }
func (a *authRequest) GetACR() string         { return a.r.ACR }
func (a *authRequest) GetAMR() []string       { return a.r.AMR }
func (a *authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *authRequest) GetClientID() string    { return a.r.ClientID }
func (a *authRequest) GetNonce() string       { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a *authRequest) GetScopes() []string    { return a.r.Scopes }
func (a *authRequest) GetState() string       { return a.r.State }
func (a *authRequest) GetResponseType() zoidc.ResponseType {
	return zoidc.ResponseType(a.r.ResponseType)
}
func (a *authRequest) GetResponseMode() zoidc.ResponseMode {
	return zoidc.ResponseMode(a.r.ResponseMode)
}
func (a *authRequest) GetCodeChallenge() *zoidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &zoidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: zoidc.CodeChallengeMethod(a.r.CodeMethod)}
}
func (a *authRequest) GetSubject() string {
	if a.r.UserID == 0 {
		return ""
	}
	return strconv.FormatInt(a.r.UserID, 10)
}

// Done is all op's callback checks before it issues a code: true only once the browser's
// sign-in passed every step (Service.Complete sets it; op never does).
func (a *authRequest) Done() bool { return a.r.Done }

// refreshRequest is a presented refresh token. It must not implement op.AuthRequest: op
// type-switches on that first.
type refreshRequest struct {
	token string
	g     store.OAuthGrant
}

func (r *refreshRequest) GetAMR() []string            { return r.g.AMR }
func (r *refreshRequest) GetAudience() []string       { return []string{r.g.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.g.AuthTime }
func (r *refreshRequest) GetClientID() string         { return r.g.ClientID }
func (r *refreshRequest) GetScopes() []string         { return r.g.Scopes }
func (r *refreshRequest) GetSubject() string          { return strconv.FormatInt(r.g.UserID, 10) }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.g.Scopes = s }

// serviceRequest is a client_credentials grant: the subject is the client itself.
type serviceRequest struct {
	clientID string
}

func (c *serviceRequest) GetSubject() string    { return c.clientID }
func (c *serviceRequest) GetAudience() []string { return []string{c.clientID} }
func (c *serviceRequest) GetScopes() []string   { return nil } // a service token carries no scope
