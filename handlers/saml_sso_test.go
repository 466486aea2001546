package handlers_test

// Tests of SAML sign-on against the real service provider of saml_harness_test.go: metadata,
// SP-initiated (both bindings) and IdP-initiated sign-on, what the assertion says, and the
// requests refused.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/weftid/weftid/store"
)

func TestSAMLMetadata(t *testing.T) {
	e := newEnv(t)
	md, r := e.idpMetadata()
	if ct := r.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if md.EntityID != samlMetadataURL {
		t.Errorf("entityID %q, want %q", md.EntityID, samlMetadataURL)
	}
	if len(md.IDPSSODescriptors) != 1 {
		t.Fatalf("%d IDPSSODescriptors, want 1", len(md.IDPSSODescriptors))
	}
	d := md.IDPSSODescriptors[0]
	bindings := map[string]string{}
	for _, s := range d.SingleSignOnServices {
		bindings[s.Binding] = s.Location
	}
	for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		if bindings[b] != samlSSOURL {
			t.Errorf("SSO for %s at %q, want %q", b, bindings[b], samlSSOURL)
		}
	}
	if len(d.NameIDFormats) != 1 || string(d.NameIDFormats[0]) != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Errorf("NameID formats %v, want emailAddress", d.NameIDFormats)
	}
	var signing *x509.Certificate
	for _, kd := range d.KeyDescriptors {
		if kd.Use == "signing" {
			der, err := base64.StdEncoding.DecodeString(kd.KeyInfo.X509Data.X509Certificates[0].Data)
			if err != nil {
				t.Fatal(err)
			}
			if signing, err = x509.ParseCertificate(der); err != nil {
				t.Fatalf("signing certificate: %v", err)
			}
		}
	}
	if signing == nil {
		t.Fatal("the metadata has no signing certificate")
	}
	if _, ok := signing.PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("signing key %T, want RSA", signing.PublicKey)
	}

	// The key is stored once, its private half sealed: neither a PKCS #8 key nor containing one.
	keys, err := e.store.SAMLSigningKeys(context.Background(), e.clock.Now())
	if err != nil || len(keys) != 1 {
		t.Fatalf("stored keys: %d, %v; want one", len(keys), err)
	}
	k := keys[0]
	if !bytes.Equal(k.Certificate, signing.Raw) {
		t.Error("the metadata's certificate is not the stored one")
	}
	if _, err := x509.ParsePKCS8PrivateKey(k.SealedKey); err == nil {
		t.Error("the private key is stored in the clear")
	}
	// The same metadata again: no new key.
	if _, again := e.idpMetadata(); !strings.Contains(again.Body, base64.StdEncoding.EncodeToString(k.Certificate)) {
		t.Error("the second metadata has another certificate")
	}
}

func TestSAMLSPInitiatedBaseline(t *testing.T) {
	for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			e, sp, u, spID := samlSetup(t)
			c := e.newClient()
			path, form, spCookies := sp.start(binding)

			// No session: the request is held and the browser goes to sign in; nothing issued.
			var r *response
			if form == nil {
				r = c.get(path)
			} else {
				r = c.postRaw(path, form, http.Header{"Origin": {"https://sp.example.test"}})
			}
			if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
				t.Fatalf("SSO without a session: %s, want 303 to /saml/continue/...", r)
			}
			cont := r.Location
			r = c.get(cont)
			expectRedirect(t, r, "/login")
			issuedNothing(t, r, "continuation before signing in")

			// Password and e-mail code: the sign-in ends at the continuation, which answers.
			c.startSignIn(u.Email, testPassword)
			r = c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
			expectRedirect(t, r, cont)
			r = c.get(cont)
			p := postPage(t, r)
			csp := r.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "form-action 'self' https://sp.example.test;") || !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("the response page's CSP %q does not allow posting to the SP, or allows more scripts", csp)
			}
			if strings.Contains(r.Body, "<script>") {
				t.Error("the response page has an inline script")
			}
			checkAssertion(t, sp.acs(p, spCookies), u)

			ev := e.lastEvent("saml_assertion_issued")
			checkEvent(t, ev, "saml_assertion_issued", u.ID, "")
			if ev.Details["entity_id"] != sp.m.ServiceProvider.Metadata().EntityID || ev.Details["initiated"] != "sp" || fmt.Sprint(ev.Details["sp_id"]) != fmt.Sprint(spID) {
				t.Errorf("saml_assertion_issued details %v", ev.Details)
			}

			// Used once: the continuation is gone.
			r = c.get(cont)
			expectStatus(t, r, http.StatusNotFound)
			issuedNothing(t, r, "the continuation a second time")

			// Signed in: a new request is answered at once (Redirect) or after the hop (POST).
			path, form, spCookies = sp.start(binding)
			if form == nil {
				r = c.get(path)
			} else {
				r = c.postRaw(path, form, nil)
				if r.Status != http.StatusSeeOther {
					t.Fatalf("POST SSO: %s", r)
				}
				r = c.get(r.Location)
			}
			checkAssertion(t, sp.acs(postPage(t, r), spCookies), u)
			if n := len(e.eventsOf("saml_assertion_issued")); n != 2 {
				t.Errorf("%d saml_assertion_issued events, want 2", n)
			}
		})
	}
}

func TestSAMLAssertionContent(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	q, _ := url.ParseQuery(path[strings.Index(path, "?")+1:])
	p := postPage(t, c.get(path))
	if p.Form.Get("RelayState") != q.Get("RelayState") {
		t.Errorf("RelayState %q, want %q", p.Form.Get("RelayState"), q.Get("RelayState"))
	}
	resp, err := base64.StdEncoding.DecodeString(p.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed saml.Response
	if err := xml.Unmarshal(resp, &parsed); err != nil {
		t.Fatal(err)
	}
	a := sp.assertion(p, parsed.InResponseTo)
	if a.Subject.NameID.Value != u.Email || a.Subject.NameID.Format != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Errorf("NameID %q (%s), want %q in emailAddress format", a.Subject.NameID.Value, a.Subject.NameID.Format, u.Email)
	}
	if a.Issuer.Value != samlMetadataURL {
		t.Errorf("issuer %q", a.Issuer.Value)
	}
	got := map[string][]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			for _, v := range at.Values {
				got[at.Name] = append(got[at.Name], v.Value)
			}
		}
	}
	want := map[string][]string{"email": {u.Email}, "name": {u.Name}, "role": {"user"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("attributes %v, want exactly %v", got, want)
	}
	// The assertion is signed (and so is the response, and the assertion is encrypted to the
	// SP's key from its metadata): a changed response is refused.
	if a.Signature == nil {
		t.Error("the assertion is not signed")
	}
	if parsed.Signature == nil || parsed.EncryptedAssertion == nil {
		t.Errorf("the response is not signed (%v) or its assertion not encrypted (%v)", parsed.Signature != nil, parsed.EncryptedAssertion != nil)
	}
	tampered := bytes.Replace(resp, []byte(`ID="`+parsed.ID+`"`), []byte(`ID="id-tampered"`), 1)
	if bytes.Equal(tampered, resp) {
		t.Fatal("the response's ID was not found to change")
	}
	p.Form.Set("SAMLResponse", base64.StdEncoding.EncodeToString(tampered))
	r := httptest.NewRequest(http.MethodPost, p.Action, strings.NewReader(p.Form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ParseForm()
	if _, err := sp.m.ServiceProvider.ParseResponse(r, []string{parsed.InResponseTo}); err == nil {
		t.Error("the SP accepted a response whose NameID was changed")
	}
}

func TestSAMLIdPInitiated(t *testing.T) {
	e, sp, u, spID := samlSetup(t)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	dash := c.get("/dashboard")
	expectStatus(t, dash, http.StatusOK)
	action := fmt.Sprintf(`action="/saml/idp/%d"`, spID)
	if !strings.Contains(dash.Body, action) || !strings.Contains(dash.Body, "Wiki") {
		t.Fatalf("the dashboard does not offer to open Wiki:\n%s", dash)
	}
	// Without the CSRF token nothing is issued.
	r := c.postRaw(fmt.Sprintf("/saml/idp/%d", spID), url.Values{}, nil)
	expectStatus(t, r, http.StatusForbidden)
	issuedNothing(t, r, "IdP-initiated without CSRF")
	r = c.post(fmt.Sprintf("/saml/idp/%d", spID), nil)
	p := postPage(t, r)
	checkAssertion(t, sp.acs(p, nil), u)
	if ev := e.lastEvent("saml_assertion_issued"); ev.Details["initiated"] != "idp" {
		t.Errorf("details %v, want initiated idp", ev.Details)
	}
	// Signed out: the control leads to sign in, not to an assertion.
	anon := e.newClient()
	expectStatus(t, anon.get("/login"), http.StatusOK)
	r = anon.post(fmt.Sprintf("/saml/idp/%d", spID), nil)
	expectRedirect(t, r, "/login")
	// An unknown one.
	expectStatus(t, c.post("/saml/idp/999", nil), http.StatusNotFound)
}

func TestSAMLRequestRefusals(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	for name, path := range map[string]string{
		"no request":   "/saml/sso",
		"not base64":   "/saml/sso?SAMLRequest=%25%25%25",
		"not deflated": "/saml/sso?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("<x/>"))),
	} {
		r := c.get(path)
		expectStatus(t, r, http.StatusBadRequest)
		issuedNothing(t, r, name)
	}
	// Posted: a document that is not an AuthnRequest, or one without an <Issuer> (both used to
	// panic, answering 500).
	noIssuer := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="id-1" Version="2.0" IssueInstant="` +
		e.clock.Now().UTC().Format(time.RFC3339) + `"></samlp:AuthnRequest>`
	for name, doc := range map[string]string{"not an AuthnRequest (POST)": "<x/>", "no issuer (POST)": noIssuer} {
		r := c.postRaw("/saml/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(doc))}}, nil)
		expectStatus(t, r, http.StatusBadRequest)
		expectAlert(t, r, "The application's sign-in request could not be read. Go back to the application and try again.")
		issuedNothing(t, r, name)
	}
	// A service provider nobody registered.
	other := e.newTestSP("other.example.test")
	path, _, _ := other.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	expectStatus(t, r, http.StatusBadRequest)
	expectAlert(t, r, "This application is not registered with weftid. Ask an administrator to register it under Applications > SAML.")
	// A registered SP asking for its answer at an ACS its metadata does not list.
	moved := e.newTestSP("moved.example.test")
	_, admin := e.signedIn("root@example.com", "Root", store.RoleAdmin)
	registerSP(t, admin, "Moved", bytes.ReplaceAll(moved.metadata, []byte("https://moved.example.test/saml/acs"), []byte("https://new.moved.example.test/saml/acs")), false)
	path, _, _ = moved.start(saml.HTTPRedirectBinding)
	r = c.get(path)
	expectStatus(t, r, http.StatusBadRequest)
	expectAlert(t, r, "The application asked for its answer at an address its registered metadata does not list. An administrator can replace its metadata under Applications > SAML.")
	// A held request expires with the sign-in.
	anon := e.newClient()
	path, _, _ = sp.start(saml.HTTPRedirectBinding)
	cont := anon.get(path).Location
	e.clock.Advance(16 * time.Minute)
	r = anon.get(cont)
	expectStatus(t, r, http.StatusNotFound)
	issuedNothing(t, r, "expired continuation")
	// An id nobody was given.
	expectStatus(t, c.get("/saml/continue/nonsense"), http.StatusNotFound)
}
