package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/weftid/weftid/auth"
)

// cheap are parameters small enough for fast tests; the encoding and rules do not depend on cost.
var cheap = auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func mustHash(t testing.TB, password string, p auth.Argon2Params) string {
	t.Helper()
	h, err := auth.HashPassword(password, p)
	if err != nil {
		t.Fatalf("HashPassword(%q, %+v): %v", password, p, err)
	}
	return h
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashPasswordFormat(t *testing.T) {
	tests := []auth.Argon2Params{
		cheap,
		{Memory: 128, Time: 3, Threads: 2, SaltLen: 8, KeyLen: 16},
		{Memory: 256, Time: 2, Threads: 4, SaltLen: 32, KeyLen: 64},
	}
	for _, p := range tests {
		t.Run(fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads), func(t *testing.T) {
			h := mustHash(t, "correct horse battery staple", p)
			m := phcRE.FindStringSubmatch(h)
			if m == nil {
				t.Fatalf("HashPassword = %q, want PHC form $argon2id$v=19$m=..,t=..,p=..$salt$hash", h)
			}
			wantParams := fmt.Sprintf("%d,%d,%d", p.Memory, p.Time, p.Threads)
			if got := m[1] + "," + m[2] + "," + m[3]; got != wantParams {
				t.Errorf("params in %q = %s, want %s", h, got, wantParams)
			}
			salt, err := base64.RawStdEncoding.DecodeString(m[4])
			if err != nil || uint32(len(salt)) != p.SaltLen {
				t.Errorf("salt %q: %d bytes (err %v), want %d bytes of unpadded base64", m[4], len(salt), err, p.SaltLen)
			}
			key, err := base64.RawStdEncoding.DecodeString(m[5])
			if err != nil || uint32(len(key)) != p.KeyLen {
				t.Errorf("key %q: %d bytes (err %v), want %d bytes of unpadded base64", m[5], len(key), err, p.KeyLen)
			}
			// The key is argon2id over exactly those parameters and that salt (checked with the
			// library directly, not through our decoder).
			want := argon2.IDKey([]byte("correct horse battery staple"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			if string(key) != string(want) {
				t.Errorf("key in %q does not match argon2.IDKey over the same parameters", h)
			}
		})
	}
}

func TestVerifyPassword(t *testing.T) {
	const password = "correct horse battery staple"
	h := mustHash(t, password, cheap)
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"right", password, true},
		{"wrong", "correct horse battery stapler", false},
		{"empty", "", false},
		{"case differs", strings.ToUpper(password), false},
		{"prefix", password[:10], false},
		{"trailing space", password + " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auth.VerifyPassword(h, tt.password)
			if err != nil || got != tt.want {
				t.Errorf("VerifyPassword(hash, %q) = %v, %v; want %v, nil", tt.password, got, err, tt.want)
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, b := mustHash(t, "same password", cheap), mustHash(t, "same password", cheap)
	if a == b {
		t.Fatalf("two hashes of one password are equal (%q): the salt is not random", a)
	}
	for _, h := range []string{a, b} {
		if ok, err := auth.VerifyPassword(h, "same password"); !ok || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want true, nil", h, ok, err)
		}
	}
}

func TestVerifyPasswordUnicode(t *testing.T) {
	// The password is hashed as its UTF-8 bytes, with no normalization: the precomposed and the
	// decomposed "é" are different passwords.
	h := mustHash(t, "caf\u00e9 au lait", cheap)
	if ok, err := auth.VerifyPassword(h, "caf\u00e9 au lait"); !ok || err != nil {
		t.Errorf("VerifyPassword(same string) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := auth.VerifyPassword(h, "cafe\u0301 au lait"); ok || err != nil {
		t.Errorf("VerifyPassword(decomposed é) = %v, %v; want false, nil", ok, err)
	}
}

// TestVerifyPasswordKnownVectors checks hashes produced by other argon2id implementations: the
// reference implementation's test vectors (phc-winner-argon2 src/test.c, "password"/"somesalt")
// and libsodium's (test/default/pwhash_argon2id.c, empty password).
func TestVerifyPasswordKnownVectors(t *testing.T) {
	tests := []struct {
		encoded, password string
	}{
		{"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", "password"},
		{"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc", "password"},
		{"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password"},
		{"$argon2id$v=19$m=4882,t=2,p=1$bA81arsiXysd3WbTRzmEOw$Nm8QBM+7RH1DXo9rvp5cwKEOOOfD2g6JuxlXihoNcpE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.encoded[:30], func(t *testing.T) {
			if ok, err := auth.VerifyPassword(tt.encoded, tt.password); !ok || err != nil {
				t.Errorf("VerifyPassword(%q, %q) = %v, %v; want true, nil", tt.encoded, tt.password, ok, err)
			}
			if ok, err := auth.VerifyPassword(tt.encoded, tt.password+"x"); ok || err != nil {
				t.Errorf("VerifyPassword(%q, %q) = %v, %v; want false, nil", tt.encoded, tt.password+"x", ok, err)
			}
		})
	}
}

// TestVerifyPasswordHandBuilt builds a PHC string by hand with golang.org/x/crypto/argon2 and a
// fixed salt, as another implementation would, and checks that we read it.
func TestVerifyPasswordHandBuilt(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("hunter2 hunter2"), salt, 2, 128, 2, 24)
	enc := "$argon2id$v=19$m=128,t=2,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	if ok, err := auth.VerifyPassword(enc, "hunter2 hunter2"); !ok || err != nil {
		t.Errorf("VerifyPassword(%q) = %v, %v; want true, nil", enc, ok, err)
	}
	if ok, err := auth.VerifyPassword(enc, "hunter2 hunter3"); ok || err != nil {
		t.Errorf("VerifyPassword(%q, wrong) = %v, %v; want false, nil", enc, ok, err)
	}
}

func TestVerifyPasswordBadHash(t *testing.T) {
	good := mustHash(t, "pw", cheap)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	salt, key := parts[4], parts[5]
	join := func(p ...string) string { return strings.Join(p, "$") }
	tests := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"plain text", "pw"},
		{"argon2i", join("", "argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"argon2d", join("", "argon2d", "v=19", "m=64,t=1,p=1", salt, key)},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"ARGON2ID upper case", join("", "ARGON2ID", "v=19", "m=64,t=1,p=1", salt, key)},
		{"no leading dollar", join("argon2id", "v=19", "m=64,t=1,p=1", salt, key)},
		{"version 16", join("", "argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"no version", join("", "argon2id", "m=64,t=1,p=1", salt, key)},
		{"version not a number", join("", "argon2id", "v=x", "m=64,t=1,p=1", salt, key)},
		{"no key", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt)},
		{"empty key", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
		{"extra part", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, key, "x")},
		{"params missing p", join("", "argon2id", "v=19", "m=64,t=1", salt, key)},
		{"params reordered", join("", "argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"params negative", join("", "argon2id", "v=19", "m=-64,t=1,p=1", salt, key)},
		{"absurd memory", join("", "argon2id", "v=19", "m=99999999,t=1,p=1", salt, key)},
		{"memory over uint32", join("", "argon2id", "v=19", "m=99999999999,t=1,p=1", salt, key)},
		{"memory too small", join("", "argon2id", "v=19", "m=7,t=1,p=1", salt, key)},
		{"time zero", join("", "argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"absurd time", join("", "argon2id", "v=19", "m=64,t=101,p=1", salt, key)},
		{"threads zero", join("", "argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"threads over uint8", join("", "argon2id", "v=19", "m=64,t=1,p=256", salt, key)},
		{"salt bad base64", join("", "argon2id", "v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!", key)},
		{"salt padded", join("", "argon2id", "v=19", "m=64,t=1,p=1", base64.StdEncoding.EncodeToString([]byte("0123456789")), key)},
		{"salt too short", join("", "argon2id", "v=19", "m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString([]byte("1234567")), key)},
		{"key bad base64", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, "@@@@"+key[4:])},
		{"key url alphabet", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, base64.RawURLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb, 0xff, 0xfe, 0xfb}))},
		{"key too short", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 15)))},
		{"key too long", join("", "argon2id", "v=19", "m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 129)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(tt.encoded, "pw")
			if ok || !errors.Is(err, auth.ErrBadHash) {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false, ErrBadHash", tt.encoded, ok, err)
			}
			if !auth.NeedsRehash(tt.encoded, cheap) {
				t.Errorf("NeedsRehash(%q) = false, want true for an unreadable hash", tt.encoded)
			}
		})
	}
}

// TestVerifyPasswordTamperedKey: a well-formed string whose key was changed is not an error, it
// just does not match.
func TestVerifyPasswordTamperedKey(t *testing.T) {
	good := mustHash(t, "pw", cheap)
	i := strings.LastIndex(good, "$") + 1
	c := byte('A')
	if good[i] == 'A' {
		c = 'B'
	}
	bad := good[:i] + string(c) + good[i+1:]
	if ok, err := auth.VerifyPassword(bad, "pw"); ok || err != nil {
		t.Errorf("VerifyPassword(tampered %q) = %v, %v; want false, nil", bad, ok, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	cur := auth.Argon2Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
	with := func(f func(*auth.Argon2Params)) auth.Argon2Params {
		p := cur
		f(&p)
		return p
	}
	tests := []struct {
		name string
		old  auth.Argon2Params
		want bool
	}{
		{"same", cur, false},
		{"less memory", with(func(p *auth.Argon2Params) { p.Memory = 64 }), true},
		{"fewer passes", with(func(p *auth.Argon2Params) { p.Time = 1 }), true},
		{"fewer threads", with(func(p *auth.Argon2Params) { p.Threads = 1 }), true},
		{"shorter key", with(func(p *auth.Argon2Params) { p.KeyLen = 16 }), true},
		{"shorter salt", with(func(p *auth.Argon2Params) { p.SaltLen = 8 }), true},
		{"more memory", with(func(p *auth.Argon2Params) { p.Memory = 256 }), false},
		{"more passes", with(func(p *auth.Argon2Params) { p.Time = 3 }), false},
		{"more threads", with(func(p *auth.Argon2Params) { p.Threads = 4 }), false},
		{"longer key", with(func(p *auth.Argon2Params) { p.KeyLen = 64 }), false},
		{"longer salt", with(func(p *auth.Argon2Params) { p.SaltLen = 32 }), false},
		{"all stronger", auth.Argon2Params{Memory: 256, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 64}, false},
		{"more memory but fewer passes", with(func(p *auth.Argon2Params) { p.Memory, p.Time = 256, 1 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustHash(t, "pw", tt.old)
			if got := auth.NeedsRehash(h, cur); got != tt.want {
				t.Errorf("NeedsRehash(hash with %+v, %+v) = %v, want %v", tt.old, cur, got, tt.want)
			}
		})
	}
	if got := auth.NeedsRehash("garbage", cur); !got {
		t.Errorf("NeedsRehash(garbage) = false, want true")
	}
	if got := auth.NeedsRehash("", cur); !got {
		t.Errorf("NeedsRehash(\"\") = false, want true")
	}
}

// TestDefaultArgon2 pins the default to at least OWASP's first recommendation (DESIGN.md).
func TestDefaultArgon2(t *testing.T) {
	p := auth.DefaultArgon2
	if p.Memory < 19*1024 || p.Time < 2 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
		t.Errorf("DefaultArgon2 = %+v, want at least m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key", p)
	}
}

func TestHasherPublic(t *testing.T) {
	ctx := context.Background()
	h, err := auth.NewHasher(cheap, 2, 4, time.Minute)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	if got := h.Params(); got != cheap {
		t.Errorf("Params() = %+v, want %+v", got, cheap)
	}
	enc, err := h.Hash(ctx, "s3cret password")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	weak := mustHash(t, "s3cret password", auth.Argon2Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	strong := mustHash(t, "s3cret password", auth.Argon2Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	tests := []struct {
		name             string
		encoded, pw      string
		wantOK, wantRehs bool
	}{
		{"right", enc, "s3cret password", true, false},
		{"wrong", enc, "s3cret passwore", false, false},
		{"unknown account", "", "s3cret password", false, false},
		{"unreadable stored hash", "$bcrypt$nope", "s3cret password", false, false},
		{"weaker params, right", weak, "s3cret password", true, true},
		{"weaker params, wrong", weak, "nope", false, false},
		{"stronger params, right", strong, "s3cret password", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, tt.encoded, tt.pw)
			if ok != tt.wantOK || rehash != tt.wantRehs || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, %v; want %v, %v, nil", tt.encoded, tt.pw, ok, rehash, err, tt.wantOK, tt.wantRehs)
			}
		})
	}
}

func BenchmarkArgon2idVerify(b *testing.B) {
	enc := mustHash(b, "correct horse battery staple", auth.DefaultArgon2)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := auth.VerifyPassword(enc, "correct horse battery staple"); !ok || err != nil {
				b.Errorf("VerifyPassword = %v, %v; want true, nil", ok, err)
				return
			}
		}
	})
}

func BenchmarkHasherVerify(b *testing.B) {
	n := runtime.NumCPU()
	h, err := auth.NewHasher(auth.DefaultArgon2, n, 1<<16, time.Hour)
	if err != nil {
		b.Fatalf("NewHasher: %v", err)
	}
	enc := mustHash(b, "correct horse battery staple", auth.DefaultArgon2)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
				b.Errorf("Verify = %v, %v; want true, nil", ok, err)
				return
			}
		}
	})
}
