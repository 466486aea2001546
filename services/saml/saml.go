// Package saml owns weftid's SAML identity provider and its registry of service providers: the
// signing keys (made on the first start, rotated by admins: keys.go), reading and validating
// AuthnRequests, holding a request until its browser has finished signing in, issuing signed
// (and, to service providers with an encryption key, encrypted: encrypt.go) assertions with their
// saml_assertion_issued events, Single Logout in both directions (logout*.go), and registering,
// changing and removing service providers by their metadata, pasted, uploaded or fetched from
// its URL (fetch.go). It knows nothing of HTTP: handlers/saml*.go and
// handlers/applications_saml.go read the request, call one function here and render what it
// returns.
package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Config is what the service needs, passed in by services.New.
type Config struct {
	BaseURL *url.URL
	Store   *store.Store
	Keys    auth.Keys
	Log     *slog.Logger
	Now     func() time.Time
	// Limiter counts the requests of browsers without a session per IP (nil: not counted).
	Limiter *throttle.Limiter
	// Access says who may sign in to each service provider (nil: every user, to every one).
	Access *groups.Service
	// MetadataAllowedHosts are the hosts (names or IP addresses, as written in a URL) whose
	// metadata may be fetched even from a loopback, private, link-local or unspecified address.
	MetadataAllowedHosts []string
}

// Service is the identity provider and the service provider registry.
type Service struct {
	base    *url.URL
	store   *store.Store
	keys    auth.Keys
	log     *slog.Logger
	now     func() time.Time
	limiter *throttle.Limiter
	access  *groups.Service

	mu    sync.Mutex
	idp   *crewjam.IdentityProvider // nil until the keys are loaded
	until time.Time                 // when idp's key set changes by itself, or keyRecheck after the load
	fetch *fetcher                  // fetches service providers' metadata from their URL
}

// New returns the service. It loads nothing yet: the key is loaded by Warm or, failing that, by
// the first request that needs it.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{base: cfg.BaseURL, store: cfg.Store, keys: cfg.Keys, log: cfg.Log, now: cfg.Now, limiter: cfg.Limiter,
		access: cfg.Access, fetch: newFetcher(cfg.MetadataAllowedHosts)}
}

// Warm loads the signing keys, making and storing the first on the first start (~75 ms for a
// new RSA key), so the first SAML request does not wait for it. A failure is returned and tried again
// by the next request that needs the key.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.provider(ctx)
	return err
}

// provider returns the identity provider with the key that signs now, loading the keys (or
// making the first) when it has none yet or when a key's activation or retirement has come since
// it loaded them. Calls that overlap wait for one load; a failed load is tried again by the next
// call.
func (s *Service) provider(ctx context.Context) (*crewjam.IdentityProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.idp != nil && (s.until.IsZero() || now.Before(s.until)) {
		return s.idp, nil
	}
	set, err := s.readKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	key, cert, err := s.openKey(set.signing)
	if err != nil {
		return nil, err
	}
	// SessionProvider stays nil: crewjam calls it only from its own HTTP handlers (ServeSSO,
	// ServeIDPInitiated), which weftid does not mount. Issue is the gate instead: it is given a
	// complete session or nothing is issued.
	s.idp = &crewjam.IdentityProvider{
		Key:                     key,
		Certificate:             cert,
		Logger:                  slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		MetadataURL:             s.absURL("/saml/metadata"),
		SSOURL:                  s.absURL("/saml/sso"),
		LogoutURL:               s.absURL(sloPath),
		ServiceProviderProvider: serviceProviders{s},
		AssertionMaker:          assertions{},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
	}
	s.until = set.until
	if recheck := now.Add(keyRecheck); s.until.IsZero() || recheck.Before(s.until) {
		s.until = recheck // another instance may rotate the keys: look again soon
	}
	return s.idp, nil
}

// keyRecheck bounds how long the loaded keys are used without looking at the database again:
// instances sharing a database see a rotation, or "Use the new key now", another one made
// within this time (the one that made it, at once).
const keyRecheck = 10 * time.Second

// forget drops the loaded keys: the next request reads them again (after a rotation).
func (s *Service) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idp = nil
}

// absURL is path on the base URL. It is resolved from the parsed base URL, so its path always
// starts with a slash (url.JoinPath on a bare host gives "saml/sso", and crewjam's
// IdentityProvider.Handler panics on that).
func (s *Service) absURL(path string) url.URL {
	return *s.base.ResolveReference(&url.URL{Path: path})
}

// IdPInfo is what an admin gives a service provider about weftid.
type IdPInfo struct {
	MetadataURL string
	EntityID    string
	SSOURL      string
	SLOURL      string
}

// IdPInfo is weftid's metadata URL (which is also its entity ID), SSO URL and Single Logout URL.
func (s *Service) IdPInfo() IdPInfo {
	md := s.absURL("/saml/metadata")
	sso := s.absURL("/saml/sso")
	slo := s.absURL(sloPath)
	return IdPInfo{MetadataURL: md.String(), EntityID: md.String(), SSOURL: sso.String(), SLOURL: slo.String()}
}

// Metadata is the identity provider's metadata document with its XML declaration: entity ID,
// every published signing certificate (the one that signs now first), the SSO and Single Logout
// endpoints for both bindings, and emailAddress as the NameID format. It needs no private key,
// so it is served even when the signing key cannot be opened.
func (s *Service) Metadata(ctx context.Context) ([]byte, error) {
	set, err := s.readKeys(ctx, s.now())
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(set.signing.Certificate)
	if err != nil {
		return nil, fmt.Errorf("saml certificate %s: %w", set.signing.KID, err)
	}
	idp := crewjam.IdentityProvider{Certificate: cert, MetadataURL: s.absURL("/saml/metadata"), SSOURL: s.absURL("/saml/sso")}
	md := idp.Metadata()
	d := &md.IDPSSODescriptors[0]
	d.NameIDFormats = []crewjam.NameIDFormat{nameIDFormat}
	// Only signing keys: weftid decrypts nothing, so it offers no key to encrypt to.
	d.KeyDescriptors = nil
	for _, k := range set.published {
		d.KeyDescriptors = append(d.KeyDescriptors, crewjam.KeyDescriptor{Use: "signing", KeyInfo: crewjam.KeyInfo{
			X509Data: crewjam.X509Data{X509Certificates: []crewjam.X509Certificate{{Data: base64.StdEncoding.EncodeToString(k.Certificate)}}},
		}})
	}
	slo := s.absURL(sloPath)
	d.SingleLogoutServices = []crewjam.Endpoint{
		{Binding: crewjam.HTTPRedirectBinding, Location: slo.String()},
		{Binding: crewjam.HTTPPostBinding, Location: slo.String()},
	}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), buf...), nil
}

// ptr returns a pointer to id, for the optional actor and subject of events.
func ptr(id int64) *int64 { return &id }
