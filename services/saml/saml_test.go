package saml_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

// now is the test's fixed clock.
var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// newService is a service on a fresh database, and that database.
func newService(t *testing.T) (*saml.Service, *store.Store, auth.Keys) {
	t.Helper()
	st := storetest.Open(t)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	keys := auth.NewKeys(secret)
	return serviceOn(st, keys), st, keys
}

// serviceOn is another service (another process, say) on the same database.
func serviceOn(st *store.Store, keys auth.Keys) *saml.Service {
	base, _ := url.Parse("https://id.example.test")
	return saml.New(saml.Config{BaseURL: base, Store: st, Keys: keys,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
}

// testSP is a crewjam service provider for the service's identity provider.
func testSP(t *testing.T, s *saml.Service) *crewjam.ServiceProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp.example.test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	md, err := s.Metadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var idp crewjam.EntityDescriptor
	if err := xml.Unmarshal(md, &idp); err != nil {
		t.Fatal(err)
	}
	mdURL, _ := url.Parse("http://sp.example.test/saml/metadata")
	acsURL, _ := url.Parse("https://sp.example.test/saml/acs")
	return &crewjam.ServiceProvider{Key: key, Certificate: cert, MetadataURL: *mdURL, AcsURL: *acsURL, IDPMetadata: &idp}
}

// register registers sp with the service.
func register(t *testing.T, s *saml.Service, sp *crewjam.ServiceProvider) store.SAMLServiceProvider {
	t.Helper()
	md, err := xml.Marshal(sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := s.CreateServiceProvider(context.Background(), 1, store.Origin{IP: "192.0.2.1"},
		saml.SPInput{Name: "Wiki", Metadata: saml.MetadataInput{Data: md}})
	if err != nil {
		t.Fatalf("CreateServiceProvider: %v", err)
	}
	return reg
}

// inbound is an HTTP-Redirect AuthnRequest from sp, made by sp's own code.
func inbound(t *testing.T, sp *crewjam.ServiceProvider) saml.Inbound {
	t.Helper()
	saved := crewjam.TimeNow
	crewjam.TimeNow = func() time.Time { return now }
	defer func() { crewjam.TimeNow = saved }()
	u, err := sp.MakeRedirectAuthenticationRequest("relay")
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	return saml.Inbound{Binding: saml.BindingRedirect, SAMLRequest: q.Get("SAMLRequest"), RelayState: q.Get("RelayState"), IP: "192.0.2.7"}
}

// Loads that overlap make one key; another service on the same database uses that key too.
func TestKeyLoadedOnce(t *testing.T) {
	s, st, keys := newService(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- s.Warm(context.Background()) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Warm: %v", err)
		}
	}
	stored, err := st.SAMLSigningKeys(context.Background(), time.Now())
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored keys: %d, %v; want one", len(stored), err)
	}
	cert := base64.StdEncoding.EncodeToString(stored[0].Certificate)
	for name, svc := range map[string]*saml.Service{"the same service": s, "another service": serviceOn(st, keys)} {
		md, err := svc.Metadata(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(md), cert) {
			t.Errorf("%s's metadata does not carry the stored certificate", name)
		}
	}
}

// A request is held once, found while it waits, taken once, and answered for a session only.
func TestHoldAndTakeOnce(t *testing.T) {
	s, st, _ := newService(t)
	sp := testSP(t, s)
	register(t, s, sp)
	req, err := s.ParseRequest(context.Background(), inbound(t, sp))
	if err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	id, err := s.Hold(context.Background(), req)
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	if err := s.Held(context.Background(), id); err != nil {
		t.Errorf("Held after Hold: %v", err)
	}
	if _, err := s.TakeHeld(context.Background(), id, "192.0.2.7"); err != nil {
		t.Fatalf("TakeHeld: %v", err)
	}
	for name, err := range map[string]error{
		"Held after TakeHeld":    s.Held(context.Background(), id),
		"Held of an unknown id":  s.Held(context.Background(), "nonsense"),
		"TakeHeld a second time": func() error { _, err := s.TakeHeld(context.Background(), id, ""); return err }(),
	} {
		if !errors.Is(err, saml.ErrExpired) {
			t.Errorf("%s: %v, want ErrExpired", name, err)
		}
	}
	// No session behind the SignedIn: nothing issued, no event. With one: the response and
	// saml_assertion_issued.
	ctx := context.Background()
	u, err := st.CreateUser(ctx, store.User{Email: "grace@example.test", Name: "Grace", Role: store.RoleUser}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Issue(ctx, req, saml.SignedIn{User: u, SessionIDHash: []byte("none")}, store.Origin{}); err == nil {
		t.Error("Issue without a session issued a response")
	}
	if evs := issued(t, st); len(evs) != 0 {
		t.Errorf("an assertion was recorded without a session: %+v", evs)
	}
	if err := st.CreateSession(ctx, store.Session{IDHash: []byte("sess"), UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	post, err := s.Issue(ctx, req, saml.SignedIn{User: u, SessionIDHash: []byte("sess")}, store.Origin{IP: "192.0.2.7", UserAgent: "test"})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if post.URL != "https://sp.example.test/saml/acs" || post.Origin != "https://sp.example.test" || post.RelayState != "relay" || post.SAMLResponse == "" || post.SPName != "Wiki" {
		t.Errorf("Issue: %+v", post)
	}
	evs := issued(t, st)
	if len(evs) != 1 || evs[0].Details["initiated"] != "sp" || evs[0].IP != "192.0.2.7" || evs[0].UserID == nil || *evs[0].UserID != u.ID {
		t.Errorf("saml_assertion_issued events: %+v", evs)
	}
}

// issued is the saml_assertion_issued events.
func issued(t *testing.T, st *store.Store) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: store.EventSAMLAssertionIssued})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// A request without an <Issuer> (crewjam's Validate dereferences it), or that is not an
// AuthnRequest at all, is unreadable: no panic.
func TestRequestWithoutIssuerIsUnreadable(t *testing.T) {
	s, _, _ := newService(t)
	noIssuer := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="id-1" Version="2.0" ` +
		`IssueInstant="` + now.Format(time.RFC3339) + `" AssertionConsumerServiceURL="https://sp.example.test/saml/acs"></samlp:AuthnRequest>`
	for name, doc := range map[string]string{"no issuer": noIssuer, "not an AuthnRequest": "<x/>", "not XML": "<x"} {
		in := saml.Inbound{Binding: saml.BindingPost, SAMLRequest: base64.StdEncoding.EncodeToString([]byte(doc))}
		if _, err := s.ParseRequest(context.Background(), in); !errors.Is(err, saml.ErrUnreadable) {
			t.Errorf("%s: %v, want ErrUnreadable", name, err)
		}
	}
}

// Metadata too large is refused in the words of how it came; the name is checked with it.
func TestServiceProviderInputProblems(t *testing.T) {
	s, _, _ := newService(t)
	big := make([]byte, saml.MaxMetadata+1)
	for i := range big {
		big[i] = 'x'
	}
	cases := []struct {
		name string
		in   saml.SPInput
		want []string
	}{
		{"file too large", saml.SPInput{Name: "Wiki", Metadata: saml.MetadataInput{Data: big, File: true}},
			[]string{"The file is larger than 256 KB; choose the metadata of one service provider."}},
		{"text too large", saml.SPInput{Name: "Wiki", Metadata: saml.MetadataInput{Data: big}},
			[]string{"The metadata is larger than 256 KB; paste the metadata of one service provider."}},
		{"empty file, no name", saml.SPInput{Name: "  ", Metadata: saml.MetadataInput{File: true}},
			[]string{"Enter a name of at most 100 characters.", "Paste the service provider's metadata XML or choose its file."}},
	}
	for _, tc := range cases {
		_, err := s.CreateServiceProvider(context.Background(), 1, store.Origin{}, tc.in)
		var p saml.Problems
		if !errors.As(err, &p) || strings.Join(p, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %v, want problems %q", tc.name, err, tc.want)
		}
	}
}
