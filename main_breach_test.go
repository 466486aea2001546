package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
)

// The CLI tests must not ask the public breach service: the outcome would depend on the
// network. Tests that want a breach service pass --hibp-url themselves, which wins.
func init() {
	if _, ok := os.LookupEnv("WEFTID_HIBP_URL"); !ok {
		os.Setenv("WEFTID_HIBP_URL", "off")
	}
}

const cliBreachedPW = "quiet lantern orbit mosaic 2019"

// rangeServer answers the range API with cliBreachedPW listed and a padding line.
func rangeServer(t *testing.T, requests *atomic.Int32) *httptest.Server {
	sum := sha1.Sum([]byte(cliBreachedPW))
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		if prefix == full[:5] {
			fmt.Fprintf(w, "%s:12\r\n", full[5:])
		}
		fmt.Fprintf(w, "%035X:0\r\n", 7)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUserAddRefusesBreachedPassword(t *testing.T) {
	var requests atomic.Int32
	srv := rangeServer(t, &requests)
	db := filepath.Join(t.TempDir(), "weftid.db")
	args := func(email string) []string {
		return []string{"user", "add", "--db", db, "--hibp-url", srv.URL, "--email", email, "--name", "Ada Lovelace", "--role", "user"}
	}
	_, err := runCLI(t, cliBreachedPW+"\n", args("ada@example.com")...)
	if err == nil || !strings.Contains(err.Error(), account.BreachedPasswordMessage) {
		t.Fatalf("user add with a breached password: %v, want %q", err, account.BreachedPasswordMessage)
	}
	if requests.Load() != 1 {
		t.Errorf("requests: got %d, want 1", requests.Load())
	}
	out, err := runCLI(t, "violet tractor juggles quietly 1987\n", args("ada@example.com")...)
	if err != nil || !strings.Contains(out, "created user ada@example.com") || strings.Contains(out, "skipped") {
		t.Fatalf("user add with a clean password: %q %v", out, err)
	}
}

func TestUserAddAcceptsWhenBreachServiceUnreachable(t *testing.T) {
	var requests atomic.Int32
	srv := rangeServer(t, &requests)
	url := srv.URL
	srv.Close()
	db := filepath.Join(t.TempDir(), "weftid.db")
	out, err := runCLI(t, cliBreachedPW+"\n", "user", "add", "--db", db, "--hibp-url", url, "--email", "ada@example.com", "--name", "Ada", "--role", "user")
	if err != nil || !strings.Contains(out, "created user ada@example.com") || !strings.Contains(out, "breach check was skipped") {
		t.Fatalf("user add: %q %v", out, err)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: "password_breach_check_skipped"})
	if err != nil || len(evs) != 1 || evs[0].UserID == nil || evs[0].ActorID != nil || evs[0].Details["reason"] == "" {
		t.Fatalf("password_breach_check_skipped events: %+v %v", evs, err)
	}
}

func TestServeRefusesBadHIBPURL(t *testing.T) {
	for _, bad := range []string{"http://api.pwnedpasswords.com", "ftp://x", "file:///no/such/dir", "none"} {
		_, err := runCLI(t, "", "serve", "--db", filepath.Join(t.TempDir(), "weftid.db"), "--hibp-url", bad)
		if err == nil || !strings.Contains(err.Error(), "--hibp-url") {
			t.Errorf("serve --hibp-url %s: %v, want a refusal naming the flag", bad, err)
		}
	}
	_, err := runCLI(t, "x\n", "user", "add", "--db", filepath.Join(t.TempDir(), "weftid.db"), "--hibp-url", "gopher://x", "--email", "a@example.com", "--name", "A")
	if err == nil || !strings.Contains(err.Error(), "--hibp-url") {
		t.Errorf("user add --hibp-url gopher://x: %v", err)
	}
}
