package auth_test

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
)

const (
	breachedPassword = "password123456"
	cleanPassword    = "violet tractor juggles quietly 1987"
)

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestBreachFingerprint(t *testing.T) {
	k1 := auth.NewKeys([]byte("0123456789abcdef0123456789abcdef"))
	k2 := auth.NewKeys([]byte("fedcba9876543210fedcba9876543210"))
	prefix, mac := k1.BreachFingerprint(breachedPassword)
	if want := sha1Hex(breachedPassword)[:5]; prefix != want {
		t.Errorf("prefix: got %q, want %q", prefix, want)
	}
	sum := auth.PasswordSHA1(breachedPassword)
	if got := k1.BreachMAC(sum); string(got) != string(mac) {
		t.Error("BreachMAC of the SHA-1 differs from the fingerprint's HMAC")
	}
	if got := k1.BreachHasher()(sum); string(got) != string(mac) {
		t.Error("BreachHasher differs from BreachMAC")
	}
	if _, other := k2.BreachFingerprint(breachedPassword); string(other) == string(mac) {
		t.Error("two secret keys give the same HMAC")
	}
	if string(mac) == string(k1.HashToken("breach", string(sum[:]))) {
		t.Error("the breach key is the token key")
	}
	if _, other := k1.BreachFingerprint(cleanPassword); string(other) == string(mac) {
		t.Error("two passwords give the same HMAC")
	}
}
