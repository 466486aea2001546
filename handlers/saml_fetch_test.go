package handlers_test

// Registering a service provider from its metadata URL, and "Refresh metadata" later. The test
// SP's metadata is served by a loopback server, which --saml-metadata-allowed-hosts allows
// (envOptions.samlAllowedHosts); without it the fetch is refused.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/weftid/weftid/store"
)

// metadataServer serves a service provider's metadata at /saml/metadata, replaceable.
type metadataServer struct {
	*httptest.Server
	mu      sync.Mutex
	doc     []byte
	fetches int
}

func serveMetadata(t *testing.T, doc []byte) *metadataServer {
	t.Helper()
	s := &metadataServer{doc: doc}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.URL.Path != "/saml/metadata" {
			http.NotFound(w, r)
			return
		}
		s.fetches++
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(s.doc)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *metadataServer) set(doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doc = doc
}

func (s *metadataServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

func TestSAMLRegisterFromMetadataURL(t *testing.T) {
	e := newEnvWith(t, envOptions{samlAllowedHosts: []string{"127.0.0.1"}})
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	srv := serveMetadata(t, sp.metadata)
	mdURL := srv.URL + "/saml/metadata"

	page := admin.get("/applications/saml/new").Body
	if !strings.Contains(page, `name="metadata_url"`) || !strings.Contains(page, `<label for="metadata_url"`) {
		t.Fatal("the registration form has no labelled metadata_url field")
	}
	r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki", "metadata_url": mdURL}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("registering from the URL: %s (alerts %q)", r, alerts(r.Body))
	}
	path, _, _ := strings.Cut(r.Location, "?")
	ev := e.lastEvent("saml_sp_created")
	if ev.Details["metadata_url"] != mdURL || ev.Details["entity_id"] != sp.m.ServiceProvider.Metadata().EntityID {
		t.Errorf("saml_sp_created details %v", ev.Details)
	}
	page = admin.get(path).Body
	if !strings.Contains(page, mdURL) || !strings.Contains(page, `action="`+path+`/refresh"`) {
		t.Errorf("the SP's page does not show its metadata URL and Refresh")
	}
	// The SP signs users in as any other.
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	checkAssertion(t, sp.signInAt(c), u)

	// Refresh: unchanged, nothing written; changed (a new ACS), saved and recorded as an edit.
	updates := len(e.eventsOf("saml_sp_updated"))
	expectRedirect(t, admin.post(path+"/refresh", nil), path+"?notice=unchanged")
	if n := len(e.eventsOf("saml_sp_updated")); n != updates {
		t.Errorf("an unchanged refresh wrote %d events", n-updates)
	}
	moved := strings.ReplaceAll(string(sp.metadata), "https://sp.example.test/saml/acs", "https://sp.example.test/saml/acs2")
	srv.set([]byte(moved))
	expectRedirect(t, admin.post(path+"/refresh", nil), path+"?notice=refreshed")
	ev = e.lastEvent("saml_sp_updated")
	if fmt.Sprint(ev.Details["changed"]) != "[metadata]" || ev.Details["metadata_url"] != mdURL {
		t.Errorf("saml_sp_updated details %v", ev.Details)
	}
	if !strings.Contains(admin.get(path).Body, "https://sp.example.test/saml/acs2") {
		t.Error("the SP's page does not show the refreshed ACS")
	}
	// The URL now serves no metadata: the refresh says why and keeps what was there.
	srv.set([]byte("<html>moved</html>"))
	r = admin.post(path+"/refresh", nil)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	if a := strings.Join(alerts(r.Body), " "); !strings.Contains(a, "not usable metadata") {
		t.Errorf("a refresh from a URL without metadata says %q", a)
	}

	// Pasted metadata replaces the URL: nothing to refresh any more.
	r = admin.postMultipart(path, map[string]string{"name": "Wiki", "metadata": string(sp.metadata)}, nil)
	expectRedirect(t, r, path+"?notice=saved")
	if strings.Contains(admin.get(path).Body, "/refresh") {
		t.Error("Refresh is offered for pasted metadata")
	}
	expectStatus(t, admin.post(path+"/refresh", nil), http.StatusConflict)
	if n := srv.count(); n != 4 {
		t.Errorf("the metadata was fetched %d times, want 4 (registration, three refreshes)", n)
	}
}

func TestSAMLMetadataURLRefused(t *testing.T) {
	e := newEnv(t) // no host allowed: the loopback server is off limits
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	srv := serveMetadata(t, sp.metadata)
	for _, c := range []struct {
		fields map[string]string
		want   string
	}{
		{map[string]string{"metadata_url": srv.URL + "/saml/metadata"}, "a loopback, private, link-local or otherwise non-public address"},
		{map[string]string{"metadata_url": "file:///etc/passwd"}, "must start with https:// or http://"},
		{map[string]string{"metadata_url": srv.URL + "/saml/metadata", "metadata": string(sp.metadata)}, "Give the metadata one way"},
	} {
		c.fields["name"] = "Wiki"
		r := admin.postMultipart("/applications/saml", c.fields, nil)
		expectStatus(t, r, http.StatusUnprocessableEntity)
		if a := strings.Join(alerts(r.Body), " "); !strings.Contains(a, c.want) {
			t.Errorf("%v: %q, want %q", c.fields, a, c.want)
		}
		if !strings.Contains(r.Body, `value="`+c.fields["metadata_url"]+`"`) {
			t.Errorf("the form does not show the URL again")
		}
	}
	if n := srv.count(); n != 0 {
		t.Errorf("the refused URL was fetched %d times", n)
	}
	if sps, _ := e.store.SAMLServiceProviders(t.Context()); len(sps) != 0 {
		t.Errorf("%d service providers registered", len(sps))
	}
}

// An admin's fetches are bounded: 30 an hour.
func TestSAMLMetadataFetchThrottled(t *testing.T) {
	e := newEnvWith(t, envOptions{samlAllowedHosts: []string{"127.0.0.1"}})
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	srv := serveMetadata(t, []byte("not metadata"))
	for i := 0; i < 30; i++ {
		r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki", "metadata_url": srv.URL + "/saml/metadata"}, nil)
		if a := strings.Join(alerts(r.Body), " "); !strings.Contains(a, "not usable metadata") {
			t.Fatalf("fetch %d: %q", i+1, a)
		}
	}
	r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki", "metadata_url": srv.URL + "/saml/metadata"}, nil)
	if a := strings.Join(alerts(r.Body), " "); !strings.Contains(a, "fetched metadata 30 times in the last hour") {
		t.Errorf("the 31st fetch: %q", a)
	}
	if n := srv.count(); n != 30 {
		t.Errorf("%d fetches reached the server, want 30", n)
	}
}
