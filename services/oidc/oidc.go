// Package oidc owns weftid's OpenID Connect provider: zitadel/oidc's op over the store (the
// op.Storage implementation, its signing keys and their rotation), the authorize requests that
// wait for a sign-in and their completion, the registry of OIDC apps (clients, secrets, the
// dashboard's list) and the revocation of a user's tokens. It knows nothing of HTTP frameworks:
// the provider is a net/http handler, and each use case takes a context and what the request
// said.
package oidc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Config is what the service needs.
type Config struct {
	Store *store.Store
	Keys  auth.Keys
	Now   func() time.Time // time.Now when nil
	Log   *slog.Logger     // slog.Default when nil
	// Limiter throttles client authentications and anonymous authorize requests per IP (nil:
	// neither is limited).
	Limiter *throttle.Limiter
	// Access says who may sign in to each client (nil: every user may sign in to every client).
	Access *groups.Service
}

// Service holds the OIDC use cases. Its app registry works whatever the base URL; the provider
// itself (NewProvider) needs an issuer it can serve.
type Service struct {
	st      *store.Store
	keys    auth.Keys
	now     func() time.Time
	log     *slog.Logger
	limiter *throttle.Limiter
	access  *groups.Service
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{st: cfg.Store, keys: cfg.Keys, now: cfg.Now, log: cfg.Log, limiter: cfg.Limiter, access: cfg.Access}
}

// Actor is who asks and from where, for the event log: the signed-in user (0 for nobody), the
// client's IP address and user agent.
type Actor struct {
	UserID    int64
	IP        string
	UserAgent string
}

// event composes an audit event of this actor about subject (nil: no user).
func (s *Service) event(a Actor, typ store.EventType, subject *int64, details map[string]any) store.Event {
	ua := a.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	ev := store.Event{At: s.now(), Type: typ, UserID: subject, IP: a.IP, UserAgent: ua, Details: details}
	if a.UserID != 0 {
		id := a.UserID
		ev.ActorID = &id
	}
	return ev
}

// ErrIssuerNotSecure refuses an http issuer other than loopback: op, told to allow an http
// issuer at all, would allow any.
var ErrIssuerNotSecure = errors.New("the OpenID Connect issuer (--base-url) must be https, or http on localhost, 127.0.0.1 or ::1")

// Provider is the OpenID provider: zitadel/oidc's op over the store. op answers the token,
// revocation, introspection and JWKS endpoints (Handler); the endpoints where a browser or an
// application meets weftid's own rules are the Provider's methods: discovery, authorize and its
// callback (RFC 9207's iss in every answer), userinfo (RFC 6750 errors) and RP-initiated logout.
type Provider struct {
	issuer   string
	provider *op.Provider
	storage  *storage
	svc      *Service
}

// newProviderMu guards op.NewProvider: WithCustomEndpoints writes op's package defaults.
var newProviderMu sync.Mutex

// NewProvider builds the provider for the issuer base, with the endpoint paths of DESIGN.md,
// and makes the first signing key on the first start. It fails with ErrIssuerNotSecure when
// base cannot be an issuer.
func (s *Service) NewProvider(ctx context.Context, base *url.URL) (*Provider, error) {
	issuer := strings.TrimSuffix(base.String(), "/")
	insecure := false
	switch base.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(base.Hostname()) {
			return nil, ErrIssuerNotSecure
		}
		insecure = true
	default:
		return nil, ErrIssuerNotSecure
	}
	storage := &storage{st: s.st, keys: s.keys, now: s.now, keyCache: map[string]*signingKey{}}
	if err := storage.ensureSigningKey(ctx); err != nil {
		return nil, fmt.Errorf("oidc signing key: %w", err)
	}
	var cryptoKey [32]byte
	// Seals the opaque access tokens and the codes op hands out (AES-256-GCM).
	copy(cryptoKey[:], s.keys.HashToken("oidc_crypto_key", ""))
	cfg := &op.Config{
		CryptoKey:                cryptoKey,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: "/",
	}
	opts := []op.Option{
		op.WithCustomEndpoints(
			op.NewEndpoint("/oauth2/authorize"),
			op.NewEndpoint("/oauth2/token"),
			op.NewEndpoint("/oauth2/userinfo"),
			op.NewEndpoint("/oauth2/revoke"),
			op.NewEndpoint("/oauth2/end_session"),
			op.NewEndpoint("/oauth2/keys"),
		),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("/oauth2/introspect")),
		op.WithCORSOptions(nil), // op's default is any origin with credentials
		op.WithLogger(s.log),
	}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	newProviderMu.Lock()
	p, err := op.NewProvider(cfg, storage, op.StaticIssuer(issuer), opts...)
	newProviderMu.Unlock()
	if err != nil {
		return nil, err
	}
	return &Provider{issuer: issuer, provider: p, storage: storage, svc: s}, nil
}

// Issuer is the provider's issuer URL, without a trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

// Handler serves the endpoints op answers for clients: token, revocation, introspection and the
// JWKS. The token endpoint accepts only the grants discovery lists; every OAuth error says why
// in error_description (clientErrors).
func (p *Provider) Handler() http.Handler { return clientErrors(p.provider) }

// CallbackURL is the callback of the authorize request id, where a completed request gets its
// code (Callback).
func (p *Provider) CallbackURL(ctx context.Context, id string) string {
	return op.AuthCallbackURL(p.provider)(op.ContextWithIssuer(ctx, p.issuer), id)
}

// ctx is ctx with the issuer, as op's functions read it.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return op.ContextWithIssuer(ctx, p.issuer)
}

// isLoopbackHost says whether host is localhost, 127.0.0.1 or ::1: there http is allowed.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host) // 127.0.0.1 or ::1 exactly, as the README says
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
