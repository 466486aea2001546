package auth

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: what every authenticator app understands (RFC 6238 defaults).
const (
	TOTPPeriod = 30 * time.Second
	TOTPSkew   = 1 // steps accepted either side of now, for clock drift
)

// NewTOTPSecret makes a new random TOTP secret (160 bits, base32, as authenticator apps expect).
func NewTOTPSecret() (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: ProductName, AccountName: "x", SecretSize: 20})
	if err != nil {
		return "", fmt.Errorf("auth: totp: %w", err)
	}
	return key.Secret(), nil
}

// TOTPQRCode returns the otpauth:// URL of a secret for an account and a QR code of it as a PNG
// data URI, for the setup page.
func TOTPQRCode(issuer, account, secret string) (url, dataURI string, err error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return "", "", fmt.Errorf("auth: totp secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: raw})
	if err != nil {
		return "", "", fmt.Errorf("auth: totp: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", "", fmt.Errorf("auth: totp qr: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", "", fmt.Errorf("auth: totp qr: %w", err)
	}
	return key.URL(), "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// TOTPStep is the time step a moment falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// TOTPCode is the code for one time step (tests and the clock-drift window use it).
func TOTPCode(secret string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// CheckTOTP reports the step a code matches, within TOTPSkew steps of now, that is newer than
// lastStep: a code that was accepted once (or an older one) is refused, so a code seen over a
// shoulder or in a log cannot be replayed.
func CheckTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = NormalizeCode(code)
	if len(code) != 6 {
		return 0, false
	}
	current := TOTPStep(now)
	for s := current - TOTPSkew; s <= current+TOTPSkew; s++ {
		want, err := TOTPCode(secret, s)
		if err != nil {
			return 0, false
		}
		if hmac.Equal([]byte(want), []byte(code)) && s > lastStep {
			return s, true
		}
	}
	return 0, false
}

// backupAlphabet leaves out letters and digits people confuse (0/O, 1/I/L).
const backupAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// BackupCodeCount is how many backup codes a set has.
const BackupCodeCount = 10

// NewBackupCodes returns a fresh set of single-use codes in XXXX-XXXX form.
func NewBackupCodes() []string {
	codes := make([]string, BackupCodeCount)
	for i := range codes {
		var b [8]byte
		for j := range b {
			b[j] = backupAlphabet[randIntn(len(backupAlphabet))]
		}
		codes[i] = string(b[:4]) + "-" + string(b[4:])
	}
	return codes
}

// NormalizeBackupCode upper-cases a typed backup code and drops spaces and dashes, so
// "abcd efgh" and "ABCD-EFGH" are the same code.
func NormalizeBackupCode(code string) string { return strings.ToUpper(NormalizeCode(code)) }

// LooksLikeBackupCode reports whether a normalized code has the backup code form.
func LooksLikeBackupCode(code string) bool {
	if len(code) != 8 {
		return false
	}
	for _, r := range code {
		if !strings.ContainsRune(backupAlphabet, r) {
			return false
		}
	}
	return true
}

func randIntn(n int) int {
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("auth: crypto/rand failed: " + err.Error())
		}
		// Reject the top of the byte range so every symbol is equally likely.
		if limit := 256 - 256%n; int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// ErrSealed is returned for a sealed value that does not open (wrong key, or tampered).
var ErrSealed = errors.New("auth: sealed value does not open")

// Seal encrypts a secret at rest with AES-256-GCM under the key file's sealing key. context
// (such as the user id) is authenticated too, so a sealed secret copied to another row fails.
func (k Keys) Seal(plaintext []byte, context string) ([]byte, error) {
	gcm, err := k.gcm()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("auth: seal: %w", err)
	}
	return gcm.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts what Seal sealed with the same context.
func (k Keys) Open(sealed []byte, context string) ([]byte, error) {
	gcm, err := k.gcm()
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, ErrSealed
	}
	out, err := gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrSealed
	}
	return out, nil
}

func (k Keys) gcm() (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.seal)
	if err != nil {
		return nil, fmt.Errorf("auth: seal key: %w", err)
	}
	return cipher.NewGCM(block)
}
