package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// Keys holds the secrets derived from the secret key file, one per purpose, so that no two
// uses of the key can be confused.
type Keys struct {
	tokens []byte // keyed hashes of session ids, sign-in ids, codes and setup tokens
	csrf   []byte // CSRF tokens
	seal   []byte // AES-256-GCM key for secrets at rest (TOTP secrets)
	breach []byte // HMAC of each password's SHA-1, for the weekly breach re-check
}

// NewKeys derives the purpose keys from the master secret.
func NewKeys(master []byte) Keys {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("weftid/" + purpose))
		return m.Sum(nil)
	}
	return Keys{tokens: derive("tokens"), csrf: derive("csrf"), seal: derive("seal"), breach: derive("breach")}
}

// HashToken is the keyed hash under which a secret the user holds (session id, code, link token)
// is stored: a stolen database does not give the secrets, and lookups stay one indexed query.
func (k Keys) HashToken(purpose, token string) []byte {
	m := hmac.New(sha256.New, k.tokens)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(token))
	return m.Sum(nil)
}

// BreachFingerprint is what is kept of a password so the weekly job can re-check it against
// breaches without the password: the 5 hex characters of its SHA-1 that the range API is asked
// for, and a keyed HMAC of the whole SHA-1, which a stolen database cannot turn back into a
// SHA-1 to crack without the secret key.
func (k Keys) BreachFingerprint(password string) (prefix string, mac []byte) {
	sum := PasswordSHA1(password)
	return RangePrefix(sum), k.BreachMAC(sum)
}

// PasswordSHA1 is the SHA-1 of a password, which the breach range API is keyed by.
func PasswordSHA1(password string) [sha1.Size]byte { return sha1.Sum([]byte(password)) }

// RangePrefix is the 5 upper-case hex characters of sum that are sent to the range API.
func RangePrefix(sum [sha1.Size]byte) string {
	return strings.ToUpper(hex.EncodeToString(sum[:3]))[:5]
}

// BreachMAC is the keyed HMAC under which a password's SHA-1 is kept (see BreachFingerprint).
func (k Keys) BreachMAC(sum [sha1.Size]byte) []byte {
	return k.BreachHasher()(sum)
}

// BreachHasher returns a BreachMAC that reuses one HMAC state, for comparing a whole range
// answer (about a thousand hashes) quickly. The slice it returns is overwritten by its next
// call, and it is not safe for concurrent use.
func (k Keys) BreachHasher() func([sha1.Size]byte) []byte {
	var m hash.Hash = hmac.New(sha256.New, k.breach)
	buf := make([]byte, 0, sha256.Size)
	return func(sum [sha1.Size]byte) []byte {
		m.Reset()
		m.Write(sum[:])
		return m.Sum(buf[:0])
	}
}

// CSRFToken derives the form token from the browser's CSRF cookie value.
func (k Keys) CSRFToken(cookie string) string {
	m := hmac.New(sha256.New, k.csrf)
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports whether token is the one derived from cookie, in constant time.
func (k Keys) CheckCSRF(cookie, token string) bool {
	if cookie == "" || token == "" {
		return false
	}
	return hmac.Equal([]byte(k.CSRFToken(cookie)), []byte(token))
}

// NewToken returns 32 random bytes, URL-safe encoded: session ids, sign-in ids, link tokens.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // never happens on Linux; nothing safe to fall back to
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewCode returns a uniformly random 6-digit code.
func NewCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// NormalizeCode strips the spaces and dashes people type inside codes.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// LoadOrCreateSecret reads the secret key file (hex), creating it with 32 random bytes and mode
// 0600 when it does not exist. It refuses a file that others can read.
func LoadOrCreateSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("auth: secret: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("auth: secret key file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("auth: create secret key file: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(secret) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("auth: write secret key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("auth: write secret key file: %w", err)
		}
		return secret, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read secret key file: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("auth: secret key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth: secret key file %s is readable by others (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(secret) < 32 {
		return nil, fmt.Errorf("auth: secret key file %s must hold at least 32 bytes in hex", path)
	}
	return secret, nil
}
