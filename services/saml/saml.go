// Package saml owns weftid's SAML identity provider and its registry of service providers: the
// signing key (loaded, or made on the first start, once), reading and validating AuthnRequests,
// holding a request until its browser has finished signing in, issuing signed assertions with
// their saml_assertion_issued events, and registering, changing and removing service providers
// by their metadata. It knows nothing of HTTP: handlers/saml.go and handlers/applications_saml.go
// read the request, call one function here and render what it returns.
package saml

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
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

	mu  sync.Mutex
	idp *crewjam.IdentityProvider // nil until the key is loaded
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
	return &Service{base: cfg.BaseURL, store: cfg.Store, keys: cfg.Keys, log: cfg.Log, now: cfg.Now, limiter: cfg.Limiter, access: cfg.Access}
}

// Warm loads the signing key, making and storing it on the first start (~75 ms for a new RSA
// key), so the first SAML request does not wait for it. A failure is returned and tried again
// by the next request that needs the key.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.provider(ctx)
	return err
}

// provider returns the identity provider, loading its key (or making it) the first time. Calls
// that overlap wait for one load; a failed load is tried again by the next call.
func (s *Service) provider(ctx context.Context) (*crewjam.IdentityProvider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idp != nil {
		return s.idp, nil
	}
	key, cert, err := s.key(ctx)
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
		ServiceProviderProvider: serviceProviders{s},
		AssertionMaker:          assertions{},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
	}
	return s.idp, nil
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
}

// IdPInfo is weftid's metadata URL (which is also its entity ID) and SSO URL.
func (s *Service) IdPInfo() IdPInfo {
	md := s.absURL("/saml/metadata")
	sso := s.absURL("/saml/sso")
	return IdPInfo{MetadataURL: md.String(), EntityID: md.String(), SSOURL: sso.String()}
}

// Metadata is the identity provider's metadata document with its XML declaration: entity ID,
// signing certificate, the SSO endpoint for both bindings, and emailAddress as the NameID format.
func (s *Service) Metadata(ctx context.Context) ([]byte, error) {
	idp, err := s.provider(ctx)
	if err != nil {
		return nil, err
	}
	md := idp.Metadata()
	md.IDPSSODescriptors[0].NameIDFormats = []crewjam.NameIDFormat{nameIDFormat}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), buf...), nil
}

// keyContext binds the sealed key to its purpose: it cannot be opened as anything else.
const keyContext = "saml_idp_key"

// key reads the signing key and certificate, making and storing them on the first start. If
// another process stored one first, that one is used.
func (s *Service) key(ctx context.Context) (*rsa.PrivateKey, *x509.Certificate, error) {
	k, err := s.store.SAMLKey(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if k, err = s.newKey(); err != nil {
			return nil, nil, err
		}
		err = s.store.CreateSAMLKey(ctx, k)
		if err == nil {
			s.log.Info("SAML identity provider key created; its certificate is in /saml/metadata")
		}
		if errors.Is(err, store.ErrConflict) {
			k, err = s.store.SAMLKey(ctx)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	der, err := s.keys.Open(k.SealedKey, keyContext)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: open (is this the secret key file it was made with?): %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("saml key: not an RSA key")
	}
	cert, err := x509.ParseCertificate(k.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("saml certificate: %w", err)
	}
	return key, cert, nil
}

// newKey makes a 2048-bit RSA key and a self-signed certificate for it, valid for ten years
// (service providers pin the certificate from the metadata; its dates are not checked).
func (s *Service) newKey() (store.SAMLKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	now := s.now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.base.Hostname(), Organization: []string{"weftid"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	sealed, err := s.keys.Seal(pkcs8, keyContext)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	return store.SAMLKey{Certificate: der, SealedKey: sealed, CreatedAt: now}, nil
}

// ptr returns a pointer to id, for the optional actor and subject of events.
func ptr(id int64) *int64 { return &id }
