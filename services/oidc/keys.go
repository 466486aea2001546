package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// signingKeySealContext binds a sealed private key to its purpose and kid.
func signingKeySealContext(kid string) string { return "oidc_signing_key:" + kid }

// signingKeyRetireAfter is how long a rotated-away key stays in the JWKS: longer than any ID
// token it signed lives, plus time for RPs to refresh their cached key sets.
const signingKeyRetireAfter = idTokenTTL + 24*time.Hour

// signingKey is an opened RS256 key: op.SigningKey to sign, publicKey for the JWKS.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

type privateSigningKey struct{ *signingKey }

func (k privateSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k privateSigningKey) ID() string                                  { return k.kid }
func (k privateSigningKey) Key() any                                    { return k.priv }

type publicSigningKey struct{ *signingKey }

func (k publicSigningKey) ID() string                         { return k.kid }
func (k publicSigningKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicSigningKey) Use() string                        { return "sig" }
func (k publicSigningKey) Key() any                           { return &k.priv.PublicKey }

// newSigningKey makes an RS256 key sealed for the store, signing from activates.
func newSigningKey(keys auth.Keys, now, activates time.Time) (store.OIDCSigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return store.OIDCSigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.OIDCSigningKey{}, err
	}
	kid := auth.NewToken()[:16]
	sealed, err := keys.Seal(der, signingKeySealContext(kid))
	if err != nil {
		return store.OIDCSigningKey{}, err
	}
	return store.OIDCSigningKey{KID: kid, Alg: string(jose.RS256), PrivateSealed: sealed, CreatedAt: now, ActivatesAt: activates}, nil
}

// ensureSigningKey makes the first key when there is none (first start). The check and the
// key are one transaction under the keys' lock, so instances that start together make one.
func (s *storage) ensureSigningKey(ctx context.Context) error {
	if n, err := s.st.CountOIDCSigningKeys(ctx); err != nil || n > 0 {
		return err
	}
	now := s.now()
	k, err := newSigningKey(s.keys, now, now)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, store.OIDCKeysLock); err != nil {
			return err
		}
		if n, err := tx.CountOIDCSigningKeys(ctx); err != nil || n > 0 {
			return err // another instance made it meanwhile
		}
		return tx.AddOIDCSigningKey(ctx, k, now)
	})
}

// RotateSigningKey adds a new ID-token signing key that signs from now on, and logs
// oidc_signing_key_rotated with its kid. The old keys stay in the JWKS for
// signingKeyRetireAfter, so ID tokens they signed still verify.
func (s *Service) RotateSigningKey(ctx context.Context, a Actor) error {
	now := s.now()
	k, err := newSigningKey(s.keys, now, now)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddOIDCSigningKey(ctx, k, now.Add(signingKeyRetireAfter)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOIDCSigningKeyRotated, nil, map[string]any{"kid": k.KID}))
	})
}

// ActiveSigningKey is the key that signs ID tokens now (the zero key when there is none yet).
func (s *Service) ActiveSigningKey(ctx context.Context) (store.OIDCSigningKey, error) {
	now := s.now()
	keys, err := s.st.OIDCSigningKeys(ctx, now)
	if err != nil {
		return store.OIDCSigningKey{}, err
	}
	for _, k := range keys {
		if !k.ActivatesAt.After(now) {
			return k, nil
		}
	}
	return store.OIDCSigningKey{}, nil
}

func (s *storage) openKey(k store.OIDCSigningKey) (*signingKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.keyCache[k.KID]; ok {
		return sk, nil
	}
	der, err := s.keys.Open(k.PrivateSealed, signingKeySealContext(k.KID))
	if err != nil {
		return nil, fmt.Errorf("oidc signing key %s: %w", k.KID, err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	rk, ok := p.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("oidc signing key %s is not RSA", k.KID)
	}
	sk := &signingKey{kid: k.KID, priv: rk}
	s.keyCache[k.KID] = sk
	return sk, nil
}

// SigningKey is the newest key whose activation time has come.
func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	now := s.now()
	keys, err := s.st.OIDCSigningKeys(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if !k.ActivatesAt.After(now) {
			sk, err := s.openKey(k)
			if err != nil {
				return nil, err
			}
			return privateSigningKey{sk}, nil
		}
	}
	return nil, errors.New("oidc: no active signing key")
}

// SignatureAlgorithms: id_token_signing_alg_values_supported.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet is the JWKS: every key not yet retired.
func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	keys, err := s.st.OIDCSigningKeys(ctx, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		sk, err := s.openKey(k)
		if err != nil {
			return nil, err
		}
		out = append(out, publicSigningKey{sk})
	}
	return out, nil
}
