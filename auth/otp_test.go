package auth_test

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
)

// rfcSecret is RFC 6238's SHA1 test key, "12345678901234567890", base32-encoded as apps get it.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

func mustCode(t *testing.T, secret string, step int64) string {
	t.Helper()
	code, err := auth.TOTPCode(secret, step)
	if err != nil {
		t.Fatalf("TOTPCode(step %d): %v", step, err)
	}
	return code
}

func TestTOTPStep(t *testing.T) {
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {60, 2}, {1111111109, 37037036}, {2000000000, 66666666},
	}
	for _, tt := range tests {
		if got := auth.TOTPStep(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("TOTPStep(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
	// The step is a property of the instant, not of the zone it is written in.
	at := time.Unix(1111111109, 0)
	if got := auth.TOTPStep(at.In(time.FixedZone("x", 5*3600+1800))); got != auth.TOTPStep(at) {
		t.Errorf("TOTPStep depends on the time zone: %d vs %d", got, auth.TOTPStep(at))
	}
}

// TestTOTPCodeRFC6238 checks the SHA1 vectors of RFC 6238 appendix B; the RFC shows 8 digits,
// our codes are the last 6 of them.
func TestTOTPCodeRFC6238(t *testing.T) {
	vectors := []struct {
		unix  int64
		eight string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, v := range vectors {
		got := mustCode(t, rfcSecret, auth.TOTPStep(time.Unix(v.unix, 0)))
		if want := v.eight[2:]; got != want {
			t.Errorf("TOTPCode(T=%d) = %q, want %q (from %s)", v.unix, got, want, v.eight)
		}
	}
	// A secret typed in lower case is the same secret.
	if got := mustCode(t, strings.ToLower(rfcSecret), 1); got != "287082" {
		t.Errorf("TOTPCode(lower-case secret) = %q, want 287082", got)
	}
	if _, err := auth.TOTPCode("not base32 at all!", 1); err == nil {
		t.Error("TOTPCode with a secret that is not base32: no error")
	}
}

func TestCheckTOTPWindow(t *testing.T) {
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := auth.TOTPStep(now)
	for _, tt := range []struct {
		offset int64
		ok     bool
	}{
		{-3, false}, {-2, false}, {-1, true}, {0, true}, {1, true}, {2, false}, {3, false},
	} {
		code := mustCode(t, rfcSecret, cur+tt.offset)
		step, ok := auth.CheckTOTP(rfcSecret, code, now, 0)
		if ok != tt.ok {
			t.Errorf("CheckTOTP(code of now%+d) ok = %v, want %v", tt.offset, ok, tt.ok)
			continue
		}
		if ok && step != cur+tt.offset {
			t.Errorf("CheckTOTP(code of now%+d) step = %d, want %d", tt.offset, step, cur+tt.offset)
		}
		if !ok && step != 0 {
			t.Errorf("CheckTOTP refused but returned step %d, want 0", step)
		}
	}
	// The window follows the clock: the first and last second of a step give the same window.
	first := time.Unix(cur*30, 0)
	last := time.Unix(cur*30+29, 0)
	for _, at := range []time.Time{first, last} {
		if _, ok := auth.CheckTOTP(rfcSecret, mustCode(t, rfcSecret, cur-1), at, 0); !ok {
			t.Errorf("at %v: code of the previous step refused", at)
		}
		if _, ok := auth.CheckTOTP(rfcSecret, mustCode(t, rfcSecret, cur+1), at, 0); !ok {
			t.Errorf("at %v: code of the next step refused", at)
		}
	}
	if _, ok := auth.CheckTOTP(rfcSecret, mustCode(t, rfcSecret, cur-1), time.Unix((cur+1)*30, 0), 0); ok {
		t.Error("one second after the step ends, the code of the step before it (now-2) is still accepted")
	}
}

func TestCheckTOTPReplay(t *testing.T) {
	now := time.Unix(1_700_000_015, 0)
	cur := auth.TOTPStep(now)
	code := mustCode(t, rfcSecret, cur)

	step, ok := auth.CheckTOTP(rfcSecret, code, now, cur-1)
	if !ok || step != cur {
		t.Fatalf("first use: CheckTOTP = %d, %v; want %d, true", step, ok, cur)
	}
	// The same code again, with its step recorded as the last accepted: refused.
	if _, ok := auth.CheckTOTP(rfcSecret, code, now, step); ok {
		t.Error("a code whose step was accepted already is accepted again (replay)")
	}
	// An older code (still in the window) is refused too once a newer step was accepted.
	if _, ok := auth.CheckTOTP(rfcSecret, mustCode(t, rfcSecret, cur-1), now, cur); ok {
		t.Error("the code of now-1 is accepted after the code of now was used")
	}
	// A newer code is accepted.
	if step, ok := auth.CheckTOTP(rfcSecret, mustCode(t, rfcSecret, cur+1), now, cur); !ok || step != cur+1 {
		t.Errorf("code of now+1 after now was used: CheckTOTP = %d, %v; want %d, true", step, ok, cur+1)
	}
	// After the next step was used (clock drift ahead), the current code is old.
	if _, ok := auth.CheckTOTP(rfcSecret, code, now, cur+1); ok {
		t.Error("the code of now is accepted after the code of now+1 was used")
	}
}

func TestCheckTOTPMalformed(t *testing.T) {
	now := time.Unix(59, 0) // step 1: 287082
	if _, ok := auth.CheckTOTP(rfcSecret, "287082", now, 0); !ok {
		t.Fatal("the RFC code itself is refused")
	}
	// What people type around a code is forgiven.
	for _, code := range []string{"287 082", "287-082", " 287082 ", "\t287082"} {
		if _, ok := auth.CheckTOTP(rfcSecret, code, now, 0); !ok {
			t.Errorf("CheckTOTP(%q) refused, want accepted", code)
		}
	}
	for _, code := range []string{
		"", "28708", "2870820", "94287082", "28708a", "abcdef", "287O82", "287_082",
		"２８７０８２", // full-width digits
		"287082\n",
	} {
		if _, ok := auth.CheckTOTP(rfcSecret, code, now, 0); ok {
			t.Errorf("CheckTOTP(%q) accepted, want refused", code)
		}
	}
	// A broken secret refuses everything rather than failing open.
	if _, ok := auth.CheckTOTP("!!!", "287082", now, 0); ok {
		t.Error("CheckTOTP with a secret that is not base32 accepted a code")
	}
}

var backupForm = regexp.MustCompile(`^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$`)

func TestNewBackupCodes(t *testing.T) {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	seen := map[rune]int{}
	all := map[string]bool{}
	for range 100 {
		codes := auth.NewBackupCodes()
		if len(codes) != 10 || auth.BackupCodeCount != 10 {
			t.Fatalf("NewBackupCodes gave %d codes (BackupCodeCount %d), want 10", len(codes), auth.BackupCodeCount)
		}
		set := map[string]bool{}
		for _, c := range codes {
			if !backupForm.MatchString(c) {
				t.Fatalf("backup code %q is not XXXX-XXXX over the alphabet", c)
			}
			if set[c] {
				t.Fatalf("duplicate backup code %q in one set %q", c, codes)
			}
			set[c] = true
			all[c] = true
			for _, r := range strings.ReplaceAll(c, "-", "") {
				seen[r]++
			}
			n := auth.NormalizeBackupCode(c)
			if !auth.LooksLikeBackupCode(n) {
				t.Errorf("LooksLikeBackupCode(NormalizeBackupCode(%q) = %q) = false", c, n)
			}
		}
	}
	if len(all) != 1000 {
		t.Errorf("1000 codes over 100 sets hold only %d distinct values", len(all))
	}
	// 8000 symbols over 31: each should appear about 258 times; every one must appear, and
	// none far from the mean (a biased generator would show here).
	for _, r := range alphabet {
		if n := seen[r]; n < 150 || n > 380 {
			t.Errorf("symbol %q appeared %d times in 8000, want about 258", r, n)
		}
	}
	if len(seen) != len(alphabet) {
		t.Errorf("symbols seen %d, want %d", len(seen), len(alphabet))
	}
}

func TestNormalizeBackupCode(t *testing.T) {
	tests := map[string]string{
		"ABCD-EFGH":     "ABCDEFGH",
		"abcd-efgh":     "ABCDEFGH",
		"abcdefgh":      "ABCDEFGH",
		" abcd efgh ":   "ABCDEFGH",
		"ab-cd-ef-gh":   "ABCDEFGH",
		"abcd\tefgh":    "ABCDEFGH",
		"":              "",
		"7k9m-2x4q":     "7K9M2X4Q",
		"ABCD - EFGH  ": "ABCDEFGH",
	}
	for in, want := range tests {
		if got := auth.NormalizeBackupCode(in); got != want {
			t.Errorf("NormalizeBackupCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLooksLikeBackupCode(t *testing.T) {
	for code, want := range map[string]bool{
		"ABCDEFGH":  true,
		"7K9M2X4Q":  true,
		"23456789":  true,
		"ZZZZZZZZ":  true,
		"ABCD-EFGH": false, // not normalized
		"abcdefgh":  false, // not normalized
		"ABCDEFG":   false,
		"ABCDEFGHJ": false,
		"":          false,
		"ABCD0FGH":  false, // 0, 1, O, I, L are not in the alphabet
		"ABCD1FGH":  false,
		"ABCDOFGH":  false,
		"ABCDIFGH":  false,
		"ABCDLFGH":  false,
		"298752AB":  true,
		"ÀBCDEFG":   false, // 8 bytes, 7 runes
		"12345678":  false,
	} {
		if got := auth.LooksLikeBackupCode(code); got != want {
			t.Errorf("LooksLikeBackupCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k1 := auth.NewKeys([]byte("master secret one, 32 bytes long"))
	k2 := auth.NewKeys([]byte("master secret two, 32 bytes long"))
	secret := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")

	sealed, err := k1.Seal(secret, "totp:user:1")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, secret[:8]) {
		t.Error("the sealed value contains the secret in clear")
	}
	got, err := k1.Open(sealed, "totp:user:1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v; want %q", got, err, secret)
	}
	// Rebuilt from the same master (a restart), the keys still open it.
	if got, err := auth.NewKeys([]byte("master secret one, 32 bytes long")).Open(sealed, "totp:user:1"); err != nil || !bytes.Equal(got, secret) {
		t.Errorf("Open with keys rebuilt from the same master = %q, %v", got, err)
	}
	// A fresh nonce each time: sealing twice gives different bytes.
	again, err := k1.Seal(secret, "totp:user:1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, sealed) {
		t.Error("two Seals of the same secret are identical (nonce reused)")
	}

	expectSealed := func(name string, _ []byte, err error) {
		t.Helper()
		if !errors.Is(err, auth.ErrSealed) {
			t.Errorf("%s: err = %v, want ErrSealed", name, err)
		}
	}
	b, err := k1.Open(sealed, "totp:user:2")
	expectSealed("other context (secret moved to another user's row)", b, err)
	b, err = k1.Open(sealed, "")
	expectSealed("empty context", b, err)
	b, err = k2.Open(sealed, "totp:user:1")
	expectSealed("other keys", b, err)
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 0x01
		if b, err := k1.Open(tampered, "totp:user:1"); !errors.Is(err, auth.ErrSealed) {
			t.Errorf("byte %d flipped: Open = %q, %v; want ErrSealed", i, b, err)
		}
	}
	b, err = k1.Open(sealed[:len(sealed)-1], "totp:user:1")
	expectSealed("truncated", b, err)
	b, err = k1.Open(append(bytes.Clone(sealed), 0), "totp:user:1")
	expectSealed("extended", b, err)
	b, err = k1.Open(nil, "totp:user:1")
	expectSealed("nil", b, err)
	b, err = k1.Open(sealed[:5], "totp:user:1")
	expectSealed("shorter than a nonce", b, err)

	// An empty secret round-trips too (nothing special-cased).
	empty, err := k1.Seal(nil, "c")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k1.Open(empty, "c"); err != nil || len(got) != 0 {
		t.Errorf("Open(Seal(empty)) = %q, %v", got, err)
	}
}

func TestNewTOTPSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		s, err := auth.NewTOTPSecret()
		if err != nil {
			t.Fatalf("NewTOTPSecret: %v", err)
		}
		if len(s) != 32 || strings.Contains(s, "=") {
			t.Errorf("secret %q: %d characters, want 32 with no padding (160 bits)", s, len(s))
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
		if err != nil || len(raw) != 20 {
			t.Errorf("secret %q decodes to %d bytes, %v; want 20", s, len(raw), err)
		}
		if seen[s] {
			t.Errorf("secret %q made twice", s)
		}
		seen[s] = true
		if _, err := auth.TOTPCode(s, 1); err != nil {
			t.Errorf("TOTPCode with a new secret: %v", err)
		}
	}
}

func TestTOTPQRCode(t *testing.T) {
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	raw, dataURI, err := auth.TOTPQRCode("weftid", "ann+tag@example.com", secret)
	if err != nil {
		t.Fatalf("TOTPQRCode: %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("otpauth URL %q: %v", raw, err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" {
		t.Errorf("URL %q: want otpauth://totp/...", raw)
	}
	if label := strings.TrimPrefix(u.Path, "/"); label != "weftid:ann+tag@example.com" {
		t.Errorf("URL label %q, want %q", label, "weftid:ann+tag@example.com")
	}
	q := u.Query()
	if q.Get("issuer") != "weftid" {
		t.Errorf("issuer %q, want weftid", q.Get("issuer"))
	}
	if q.Get("secret") != secret {
		t.Errorf("secret in URL %q, want %q", q.Get("secret"), secret)
	}
	// The app must compute the same codes as the server: its defaults.
	for k, want := range map[string]string{"period": "30", "digits": "6", "algorithm": "SHA1"} {
		if got := q.Get(k); got != "" && got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(dataURI, prefix) {
		t.Fatalf("data URI %.40q..., want prefix %q", dataURI, prefix)
	}
	pngBytes, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(dataURI, prefix))
	if err != nil {
		t.Fatalf("data URI is not base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatalf("data URI is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 240 {
		t.Errorf("QR image %dx%d, want 240x240", b.Dx(), b.Dy())
	}

	// A lower-case secret (as typed) works too; a secret that is not base32 is an error.
	if _, _, err := auth.TOTPQRCode("weftid", "a@example.com", strings.ToLower(secret)); err != nil {
		t.Errorf("TOTPQRCode(lower-case secret): %v", err)
	}
	if _, _, err := auth.TOTPQRCode("weftid", "a@example.com", "not base32!"); err == nil {
		t.Error("TOTPQRCode with a secret that is not base32: no error")
	}
}
