package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func newSAMLSP(t *testing.T, s *store.Store, entityID string) store.SAMLServiceProvider {
	t.Helper()
	sp, err := s.CreateSAMLServiceProvider(context.Background(), store.SAMLServiceProvider{
		EntityID: entityID, Name: "App " + entityID, Metadata: "<EntityDescriptor/>", ACSURL: "https://sp.example/acs", CreatedAt: t0,
	})
	if err != nil {
		t.Fatalf("CreateSAMLServiceProvider(%s): %v", entityID, err)
	}
	return sp
}

func TestSAMLServiceProviders(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := newSAMLSP(t, s, "https://a.example/metadata")
	b := newSAMLSP(t, s, "https://b.example/metadata")
	if _, err := s.CreateSAMLServiceProvider(ctx, store.SAMLServiceProvider{EntityID: a.EntityID, Name: "x", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second SP with entity ID %s: %v, want ErrConflict", a.EntityID, err)
	}
	b.EntityID = a.EntityID
	if err := s.UpdateSAMLServiceProvider(ctx, b); !errors.Is(err, store.ErrConflict) {
		t.Errorf("changing b's entity ID to a's: %v, want ErrConflict", err)
	}
	got, err := s.SAMLServiceProviderByEntityID(ctx, a.EntityID)
	if err != nil || got != a {
		t.Errorf("SAMLServiceProviderByEntityID = %+v, %v; want %+v", got, err, a)
	}
	if err := s.SetSAMLSPRequiredStrength(ctx, a.ID, "enhanced"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SAMLServiceProvider(ctx, a.ID); err != nil || got.RequiredAuthStrength != "enhanced" {
		t.Errorf("after SetSAMLSPRequiredStrength: %q, %v; want enhanced", got.RequiredAuthStrength, err)
	}
	if err := s.SetSAMLSPRequiredStrength(ctx, 999, "enhanced"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetSAMLSPRequiredStrength of nobody: %v, want ErrNotFound", err)
	}
	if _, err := s.SAMLServiceProviderByEntityID(ctx, "https://nobody.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown entity ID: %v, want ErrNotFound", err)
	}
	all, err := s.SAMLServiceProviders(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("SAMLServiceProviders: %d, %v; want 2", len(all), err)
	}
	if err := s.DeleteSAMLServiceProvider(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSAMLServiceProvider(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
}

func TestSAMLSigningKeys(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if keys, err := s.SAMLSigningKeys(ctx, t0); err != nil || len(keys) != 0 {
		t.Fatalf("SAMLSigningKeys before any: %d, %v; want none", len(keys), err)
	}
	first := store.SAMLSigningKey{KID: "first", Certificate: []byte("cert"), SealedKey: []byte("sealed"), CreatedAt: t0, ActivatesAt: t0}
	if err := s.CreateFirstSAMLSigningKey(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Only one first key, whatever its kid: a second start that raced the first uses the first's.
	if err := s.CreateFirstSAMLSigningKey(ctx, store.SAMLSigningKey{KID: "other", CreatedAt: t0, ActivatesAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second first key: %v, want ErrConflict", err)
	}
	// A rotated-in key: published now, signs an hour later; the first retires two hours later.
	next := store.SAMLSigningKey{KID: "next", Certificate: []byte("cert2"), SealedKey: []byte("sealed2"), CreatedAt: t0, ActivatesAt: t0.Add(time.Hour)}
	if err := s.AddSAMLSigningKey(ctx, next, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	kids := func(at time.Time) string {
		keys, err := s.SAMLSigningKeys(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range keys {
			out = append(out, k.KID)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{{t0, "next,first"}, {t0.Add(90 * time.Minute), "next,first"}, {t0.Add(2 * time.Hour), "next"}} {
		if got := kids(c.at); got != c.want {
			t.Errorf("keys at t0+%v: %s, want %s (the one activating last first)", c.at.Sub(t0), got, c.want)
		}
	}
	// Using the next key now: it signs at once, the others leave.
	third := store.SAMLSigningKey{KID: "third", Certificate: []byte("c3"), SealedKey: []byte("s3"), CreatedAt: t0.Add(3 * time.Hour), ActivatesAt: t0.Add(100 * time.Hour)}
	if err := s.AddSAMLSigningKey(ctx, third, t0.Add(101*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSAMLSigningKeyNow(ctx, "next", t0.Add(4*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("activating a key that signs already: %v, want ErrNotFound", err)
	}
	if err := s.ActivateSAMLSigningKeyNow(ctx, "third", t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := kids(t0.Add(4 * time.Hour)); got != "third" {
		t.Errorf("keys after using the next one now: %s, want third", got)
	}
}

func TestSAMLPendingRequests(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	sp := newSAMLSP(t, s, "https://a.example/metadata")
	hold := func(id string, at time.Time, max int) error {
		return s.HoldSAMLRequest(ctx, store.SAMLPendingRequest{
			IDHash: []byte(id), SPID: sp.ID, Binding: "redirect", SAMLRequest: "req-" + id, RelayState: "rs",
			CreatedAt: at, ExpiresAt: at.Add(15 * time.Minute),
		}, max)
	}
	if err := hold("one", t0, 2); err != nil {
		t.Fatal(err)
	}
	if err := hold("two", t0, 2); err != nil {
		t.Fatal(err)
	}
	if err := hold("three", t0, 2); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a third request over the cap of 2: %v, want ErrConflict", err)
	}
	// Peeking leaves it; taking it works once, even when two take at once.
	if p, err := s.SAMLRequest(ctx, []byte("one"), t0); err != nil || p.SAMLRequest != "req-one" || p.RelayState != "rs" || p.SPID != sp.ID {
		t.Errorf("SAMLRequest = %+v, %v", p, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.TakeSAMLRequest(ctx, []byte("one"), t0); err == nil {
				mu.Lock()
				taken++
				mu.Unlock()
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("the request was taken %d times, want once", taken)
	}
	// Expired: neither peeked nor taken; the next hold clears it, making room.
	later := t0.Add(15 * time.Minute)
	if _, err := s.TakeSAMLRequest(ctx, []byte("two"), later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("taking an expired request: %v, want ErrNotFound", err)
	}
	if err := hold("four", later, 1); err != nil {
		t.Errorf("holding after the others expired: %v", err)
	}
	// Removing the SP drops its requests.
	if err := s.DeleteSAMLServiceProvider(ctx, sp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SAMLRequest(ctx, []byte("four"), later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a request of a removed SP: %v, want ErrNotFound", err)
	}
}

func TestSetSignInReturnTo(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	newSignIn(t, s, "si", t0.Add(time.Hour))
	if err := s.SetSignInReturnTo(ctx, []byte("si"), "/saml/continue/abc"); err != nil {
		t.Fatal(err)
	}
	got, err := s.SignInByHash(ctx, []byte("si"), t0)
	if err != nil || got.ReturnTo != "/saml/continue/abc" {
		t.Errorf("ReturnTo %q, %v", got.ReturnTo, err)
	}
	if err := s.SetSignInReturnTo(ctx, []byte("gone"), "/x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a sign-in that does not exist: %v, want ErrNotFound", err)
	}
}
