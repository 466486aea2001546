package handlers_test

// Rotating the SAML signing key: a new key is published at once and signs after the overlap, so
// a service provider that refreshes weftid's metadata in between never sees an unknown key.

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	samlsvc "github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/store"
)

// metadataCerts are the signing certificates (base64) of weftid's metadata, in order.
func (e *env) metadataCerts() []string {
	e.t.Helper()
	md, _ := e.idpMetadata()
	var out []string
	for _, kd := range md.IDPSSODescriptors[0].KeyDescriptors {
		if kd.Use != "signing" {
			e.t.Errorf("the metadata has a key for %q; weftid decrypts nothing", kd.Use)
			continue
		}
		out = append(out, kd.KeyInfo.X509Data.X509Certificates[0].Data)
	}
	return out
}

// signedWith is the certificate (base64) in the signature of a response.
func signedWith(t *testing.T, p samlPost) string {
	t.Helper()
	doc := etree.NewDocument()
	raw, err := base64.StdEncoding.DecodeString(p.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	el := doc.FindElement("/Response/Signature/KeyInfo/X509Data/X509Certificate")
	if el == nil {
		t.Fatal("the response's signature names no certificate")
	}
	return strings.TrimSpace(el.Text())
}

// idpInitiated is an IdP-initiated response to the SP spID for the signed-in client.
func idpInitiated(t *testing.T, c *client, spID int64) samlPost {
	t.Helper()
	return postPage(t, c.post(fmt.Sprintf("/saml/idp/%d", spID), nil))
}

// refresh makes the SP fetch weftid's metadata again.
func (sp *testSP) refresh(e *env) {
	sp.t.Helper()
	md, _ := e.idpMetadata()
	sp.m.ServiceProvider.IDPMetadata = md
}

// verifies reports whether the SP accepts an IdP-initiated response (its own parser: signature
// against the certificates of the metadata it holds, times, audience).
func (sp *testSP) verifies(p samlPost) error {
	r, _ := http.NewRequest(http.MethodPost, p.Action, strings.NewReader(p.Form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		return err
	}
	_, err := sp.m.ServiceProvider.ParseResponse(r, nil)
	if ie, ok := err.(*saml.InvalidResponseError); ok {
		err = ie.PrivateErr
	}
	return err
}

// useTestClockAtSPs makes the service providers read the time from the test's clock (the
// rotation is days long), until the test ends.
func useTestClockAtSPs(t *testing.T, e *env) {
	saved := saml.TimeNow
	saml.TimeNow = e.clock.Now
	t.Cleanup(func() { saml.TimeNow = saved })
}

func TestSAMLKeyRotation(t *testing.T) {
	e := newEnv(t)
	root, superAdmin := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	refreshing := e.newTestSP("wiki.example.test")
	stale := e.newTestSP("chat.example.test")
	wikiID := registerSP(t, admin, "Wiki", refreshing.metadata, false)
	chatID := registerSP(t, admin, "Chat", stale.metadata, false)
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	useTestClockAtSPs(t, e)
	before := e.metadataCerts()
	if len(before) != 1 {
		t.Fatalf("%d signing keys before rotating, want 1", len(before))
	}

	// Super admins see the keys and Rotate; admins see the keys only and may not rotate.
	page := superAdmin.get("/applications")
	if !strings.Contains(page.Body, `data-state="signing"`) || !strings.Contains(page.Body, `action="/applications/saml/rotate-key"`) {
		t.Fatalf("the Applications page does not offer super admins the SAML key and Rotate:\n%s", page.Body)
	}
	if p := admin.get("/applications").Body; !strings.Contains(p, `id="saml-keys"`) || strings.Contains(p, "rotate-key") {
		t.Error("an admin should see the SAML keys but not Rotate")
	}
	expectStatus(t, admin.post("/applications/saml/rotate-key", nil), http.StatusForbidden)
	expectStatus(t, superAdmin.postRaw("/applications/saml/rotate-key", nil, nil), http.StatusForbidden) // no CSRF token

	expectRedirect(t, superAdmin.post("/applications/saml/rotate-key", nil), "/applications?notice=saml_key_rotated")
	ev := e.lastEvent("saml_signing_key_rotated")
	if ev.ActorID == nil || *ev.ActorID != root.ID || ev.Details["kid"] == nil || ev.Details["signs_from"] != e.clock.Now().Add(samlsvc.KeyOverlap).UTC().Format(time.RFC3339) {
		t.Errorf("saml_signing_key_rotated by %v: %v", ev.ActorID, ev.Details)
	}

	// During the overlap both keys are published, the old one still first and still signing.
	during := e.metadataCerts()
	if len(during) != 2 || during[0] != before[0] {
		t.Fatalf("the metadata during the overlap lists %d keys (old first: %v), want the old and the new", len(during), during[0] == before[0])
	}
	next := during[1]
	page = superAdmin.get("/applications")
	if !strings.Contains(page.Body, `data-state="next"`) || !strings.Contains(page.Body, "/applications/saml/use-next-key") {
		t.Error("the page does not show the waiting key and \"Use the new key now\"")
	}
	expectStatus(t, superAdmin.post("/applications/saml/rotate-key", nil), http.StatusConflict)
	for name, sp := range map[string]*testSP{"refreshing": refreshing, "stale": stale} {
		id := map[string]int64{"refreshing": wikiID, "stale": chatID}[name]
		p := idpInitiated(t, c, id)
		if signedWith(t, p) != before[0] {
			t.Errorf("during the overlap a response is signed with another key than the old one")
		}
		if err := sp.verifies(p); err != nil {
			t.Errorf("the %s SP refuses a response during the overlap: %v", name, err)
		}
	}
	refreshing.refresh(e) // it refreshes its metadata meanwhile (the stale one does not)

	// After the overlap the new key signs: the SP that refreshed accepts, the stale one cannot.
	e.clock.Advance(samlsvc.KeyOverlap)
	if got := e.metadataCerts(); len(got) != 2 || got[0] != next {
		t.Errorf("after the switch the metadata lists %d keys, the new first: %v", len(got), got[0] == next)
	}
	p := idpInitiated(t, c, wikiID)
	if signedWith(t, p) != next {
		t.Fatal("after the overlap the response is not signed with the new key")
	}
	if err := refreshing.verifies(p); err != nil {
		t.Errorf("the SP that refreshed its metadata refuses the new key's response: %v", err)
	}
	if err := stale.verifies(idpInitiated(t, c, chatID)); err == nil {
		t.Error("an SP that never refreshed accepts a key it never saw: the test proves nothing")
	}

	// A day later the old key leaves the metadata.
	e.clock.Advance(samlsvc.KeyRetireAfter)
	if got := e.metadataCerts(); len(got) != 1 || got[0] != next {
		t.Errorf("after the retirement the metadata lists %d keys, want the new one only", len(got))
	}
}

func TestSAMLUseNextKeyNow(t *testing.T) {
	e := newEnv(t)
	_, superAdmin := e.signedIn("root@example.com", "Root", store.RoleSuperAdmin)
	sp := e.newTestSP("wiki.example.test")
	spID := registerSP(t, superAdmin, "Wiki", sp.metadata, false)
	superAdmin.get("/applications")
	expectStatus(t, superAdmin.post("/applications/saml/use-next-key", nil), http.StatusConflict) // none waits

	old := e.metadataCerts()[0]
	expectRedirect(t, superAdmin.post("/applications/saml/rotate-key", nil), "/applications?notice=saml_key_rotated")
	expectRedirect(t, superAdmin.post("/applications/saml/use-next-key", nil), "/applications?notice=saml_key_now")
	certs := e.metadataCerts()
	if len(certs) != 1 || certs[0] == old {
		t.Fatalf("after using the new key now the metadata lists %d keys (the old one: %v), want the new one only", len(certs), certs[0] == old)
	}
	if ev := e.lastEvent("saml_signing_key_rotated"); ev.Details["immediately"] != true {
		t.Errorf("saml_signing_key_rotated details %v", ev.Details)
	}
	c := superAdmin
	p := idpInitiated(t, c, spID)
	if signedWith(t, p) != certs[0] {
		t.Error("the response is not signed with the new key at once")
	}
	sp.refresh(e)
	if err := sp.verifies(p); err != nil {
		t.Errorf("the SP with fresh metadata refuses: %v", err)
	}
	if _, err := samlsp.ParseMetadata([]byte(c.get("/saml/metadata").Body)); err != nil {
		t.Error(err)
	}
}
