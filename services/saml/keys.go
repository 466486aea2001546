package saml

// The identity provider's signing keys and their rotation.
//
// Policy: publish the next key first, sign with it later. Service providers cache weftid's
// metadata (it says it is valid for 48 hours; many refresh daily, some weekly), and one that has
// not seen a key refuses everything that key signs. So "Rotate" publishes a new key beside the
// current one at once, and the new key starts signing KeyOverlap (7 days) later; the old key
// stays published KeyRetireAfter (a day) past that, for responses in flight and metadata
// fetched just before the switch, then leaves the metadata. A service provider that refreshes
// its metadata at least weekly never sees a signature from a key it does not know. For a key
// that must go at once (leaked, or unreadable after a restore without the secret key file),
// "Use the new key now" makes the waiting key sign immediately and withdraws every other key:
// service providers then need weftid's metadata again before their next sign-in.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

const (
	// KeyOverlap is how long a rotated-in key is published before it signs.
	KeyOverlap = 7 * 24 * time.Hour
	// KeyRetireAfter is how long a key stays published after a newer one started signing.
	KeyRetireAfter = 24 * time.Hour
	// firstKID is the kid of the key made at the first start (and of the key the single-key
	// schema held, which migration 00019 moved here still sealed for its old purpose).
	firstKID = "saml_idp_key"
)

var (
	// ErrRotationPending: a rotated-in key is waiting to sign already; rotate again once it signs.
	ErrRotationPending = errors.New("saml: a new signing key is waiting to sign already")
	// ErrNoPendingKey: there is no rotated-in key waiting to sign.
	ErrNoPendingKey = errors.New("saml: no signing key is waiting to sign")
)

// sealContext binds a sealed key to its purpose and kid: it cannot be opened as anything else.
// The first key keeps the purpose it was sealed for before keys rotated.
func sealContext(kid string) string {
	if kid == firstKID {
		return "saml_idp_key"
	}
	return "saml_signing_key:" + kid
}

// KeyState is where a signing key is in its rotation.
type KeyState string

// The states of a published key.
const (
	KeySigning  KeyState = "signing"  // signs now
	KeyNext     KeyState = "next"     // published, signs from ActivatesAt
	KeyRetiring KeyState = "retiring" // a newer key signs; published until RetiresAt
)

// SigningKey is a published key as the Applications page shows it.
type SigningKey struct {
	KID         string
	Fingerprint string // SHA-256 of the certificate, hex in pairs
	State       KeyState
	ActivatesAt time.Time
	RetiresAt   time.Time // zero while no newer key signs
}

// keySet is the stored keys as of one moment: the one that signs, every one published (the
// signing one first), and when that changes next by itself.
type keySet struct {
	signing   store.SAMLSigningKey
	published []store.SAMLSigningKey
	until     time.Time // the next activation or retirement (zero: none)
}

// readKeys reads the keys as of now, making and storing the first one on the first start (if
// another process stored one first, that one is used).
func (s *Service) readKeys(ctx context.Context, now time.Time) (keySet, error) {
	keys, err := s.store.SAMLSigningKeys(ctx, now)
	if err == nil && len(keys) == 0 {
		var k store.SAMLSigningKey
		if k, err = s.newKey(firstKID, now, now); err != nil {
			return keySet{}, err
		}
		err = s.store.CreateFirstSAMLSigningKey(ctx, k)
		if err == nil {
			s.log.Info("SAML identity provider key created; its certificate is in /saml/metadata")
		}
		if err == nil || errors.Is(err, store.ErrConflict) {
			keys, err = s.store.SAMLSigningKeys(ctx, now)
		}
	}
	if err != nil {
		return keySet{}, fmt.Errorf("saml keys: %w", err)
	}
	set := keySet{}
	for _, k := range keys {
		if set.signing.KID == "" && !k.ActivatesAt.After(now) {
			set.signing = k
		}
		for _, t := range []time.Time{k.ActivatesAt, k.RetiresAt} {
			if t.After(now) && (set.until.IsZero() || t.Before(set.until)) {
				set.until = t
			}
		}
	}
	if set.signing.KID == "" {
		return keySet{}, errors.New("saml keys: no key signs now")
	}
	set.published = append(set.published, set.signing)
	for _, k := range keys {
		if k.KID != set.signing.KID {
			set.published = append(set.published, k)
		}
	}
	return set, nil
}

// openKey opens a sealed key: its private key and certificate.
func (s *Service) openKey(k store.SAMLSigningKey) (*rsa.PrivateKey, *x509.Certificate, error) {
	der, err := s.keys.Open(k.SealedKey, sealContext(k.KID))
	if err != nil {
		return nil, nil, fmt.Errorf("saml key %s: open (is this the secret key file it was made with?): %w", k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key %s: %w", k.KID, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("saml key %s: not an RSA key", k.KID)
	}
	cert, err := x509.ParseCertificate(k.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("saml certificate %s: %w", k.KID, err)
	}
	return key, cert, nil
}

// newKey makes a 2048-bit RSA key and a self-signed certificate for it, valid for ten years
// (service providers pin the certificate from the metadata; its dates are not checked), to be
// published from now and to sign from activates.
func (s *Service) newKey(kid string, now, activates time.Time) (store.SAMLSigningKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return store.SAMLSigningKey{}, fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return store.SAMLSigningKey{}, fmt.Errorf("saml key: %w", err)
	}
	now = now.UTC().Truncate(time.Second)
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
		return store.SAMLSigningKey{}, fmt.Errorf("saml certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.SAMLSigningKey{}, fmt.Errorf("saml key: %w", err)
	}
	sealed, err := s.keys.Seal(pkcs8, sealContext(kid))
	if err != nil {
		return store.SAMLSigningKey{}, fmt.Errorf("saml key: %w", err)
	}
	return store.SAMLSigningKey{KID: kid, Certificate: der, SealedKey: sealed, CreatedAt: now, ActivatesAt: activates.UTC().Truncate(time.Second)}, nil
}

// SigningKeys lists the published keys, the one that signs first.
func (s *Service) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	now := s.now()
	set, err := s.readKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]SigningKey, 0, len(set.published))
	for _, k := range set.published {
		state := KeyRetiring
		switch {
		case k.KID == set.signing.KID:
			state = KeySigning
		case k.ActivatesAt.After(now):
			state = KeyNext
		}
		sum := sha256.Sum256(k.Certificate)
		pairs := make([]string, len(sum))
		for i, b := range sum {
			pairs[i] = hex.EncodeToString([]byte{b})
		}
		out = append(out, SigningKey{KID: k.KID, Fingerprint: strings.ToUpper(strings.Join(pairs, ":")), State: state,
			ActivatesAt: k.ActivatesAt, RetiresAt: k.RetiresAt})
	}
	return out, nil
}

// RotateSigningKey publishes a new signing key that signs from KeyOverlap on, schedules the
// others to leave the metadata KeyRetireAfter after that, and records saml_signing_key_rotated,
// in one transaction. ErrRotationPending when a rotated-in key is waiting to sign already.
func (s *Service) RotateSigningKey(ctx context.Context, adminID int64, from store.Origin) (SigningKey, error) {
	now := s.now()
	k, err := s.newKey(auth.NewToken()[:16], now, now.Add(KeyOverlap))
	if err != nil {
		return SigningKey{}, err
	}
	retire := k.ActivatesAt.Add(KeyRetireAfter)
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		keys, err := tx.SAMLSigningKeys(ctx, now)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(keys, func(k store.SAMLSigningKey) bool { return k.ActivatesAt.After(now) }) {
			return ErrRotationPending
		}
		if err := tx.AddSAMLSigningKey(ctx, k, retire); err != nil {
			return err
		}
		details := map[string]any{"kid": k.KID, "signs_from": k.ActivatesAt.Format(time.RFC3339), "others_retire_at": retire.Format(time.RFC3339)}
		return tx.AddEvent(ctx, from.Event(now, store.EventSAMLSigningKeyRotated, ptr(adminID), nil, details))
	})
	if err != nil {
		return SigningKey{}, err
	}
	s.forget()
	return SigningKey{KID: k.KID, State: KeyNext, ActivatesAt: k.ActivatesAt}, nil
}

// UseNextKeyNow makes the key waiting to sign sign at once and withdraws every other key from
// the metadata, and records saml_signing_key_rotated, in one transaction: for a key that must go
// now. ErrNoPendingKey when no key is waiting.
func (s *Service) UseNextKeyNow(ctx context.Context, adminID int64, from store.Origin) error {
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		keys, err := tx.SAMLSigningKeys(ctx, now)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(keys, func(k store.SAMLSigningKey) bool { return k.ActivatesAt.After(now) })
		if i < 0 {
			return ErrNoPendingKey
		}
		if err := tx.ActivateSAMLSigningKeyNow(ctx, keys[i].KID, now); err != nil {
			return err
		}
		var withdrawn []string
		for _, k := range keys {
			if k.KID != keys[i].KID {
				withdrawn = append(withdrawn, k.KID)
			}
		}
		details := map[string]any{"kid": keys[i].KID, "signs_from": now.Format(time.RFC3339), "withdrawn": withdrawn, "immediately": true}
		return tx.AddEvent(ctx, from.Event(now, store.EventSAMLSigningKeyRotated, ptr(adminID), nil, details))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoPendingKey
	}
	if err != nil {
		return err
	}
	s.forget()
	return nil
}
