// Package services builds weftid's use-case services over one store, as the HTTP layer and the
// command line use them: one throttle.Limiter and one jobs.Runner shared by all, the WebAuthn
// relying party of the base URL, and the SAML key loaded in the background. The packages below
// it own the use cases; this one only wires them together.
package services

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Config is what the services need. Now and Log default to time.Now and slog.Default.
type Config struct {
	BaseURL *url.URL
	Store   *store.Store
	Mailer  account.Mailer // nil: no mail is sent
	Hasher  *auth.Hasher
	Keys    auth.Keys
	Log     *slog.Logger
	Now     func() time.Time
	// HIBP checks passwords against breaches (nil: off). Breach is the breach service whose
	// weekly re-check main runs; nil makes one on HIBP that only the use cases use.
	HIBP   *breach.Client
	Breach *breach.Service
	// Jobs runs the background work the services start (nil: a runner nobody stops).
	Jobs *jobs.Runner
	// SAMLMetadataAllowedHosts may serve SAML metadata from loopback or private addresses.
	SAMLMetadataAllowedHosts []string
	// Metrics counts sign-ins and throttle refusals (nil: nothing is counted).
	Metrics *metrics.Metrics
}

// Services are the use cases, built once.
type Services struct {
	Limiter *throttle.Limiter
	Jobs    *jobs.Runner
	Breach  *breach.Service
	// WebAuthn is the relying party of the base URL: nil when it names its host by an IP
	// address, and then the passkey ceremonies say account.ErrPasskeysOff.
	WebAuthn *webauthn.WebAuthn
	Account  *account.Service
	SignIn   *signin.Service
	Audit    *audit.Service
	OIDC     *oidc.Service
	SAML     *saml.Service
	// Groups owns groups and who may sign in to each application (OIDC and SAML ask it).
	Groups *groups.Service
	// Metrics is where the HTTP layer counts requests (nil: it does not).
	Metrics *metrics.Metrics
	// Proxy is forward authentication: the proxied apps and the checks their proxies ask for.
	Proxy *proxy.Service
}

// New builds the services. What cannot work at this base URL (passkeys) is logged and left off.
func New(cfg Config) *Services {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Services{Limiter: throttle.New(cfg.Store, cfg.Now), Jobs: cfg.Jobs, Breach: cfg.Breach, Metrics: cfg.Metrics}
	s.Limiter.SetMetrics(cfg.Metrics)
	if s.Jobs == nil {
		s.Jobs = jobs.New(context.Background(), cfg.Log)
	}
	if s.Breach == nil {
		s.Breach = breach.New(breach.Config{Store: cfg.Store, Mailer: cfg.Mailer, Keys: cfg.Keys, Client: cfg.HIBP, Log: cfg.Log, Now: cfg.Now, BaseURL: cfg.BaseURL})
	}
	wa, err := account.NewWebAuthn(auth.Origin(cfg.BaseURL), cfg.BaseURL.Hostname())
	if err != nil {
		// WebAuthn needs a domain name (an IP address cannot be a relying party): everything
		// else works, and the passkey endpoints say why they do not.
		cfg.Log.Warn("passkeys are unavailable: --base-url must name the host by a domain name", "base_url", cfg.BaseURL.String(), "err", err)
	} else {
		s.WebAuthn = wa
	}
	s.Account = account.New(account.Config{Store: cfg.Store, Hasher: cfg.Hasher, Keys: cfg.Keys, Limiter: s.Limiter, Breach: s.Breach,
		Mailer: cfg.Mailer, Jobs: s.Jobs, BaseURL: cfg.BaseURL, WebAuthn: s.WebAuthn, Log: cfg.Log, Now: cfg.Now})
	// A forced reset's new password is the account service's to check, seal and store.
	s.SignIn = signin.New(signin.Config{Store: cfg.Store, Limiter: s.Limiter, Keys: cfg.Keys, Hasher: cfg.Hasher, Mailer: cfg.Mailer,
		Log: cfg.Log, Now: cfg.Now, Fingerprints: cfg.HIBP != nil, Accounts: s.Account, Requires: s.requiresEnhanced, Metrics: cfg.Metrics})
	s.Audit = audit.New(audit.Config{Store: cfg.Store, Now: cfg.Now, Log: cfg.Log})
	s.Groups = groups.New(groups.Config{Store: cfg.Store, Log: cfg.Log, Now: cfg.Now})
	s.OIDC = oidc.New(oidc.Config{Store: cfg.Store, Keys: cfg.Keys, Now: cfg.Now, Log: cfg.Log, Limiter: s.Limiter, Access: s.Groups})
	s.Proxy = proxy.New(proxy.Config{BaseURL: cfg.BaseURL, Store: cfg.Store, Keys: cfg.Keys, Limiter: s.Limiter, Groups: s.Groups, SignIns: s.SignIn, Log: cfg.Log, Now: cfg.Now})
	s.SAML = saml.New(saml.Config{BaseURL: cfg.BaseURL, Store: cfg.Store, Keys: cfg.Keys, Log: cfg.Log, Now: cfg.Now, Limiter: s.Limiter,
		Access: s.Groups, MetadataAllowedHosts: cfg.SAMLMetadataAllowedHosts})
	// A new SAML key takes ~75 ms, which start-up need not wait for; if this fails the first
	// SAML request loads it.
	s.Jobs.Go("saml key", func(ctx context.Context) {
		if err := s.SAML.Warm(ctx); err != nil {
			cfg.Log.Error("SAML identity provider unavailable; the first SAML request tries again", "err", err)
		}
	})
	return s
}

// requiresEnhanced says whether the SSO request a sign-in returns to (returnTo, its
// continuation) belongs to an application that requires Enhanced.
func (s *Services) requiresEnhanced(ctx context.Context, returnTo string) (bool, error) {
	if enhanced, err := s.OIDC.RequiresEnhanced(ctx, returnTo); enhanced || err != nil {
		return enhanced, err
	}
	return s.SAML.RequiresEnhanced(ctx, returnTo)
}
