package store_test

import (
	"context"
	"errors"
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

func TestSAMLKeyOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	if _, err := s.SAMLKey(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SAMLKey before any: %v, want ErrNotFound", err)
	}
	k := store.SAMLKey{Certificate: []byte("cert"), SealedKey: []byte("sealed"), CreatedAt: t0}
	if err := s.CreateSAMLKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSAMLKey(ctx, store.SAMLKey{Certificate: []byte("other"), SealedKey: []byte("other"), CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second key: %v, want ErrConflict", err)
	}
	got, err := s.SAMLKey(ctx)
	if err != nil || string(got.Certificate) != "cert" || string(got.SealedKey) != "sealed" {
		t.Errorf("SAMLKey = %+v, %v; want the first", got, err)
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
