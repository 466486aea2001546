package oidc_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// newService is the service over a fresh database (storetest) with the real migrations.
func newService(t *testing.T) (*oidc.Service, *store.Store) {
	t.Helper()
	st := storetest.Open(t)
	keys := auth.NewKeys([]byte("a master secret of the oidc service tests"))
	return oidc.New(oidc.Config{Store: st, Keys: keys}), st
}

func events(t *testing.T, st *store.Store, typ store.EventType) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: typ})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Only https, or http on a loopback host, can be the issuer; the first provider makes the
// first signing key and a second one on the same store makes none.
func TestNewProviderIssuers(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	for _, bad := range []string{"http://id.example.com", "http://10.0.0.1:8080", "ftp://localhost"} {
		u, _ := url.Parse(bad)
		if _, err := s.NewProvider(ctx, u); !errors.Is(err, oidc.ErrIssuerNotSecure) {
			t.Errorf("NewProvider(%s) = %v, want ErrIssuerNotSecure", bad, err)
		}
	}
	for _, good := range []string{"http://127.0.0.1:8080", "http://localhost/", "http://[::1]:9000", "https://id.example.com/"} {
		u, _ := url.Parse(good)
		p, err := s.NewProvider(ctx, u)
		if err != nil {
			t.Fatalf("NewProvider(%s): %v", good, err)
		}
		if want := strings.TrimSuffix(good, "/"); p.Issuer() != want {
			t.Errorf("issuer %q, want %q", p.Issuer(), want)
		}
	}
	if n, err := st.CountOIDCSigningKeys(ctx); err != nil || n != 1 {
		t.Errorf("%d signing keys (%v), want 1", n, err)
	}
}

// The registration form's rules, each with the words the admin sees.
func TestCreateClientChecksTheForm(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	long := "https://app.example.com/" + strings.Repeat("x", 300)
	for _, tc := range []struct {
		in   oidc.ClientInput
		want oidc.FormError
	}{
		{oidc.ClientInput{Name: " ", RedirectURIs: "https://a.example/cb"}, oidc.ErrNameMissing},
		{oidc.ClientInput{Name: strings.Repeat("n", 101), RedirectURIs: "https://a.example/cb"}, oidc.ErrNameTooLong},
		{oidc.ClientInput{Name: "X", RedirectURIs: "https://a.example/cb", Public: true, Service: true}, oidc.ErrPublicService},
		{oidc.ClientInput{Name: "X", RedirectURIs: "https://a.example/cb", HomeURL: "http://evil.example"}, oidc.ErrHomeURL},
		{oidc.ClientInput{Name: "X", RedirectURIs: "http://app.example.com/cb"}, oidc.ErrRedirectURI + ": http://app.example.com/cb"},
		{oidc.ClientInput{Name: "X", RedirectURIs: "https://app.example.com/cb#frag"}, oidc.ErrRedirectURI + ": https://app.example.com/cb#frag"},
		{oidc.ClientInput{Name: "X", RedirectURIs: "javascript:alert(1)"}, oidc.ErrRedirectURI + ": javascript:alert(1)"},
		{oidc.ClientInput{Name: "X", RedirectURIs: "https://u:p@app.example.com/cb"}, oidc.ErrRedirectURI + ": https://u:p@app.example.com/cb"},
		{oidc.ClientInput{Name: "X", RedirectURIs: "http://evil.example/" + long}, oidc.ErrRedirectURI + oidc.FormError(": "+("http://evil.example/" + long)[:200])},
		{oidc.ClientInput{Name: "X", RedirectURIs: strings.Repeat("https://a.example/cb\n", 21)}, oidc.ErrTooManyRedirects},
		{oidc.ClientInput{Name: "X", RedirectURIs: "\n \n"}, oidc.ErrNoRedirectURI},
	} {
		_, _, err := s.CreateClient(ctx, tc.in, oidc.Actor{})
		var fe oidc.FormError
		if !errors.As(err, &fe) || fe != tc.want {
			t.Errorf("CreateClient(%+v) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if n := len(events(t, st, store.EventOAuth2ClientCreated)); n != 0 {
		t.Fatalf("%d clients created from bad forms", n)
	}

	// Loopback http, trimmed lines; a service client needs no redirect URI; public has no secret.
	cl, secret, err := s.CreateClient(ctx, oidc.ClientInput{Name: " CLI ", RedirectURIs: " http://127.0.0.1/cb \n\nhttp://[::1]/cb", Public: true}, oidc.Actor{IP: "192.0.2.1"})
	if err != nil || secret != "" || cl.Name != "CLI" || len(cl.RedirectURIs) != 2 || cl.RedirectURIs[0] != "http://127.0.0.1/cb" {
		t.Errorf("public client %+v, secret %q, err %v", cl, secret, err)
	}
	svc, secret, err := s.CreateClient(ctx, oidc.ClientInput{Name: "API", Service: true}, oidc.Actor{})
	if err != nil || secret == "" || !svc.Service || !svc.Confidential {
		t.Errorf("service client %+v, secret %q, err %v", svc, secret, err)
	}
	if evs := events(t, st, store.EventOAuth2ClientCreated); len(evs) != 2 || evs[len(evs)-1].IP != "192.0.2.1" {
		t.Errorf("oauth2_client_created events %+v", evs)
	}
}

// Turning a public client confidential gives it a secret, once; regenerating a public client's
// secret is refused; a removed client is gone.
func TestClientLifecycle(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	cl, _, err := s.CreateClient(ctx, oidc.ClientInput{Name: "CLI", RedirectURIs: "http://localhost/cb", Public: true}, oidc.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RegenerateSecret(ctx, cl.ClientID, oidc.Actor{}); !errors.Is(err, oidc.ErrPublicClient) {
		t.Errorf("regenerating a public client's secret: %v, want ErrPublicClient", err)
	}
	in := oidc.ClientInput{Name: "CLI", RedirectURIs: "http://localhost/cb"}
	if _, secret, err := s.UpdateClient(ctx, cl.ClientID, in, oidc.Actor{}); err != nil || secret == "" {
		t.Errorf("turned confidential: secret %q, err %v", secret, err)
	}
	if _, secret, err := s.UpdateClient(ctx, cl.ClientID, in, oidc.Actor{}); err != nil || secret != "" {
		t.Errorf("saved again: secret %q (want none), err %v", secret, err)
	}
	if err := s.DeleteClient(ctx, cl.ClientID, oidc.Actor{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client(ctx, cl.ClientID); !errors.Is(err, oidc.ErrClientNotFound) {
		t.Errorf("a removed client: %v, want ErrClientNotFound", err)
	}
	if _, _, err := s.UpdateClient(ctx, cl.ClientID, in, oidc.Actor{}); !errors.Is(err, oidc.ErrClientNotFound) {
		t.Errorf("editing a removed client: %v, want ErrClientNotFound", err)
	}
}

// A rotation makes the new key the one that signs and logs its kid.
func TestRotateSigningKey(t *testing.T) {
	s, st := newService(t)
	ctx := context.Background()
	u, _ := url.Parse("https://id.example.com")
	if _, err := s.NewProvider(ctx, u); err != nil {
		t.Fatal(err)
	}
	old, err := s.ActiveSigningKey(ctx)
	if err != nil || old.KID == "" {
		t.Fatalf("active key %+v, %v", old, err)
	}
	if err := s.RotateSigningKey(ctx, oidc.Actor{}); err != nil {
		t.Fatal(err)
	}
	cur, err := s.ActiveSigningKey(ctx)
	if err != nil || cur.KID == old.KID {
		t.Fatalf("after rotation the active key is %q (was %q): %v", cur.KID, old.KID, err)
	}
	evs := events(t, st, store.EventOIDCSigningKeyRotated)
	if len(evs) != 1 || evs[0].Details["kid"] != cur.KID {
		t.Errorf("oidc_signing_key_rotated events %+v, want one with kid %s", evs, cur.KID)
	}
}

// RevokeUserTokens logs oauth2_user_tokens_revoked with the count and the caller's reason.
func TestRevokeUserTokens(t *testing.T) {
	_, st := newService(t)
	ctx := context.Background()
	now := time.Now()
	u, err := st.CreateUser(ctx, store.User{Email: "ann@example.com", Name: "Ann", Role: store.RoleUser}, now)
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		return oidc.RevokeUserTokens(ctx, tx, store.Event{At: now, UserID: &u.ID, Details: map[string]any{"reason": "sign_out_everywhere"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := events(t, st, store.EventOAuth2UserTokensRevoked)
	if len(evs) != 1 || evs[0].Details["reason"] != "sign_out_everywhere" || evs[0].Details["tokens"] != float64(0) {
		t.Errorf("oauth2_user_tokens_revoked events %+v", evs)
	}
}
