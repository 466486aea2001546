package handlers

import (
	"net/url"
	"strconv"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/store"
)

// The lifetimes of what the OpenID provider issues.
const (
	oidcAccessTTL  = 15 * time.Minute
	oidcRefreshTTL = 30 * 24 * time.Hour
	oidcIDTokenTTL = time.Hour
	oidcRequestTTL = 30 * time.Minute // an authorize request waiting for its sign-in (enrollment takes a while)
	oidcCodeTTL    = time.Minute
)

// oidcClient is a registered client as op sees it.
type oidcClient struct{ c store.OAuthClient }

func (c oidcClient) GetID() string                    { return c.c.ClientID }
func (c oidcClient) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c oidcClient) PostLogoutRedirectURIs() []string { return nil }

// ApplicationType: a confidential client is a web app; a public one is treated as native, which
// op lets use http loopback redirect URIs (RFC 8252) and https ones.
func (c oidcClient) ApplicationType() op.ApplicationType {
	if c.c.Confidential {
		return op.ApplicationTypeWeb
	}
	return op.ApplicationTypeNative
}

func (c oidcClient) AuthMethod() oidc.AuthMethod {
	if c.c.Confidential {
		return oidc.AuthMethodBasic
	}
	return oidc.AuthMethodNone
}

func (c oidcClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c oidcClient) GrantTypes() []oidc.GrantType {
	g := []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	if c.c.Service && c.c.Confidential {
		g = append(g, oidc.GrantTypeClientCredentials)
	}
	return g
}

// LoginURL is where op sends the browser once it stored the authorize request: our page that
// holds the request in the browser's sign-in.
func (c oidcClient) LoginURL(id string) string { return "/oauth2/login?id=" + url.QueryEscape(id) }

func (c oidcClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer } // opaque
func (c oidcClient) IDTokenLifetime() time.Duration      { return oidcIDTokenTTL }
func (c oidcClient) DevMode() bool                       { return false }
func (c oidcClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c oidcClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c oidcClient) IsScopeAllowed(string) bool           { return false } // the standard OIDC scopes only
func (c oidcClient) IDTokenUserinfoClaimsAssertion() bool { return true }  // email and name in the ID token too
func (c oidcClient) ClockSkew() time.Duration             { return 0 }

// oidcAuthRequest is a stored authorize request as op sees it.
type oidcAuthRequest struct{ r store.OIDCAuthRequest }

func (a *oidcAuthRequest) GetID() string          { return a.r.ID }
func (a *oidcAuthRequest) GetACR() string         { return "" }
func (a *oidcAuthRequest) GetAMR() []string       { return a.r.AMR }
func (a *oidcAuthRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a *oidcAuthRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a *oidcAuthRequest) GetClientID() string    { return a.r.ClientID }
func (a *oidcAuthRequest) GetNonce() string       { return a.r.Nonce }
func (a *oidcAuthRequest) GetRedirectURI() string { return a.r.RedirectURI }
func (a *oidcAuthRequest) GetScopes() []string    { return a.r.Scopes }
func (a *oidcAuthRequest) GetState() string       { return a.r.State }
func (a *oidcAuthRequest) GetResponseType() oidc.ResponseType {
	return oidc.ResponseType(a.r.ResponseType)
}
func (a *oidcAuthRequest) GetResponseMode() oidc.ResponseMode {
	return oidc.ResponseMode(a.r.ResponseMode)
}
func (a *oidcAuthRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeMethod)}
}
func (a *oidcAuthRequest) GetSubject() string {
	if a.r.UserID == 0 {
		return ""
	}
	return strconv.FormatInt(a.r.UserID, 10)
}

// Done is all op's callback checks before it issues a code: true only once the browser's
// sign-in passed every step (completeAuthRequest sets it; op never does).
func (a *oidcAuthRequest) Done() bool { return a.r.Done }

// oidcRefreshRequest is a presented refresh token. It must not implement op.AuthRequest: op
// type-switches on that first.
type oidcRefreshRequest struct {
	token string
	g     store.OAuthGrant
}

func (r *oidcRefreshRequest) GetAMR() []string            { return r.g.AMR }
func (r *oidcRefreshRequest) GetAudience() []string       { return []string{r.g.ClientID} }
func (r *oidcRefreshRequest) GetAuthTime() time.Time      { return r.g.AuthTime }
func (r *oidcRefreshRequest) GetClientID() string         { return r.g.ClientID }
func (r *oidcRefreshRequest) GetScopes() []string         { return r.g.Scopes }
func (r *oidcRefreshRequest) GetSubject() string          { return strconv.FormatInt(r.g.UserID, 10) }
func (r *oidcRefreshRequest) SetCurrentScopes(s []string) { r.g.Scopes = s }

// oidcServiceRequest is a client_credentials grant: the subject is the client itself.
type oidcServiceRequest struct {
	clientID string
	scopes   []string
}

func (c *oidcServiceRequest) GetSubject() string    { return c.clientID }
func (c *oidcServiceRequest) GetAudience() []string { return []string{c.clientID} }
func (c *oidcServiceRequest) GetScopes() []string   { return c.scopes }
