package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftid/weftid/auth"
)

func TestHashToken(t *testing.T) {
	k1 := auth.NewKeys([]byte("master secret one, 32 bytes long"))
	k2 := auth.NewKeys([]byte("master secret two, 32 bytes long"))
	base := k1.HashToken("session", "tok")
	if len(base) != 32 {
		t.Fatalf("len(HashToken) = %d, want 32 (HMAC-SHA256)", len(base))
	}
	if again := k1.HashToken("session", "tok"); !bytes.Equal(again, base) {
		t.Errorf("HashToken is not deterministic: %x then %x", base, again)
	}
	if again := auth.NewKeys([]byte("master secret one, 32 bytes long")).HashToken("session", "tok"); !bytes.Equal(again, base) {
		t.Errorf("HashToken under keys rebuilt from the same master = %x, want %x", again, base)
	}
	tests := []struct {
		name string
		got  []byte
	}{
		{"other purpose", k1.HashToken("signin", "tok")},
		{"other key", k2.HashToken("session", "tok")},
		{"other token", k1.HashToken("session", "tok2")},
		{"empty token", k1.HashToken("session", "")},
		// The separator keeps purpose and token apart: ("sessio", "ntok") is not ("session", "tok").
		{"boundary moved", k1.HashToken("sessio", "ntok")},
	}
	for _, tt := range tests {
		if bytes.Equal(tt.got, base) {
			t.Errorf("%s: HashToken = %x, the same as HashToken(session, tok); want different", tt.name, tt.got)
		}
	}
}

func TestCSRF(t *testing.T) {
	k := auth.NewKeys([]byte("master secret one, 32 bytes long"))
	other := auth.NewKeys([]byte("master secret two, 32 bytes long"))
	cookie := auth.NewToken()
	token := k.CSRFToken(cookie)
	if token == "" || token == cookie {
		t.Fatalf("CSRFToken(%q) = %q, want a derived non-empty value", cookie, token)
	}
	tests := []struct {
		name          string
		cookie, token string
		want          bool
	}{
		{"right pair", cookie, token, true},
		{"empty cookie", "", token, false},
		{"empty token", cookie, "", false},
		{"both empty", "", "", false},
		{"empty cookie with its own token", "", k.CSRFToken(""), false},
		{"wrong cookie", auth.NewToken(), token, false},
		{"wrong token", cookie, k.CSRFToken(auth.NewToken()), false},
		{"token is the cookie", cookie, cookie, false},
		{"token from other keys", cookie, other.CSRFToken(cookie), false},
		{"token truncated", cookie, token[:len(token)-1], false},
		{"token with extra", cookie, token + "A", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.CheckCSRF(tt.cookie, tt.token); got != tt.want {
				t.Errorf("CheckCSRF(%q, %q) = %v, want %v", tt.cookie, tt.token, got, tt.want)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	const n = 5000
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		tok := auth.NewToken()
		if len(tok) != 43 {
			t.Fatalf("len(NewToken()) = %d (%q), want 43 (32 bytes, unpadded base64url)", len(tok), tok)
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) != 32 {
			t.Fatalf("NewToken() = %q decodes to %d bytes, err %v; want 32 bytes of base64url", tok, len(b), err)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q after %d draws", tok, i)
		}
		seen[tok] = true
	}
}

func TestNewCode(t *testing.T) {
	const draws = 20000
	re := regexp.MustCompile(`^[0-9]{6}$`)
	var first [10]int
	for i := 0; i < draws; i++ {
		c := auth.NewCode()
		if !re.MatchString(c) {
			t.Fatalf("NewCode() = %q, want exactly 6 digits", c)
		}
		first[c[0]-'0']++
	}
	// Expected 2000 per digit with a standard deviation of about 42: the bounds are > 10 sigma
	// away, so this fails only for a real bias (such as no leading zeros), never by chance.
	for d, n := range first {
		if n < 1500 || n > 2500 {
			t.Errorf("first digit %d appeared %d times in %d codes, want about %d", d, n, draws, draws/10)
		}
	}
}

func TestNormalizeCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"123456", "123456"},
		{"123 456", "123456"},
		{"123-456", "123456"},
		{" 12 34-56 ", "123456"},
		{"123\t456", "123456"},
		{"--- ---", ""},
		{"", ""},
		{"abcd-efgh", "abcdefgh"},
	}
	for _, tt := range tests {
		if got := auth.NormalizeCode(tt.in); got != tt.want {
			t.Errorf("NormalizeCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadOrCreateSecretCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "secret.key")
	secret, err := auth.LoadOrCreateSecret(path)
	if err != nil {
		t.Fatalf("LoadOrCreateSecret(new file): %v", err)
	}
	if len(secret) != 32 {
		t.Errorf("created secret has %d bytes, want 32", len(secret))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat %s: %v", path, err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("secret key file mode = %v, want 0600", got)
	}
	if info, err := os.Stat(dir); err != nil {
		t.Errorf("stat created directory: %v", err)
	} else if got := info.Mode().Perm(); got&0o077 != 0 {
		t.Errorf("created directory %s has mode %v, want no access for group or others (0700)", dir, got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(data)), hex.EncodeToString(secret); got != want {
		t.Errorf("file holds %q, want %q (the secret in hex)", got, want)
	}
	again, err := auth.LoadOrCreateSecret(path)
	if err != nil || !bytes.Equal(again, secret) {
		t.Errorf("LoadOrCreateSecret(existing) = %x, %v; want %x, nil", again, err, secret)
	}
	other, err := auth.LoadOrCreateSecret(filepath.Join(dir, "other.key"))
	if err != nil || bytes.Equal(other, secret) {
		t.Errorf("a second new secret file = %x, %v; want a different random secret", other, err)
	}
}

func TestLoadOrCreateSecretRefuses(t *testing.T) {
	good := strings.Repeat("ab", 32) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
	}{
		{"readable by others", good, 0o644},
		{"readable by group", good, 0o640},
		{"writable by others", good, 0o602},
		{"empty", "", 0o600},
		{"short", strings.Repeat("ab", 31), 0o600},
		{"not hex", strings.Repeat("zz", 32), 0o600},
		{"odd length hex", strings.Repeat("ab", 32) + "a", 0o600},
		{"base64 instead of hex", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 48)), 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // WriteFile's mode is filtered by the umask
				t.Fatal(err)
			}
			if got, err := auth.LoadOrCreateSecret(path); err == nil {
				t.Errorf("LoadOrCreateSecret(%s, mode %v) = %x, nil; want an error", tt.name, tt.mode, got)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.content {
				t.Errorf("the refused file was changed to %q, want it left as %q", data, tt.content)
			}
		})
	}
}

func TestLoadOrCreateSecretAccepts(t *testing.T) {
	long := bytes.Repeat([]byte{0x5a}, 64)
	tests := []struct {
		name    string
		content string
		want    []byte
	}{
		{"32 bytes with newline", strings.Repeat("01", 32) + "\n", bytes.Repeat([]byte{1}, 32)},
		{"32 bytes without newline", strings.Repeat("01", 32), bytes.Repeat([]byte{1}, 32)},
		{"upper-case hex", strings.Repeat("AB", 32), bytes.Repeat([]byte{0xab}, 32)},
		{"64 bytes", hex.EncodeToString(long), long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := auth.LoadOrCreateSecret(path)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("LoadOrCreateSecret = %x, %v; want %x, nil", got, err, tt.want)
			}
		})
	}
}
