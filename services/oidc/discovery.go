package oidc

import (
	"context"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
)

// scopesSupported are the scopes weftid gives claims for (op's defaults add phone and address,
// which weftid has no data for).
var scopesSupported = []string{zoidc.ScopeOpenID, zoidc.ScopeProfile, zoidc.ScopeEmail, zoidc.ScopeOfflineAccess, ScopeGroups}

// claimsSupported are the claims weftid's ID tokens, userinfo and introspection carry (a test
// compares them with what they do carry).
var claimsSupported = []string{
	"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "client_id", "at_hash", "c_hash",
	"name", "preferred_username", "email", "email_verified", ScopeGroups,
}

// Discovery is the OpenID Provider Metadata document (OpenID Connect Discovery 1.0, RFC 8414)
// with RFC 9207's authorization_response_iss_parameter_supported.
type Discovery struct {
	*zoidc.DiscoveryConfiguration
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// Discovery lists exactly what the endpoints accept: op's document, without what op advertises
// by default and weftid does not offer (the device flow, implicit and hybrid response types,
// the implicit and jwt-bearer grants, private_key_jwt, phone and address).
func (p *Provider) Discovery(ctx context.Context) Discovery {
	ctx = p.ctx(ctx)
	d := op.CreateDiscoveryConfig(ctx, p.provider, p.storage)
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.ScopesSupported = scopesSupported
	d.ResponseTypesSupported = []string{string(zoidc.ResponseTypeCode)}
	d.ResponseModesSupported = []string{string(zoidc.ResponseModeQuery)}
	d.GrantTypesSupported = nil
	for _, g := range grantTypes {
		d.GrantTypesSupported = append(d.GrantTypesSupported, zoidc.GrantType(g))
	}
	d.ACRValuesSupported = auth.ACRValues
	d.ClaimsSupported = claimsSupported
	d.TokenEndpointAuthMethodsSupported = []zoidc.AuthMethod{zoidc.AuthMethodBasic, zoidc.AuthMethodPost, zoidc.AuthMethodNone}
	d.TokenEndpointAuthSigningAlgValuesSupported = nil
	d.RevocationEndpointAuthMethodsSupported = []zoidc.AuthMethod{zoidc.AuthMethodBasic, zoidc.AuthMethodPost, zoidc.AuthMethodNone}
	d.RevocationEndpointAuthSigningAlgValuesSupported = nil
	d.IntrospectionEndpointAuthMethodsSupported = []zoidc.AuthMethod{zoidc.AuthMethodBasic}
	d.IntrospectionEndpointAuthSigningAlgValuesSupported = nil
	d.RequestObjectSigningAlgValuesSupported = nil
	d.RequestParameterSupported = false
	d.RequestURIParameterSupported = false
	d.ClaimsParameterSupported = false
	return Discovery{DiscoveryConfiguration: d, AuthorizationResponseIssParameterSupported: true}
}
