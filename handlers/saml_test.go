package handlers_test

// Tests of the SAML identity provider against a real crewjam/saml service provider (samlsp): its
// requests are made by the SP's own code, and its ACS (which verifies the signature with the
// certificate from our metadata) reads our responses.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/weftid/weftid/store"
)

const (
	samlMetadataURL = baseURL + "/saml/metadata"
	samlSSOURL      = baseURL + "/saml/sso"
)

// testSP is a samlsp service provider at http://HOST/, its endpoints called directly.
type testSP struct {
	t        *testing.T
	m        *samlsp.Middleware
	metadata []byte
}

// selfSigned makes an RSA key and a certificate for it.
func selfSigned(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// idpMetadata fetches and parses our metadata as an SP does.
func (e *env) idpMetadata() (*saml.EntityDescriptor, *response) {
	e.t.Helper()
	r := e.newClient().get("/saml/metadata")
	expectStatus(e.t, r, http.StatusOK)
	md, err := samlsp.ParseMetadata([]byte(r.Body))
	if err != nil {
		e.t.Fatalf("samlsp.ParseMetadata(our metadata): %v\n%s", err, r.Body)
	}
	return md, r
}

func (e *env) newTestSP(host string) *testSP {
	e.t.Helper()
	md, _ := e.idpMetadata()
	key, cert := selfSigned(e.t, host)
	root, _ := url.Parse("http://" + host + "/")
	m, err := samlsp.New(samlsp.Options{
		URL: *root, Key: key, Certificate: cert, IDPMetadata: md, AllowIDPInitiated: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	buf, err := xml.MarshalIndent(m.ServiceProvider.Metadata(), "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	return &testSP{t: e.t, m: m, metadata: buf}
}

// start is a visitor opening /app on the SP: it returns the path (with query) the SP sends the
// browser to on the IdP for HTTP-Redirect, or the form it posts for HTTP-POST, and the SP's
// cookies (the tracked request).
func (sp *testSP) start(binding string) (path string, form url.Values, cookies []*http.Cookie) {
	sp.t.Helper()
	sp.m.Binding = binding
	w := httptest.NewRecorder()
	sp.m.HandleStartAuthFlow(w, httptest.NewRequest(http.MethodGet, sp.m.ServiceProvider.AcsURL.ResolveReference(&url.URL{Path: "/app"}).String(), nil))
	res := w.Result()
	cookies = res.Cookies()
	if binding == saml.HTTPRedirectBinding {
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil || res.StatusCode != http.StatusFound || loc.Scheme+"://"+loc.Host+loc.Path != samlSSOURL {
			sp.t.Fatalf("SP start: %d to %q, want a redirect to %s", res.StatusCode, res.Header.Get("Location"), samlSSOURL)
		}
		return loc.RequestURI(), nil, cookies
	}
	body := w.Body.String()
	form = url.Values{}
	for _, name := range []string{"SAMLRequest", "RelayState"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			sp.t.Fatalf("SP start (POST): no %s in\n%s", name, body)
		}
		form.Set(name, html.UnescapeString(m[1]))
	}
	return "/saml/sso", form, cookies
}

// samlPost is the response page's form.
type samlPost struct {
	Action string
	Form   url.Values
}

var (
	samlFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)" data-saml-post>`)
	samlHidden     = regexp.MustCompile(`<input type="hidden" name="(SAMLResponse|RelayState)" value="([^"]*)">`)
)

// postPage reads the response page; the test fails if r is not one.
func postPage(t *testing.T, r *response) samlPost {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	m := samlFormAction.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no SAML response form:\n%s", r)
	}
	p := samlPost{Action: html.UnescapeString(m[1]), Form: url.Values{}}
	for _, h := range samlHidden.FindAllStringSubmatch(r.Body, -1) {
		p.Form.Set(h[1], html.UnescapeString(h[2]))
	}
	if p.Form.Get("SAMLResponse") == "" {
		t.Fatalf("the response form has no SAMLResponse:\n%s", r)
	}
	return p
}

// issuedNothing fails when r carries a SAML response.
func issuedNothing(t *testing.T, r *response, when string) {
	t.Helper()
	if strings.Contains(r.Body, "SAMLResponse") {
		t.Fatalf("%s: a SAML response was issued:\n%s", when, r)
	}
}

// acs posts the response to the SP's ACS with its cookies, as the browser does, and returns the
// session the SP made: its subject and attributes. The SP checks the signature, audience,
// destination, InResponseTo and times.
func (sp *testSP) acs(p samlPost, cookies []*http.Cookie) samlsp.JWTSessionClaims {
	sp.t.Helper()
	if p.Action != sp.m.ServiceProvider.AcsURL.String() {
		sp.t.Errorf("the response form posts to %q, want the SP's ACS %q", p.Action, sp.m.ServiceProvider.AcsURL.String())
	}
	r := httptest.NewRequest(http.MethodPost, p.Action, strings.NewReader(p.Form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	sp.m.ServeACS(w, r)
	res := w.Result()
	if res.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(res.Body)
		sp.t.Fatalf("the SP's ACS refused the response: %d %s", res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if c.Name == "token" {
			s, err := sp.m.Session.(samlsp.CookieSessionProvider).Codec.Decode(c.Value)
			if err != nil {
				sp.t.Fatal(err)
			}
			return s.(samlsp.JWTSessionClaims)
		}
	}
	sp.t.Fatalf("the SP set no session cookie")
	return samlsp.JWTSessionClaims{}
}

// assertion decodes the response and lets the SP's own parser check and read it.
func (sp *testSP) assertion(p samlPost, requestIDs ...string) *saml.Assertion {
	sp.t.Helper()
	r := httptest.NewRequest(http.MethodPost, p.Action, strings.NewReader(p.Form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := r.ParseForm(); err != nil {
		sp.t.Fatal(err)
	}
	a, err := sp.m.ServiceProvider.ParseResponse(r, requestIDs)
	if err != nil {
		if ie, ok := err.(*saml.InvalidResponseError); ok {
			err = ie.PrivateErr
		}
		sp.t.Fatalf("the SP's ParseResponse: %v", err)
	}
	return a
}

// registerSP registers the SP's metadata through the admin page and returns its id.
func registerSP(t *testing.T, admin *client, name string, metadata []byte, asFile bool) int64 {
	t.Helper()
	expectStatus(t, admin.get("/applications/saml/new"), http.StatusOK)
	fields := map[string]string{"name": name}
	var file []byte
	if asFile {
		file = metadata
	} else {
		fields["metadata"] = string(metadata)
	}
	r := admin.postMultipart("/applications/saml", fields, file)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/applications/saml/") {
		t.Fatalf("registering %s: %s (alerts %q)", name, r, alerts(r.Body))
	}
	idText, _, _ := strings.Cut(strings.TrimPrefix(r.Location, "/applications/saml/"), "?")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		t.Fatalf("registering %s: redirect to %q", name, r.Location)
	}
	return id
}

// postMultipart sends a multipart form with the _csrf token, and metadata_file if file != nil.
func (c *client) postMultipart(path string, fields map[string]string, file []byte) *response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("_csrf", c.token())
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("metadata_file", "sp-metadata.xml")
		if err != nil {
			c.t.Fatal(err)
		}
		fw.Write(file)
	}
	mw.Close()
	return c.do(http.MethodPost, path, &body, http.Header{"Content-Type": {mw.FormDataContentType()}})
}

// samlSetup is an env with an admin, a registered SP and a user.
func samlSetup(t *testing.T) (*env, *testSP, store.User, int64) {
	t.Helper()
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	id := registerSP(t, admin, "Wiki", sp.metadata, false)
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	return e, sp, u, id
}

// checkAssertion checks what the SP learns: the email as NameID (emailAddress) and the
// attributes email, name and role.
func checkAssertion(t *testing.T, claims samlsp.JWTSessionClaims, u store.User) {
	t.Helper()
	if claims.Subject != u.Email {
		t.Errorf("the SP's subject (NameID) is %q, want %q", claims.Subject, u.Email)
	}
	attrs := claims.GetAttributes()
	for name, want := range map[string]string{"email": u.Email, "name": u.Name, "role": string(u.Role)} {
		if got := attrs[name]; len(got) != 1 || got[0] != want {
			t.Errorf("attribute %s: got %q, want [%q]", name, got, want)
		}
	}
}

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
	k, err := e.store.SAMLKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
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
				r = c.postRaw(path, form, http.Header{"Origin": {"http://sp.example.test"}})
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
			if !strings.Contains(csp, "form-action 'self' http://sp.example.test;") || !strings.Contains(csp, "script-src 'self';") {
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

func TestSAMLGatedByEnrollment(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	e.setStrength("enhanced")
	c := e.toEnroll(u) // password and e-mail code done; enrollment pending; no session

	// The SSO URL (both bindings), and the continuation by GET and POST: nothing is issued,
	// the browser goes back to enrollment.
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("SSO while enrollment is pending: %s", r)
	}
	cont := r.Location
	for i := 0; i < 2; i++ {
		r = c.get(cont)
		expectRedirect(t, r, "/login/enroll")
		issuedNothing(t, r, "GET continuation while enrollment is pending")
		r = c.get(path) // replaying the SSO URL
		issuedNothing(t, r, "replaying the SSO URL while enrollment is pending")
		if r.Status == http.StatusSeeOther {
			issuedNothing(t, c.get(r.Location), "the replay's continuation")
		}
	}
	r = c.post(cont, nil)
	issuedNothing(t, r, "POST to the continuation while enrollment is pending")
	if r.Status == http.StatusOK {
		t.Errorf("POST to the continuation answered 200:\n%s", r)
	}
	_, postForm, _ := sp.start(saml.HTTPPostBinding)
	r = c.postRaw("/saml/sso", postForm, nil)
	issuedNothing(t, r, "POST binding while enrollment is pending")
	if r.Status == http.StatusSeeOther {
		r = c.get(r.Location)
		issuedNothing(t, r, "POST binding's continuation while enrollment is pending")
		expectRedirect(t, r, "/login/enroll")
	}
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d saml_assertion_issued events before enrollment", n)
	}
	noSession(t, c, "after the SSO attempts")

	// Enroll TOTP: the backup codes page continues to the newest held request... but the
	// tracked request the SP remembers is the first one; continue with the held one the sign-in
	// points at, which was made by the POST request above.
	enrollWithTOTP(t, e, c)
	page := c.get("/dashboard") // a session now
	expectStatus(t, page, http.StatusOK)
	// The first (Redirect) request still waits: its continuation answers now.
	p := postPage(t, c.get(cont))
	checkAssertion(t, sp.acs(p, spCookies), u)
	if n := len(e.eventsOf("saml_assertion_issued")); n != 1 {
		t.Errorf("%d saml_assertion_issued events after enrollment, want 1", n)
	}
}

func TestSAMLEnrollmentContinuesToRequest(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	e.setStrength("enhanced")
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	cont := r.Location
	expectRedirect(t, c.get(cont), "/login")
	c.startSignIn(u.Email, testPassword)
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/login/enroll")
	issuedNothing(t, c.get(cont), "continuation at enrollment")
	secret, _ := enrollTOTPPage(t, c, nil)
	r = c.post("/login/enroll/totp", url.Values{"code": {e.totpAt(secret, 0)}})
	expectStatus(t, r, http.StatusOK)
	// The backup codes page's way on is the continuation.
	if !strings.Contains(r.Body, `href="`+cont+`"`) {
		t.Fatalf("the backup codes page does not continue to %s:\n%s", cont, r)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)
}

func TestSAMLTOTPAndBackupSignInContinue(t *testing.T) {
	e, sp, _, _ := samlSetup(t)
	u, _, secret, codes := e.totpUser("hedy@example.com", "Hedy Lamarr")
	e.clock.Advance(30 * time.Second) // the set-up code is spent
	for _, method := range []string{"totp", "backup"} {
		c := e.newClient()
		path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
		cont := c.get(path).Location
		expectRedirect(t, c.get(cont), "/login")
		c.startSignIn(u.Email, testPassword)
		code := codes[0]
		if method == "totp" {
			code = e.totpAt(secret, 0)
		}
		expectRedirect(t, c.post("/login/verify", url.Values{"method": {method}, "code": {code}}), cont)
		checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)
		e.clock.Advance(30 * time.Second) // the next TOTP code
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
	// A service provider nobody registered.
	other := e.newTestSP("other.example.test")
	path, _, _ := other.start(saml.HTTPRedirectBinding)
	r := c.get(path)
	expectStatus(t, r, http.StatusBadRequest)
	expectAlert(t, r, "This application is not registered with weftid. Ask an administrator to register it under Applications > SAML.")
	// A registered SP asking for its answer at an ACS its metadata does not list.
	moved := e.newTestSP("moved.example.test")
	_, admin := e.signedIn("root@example.com", "Root", store.RoleAdmin)
	registerSP(t, admin, "Moved", bytes.ReplaceAll(moved.metadata, []byte("http://moved.example.test/saml/acs"), []byte("https://new.moved.example.test/saml/acs")), false)
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

func TestSAMLServiceProviderPages(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	md := string(sp.metadata)
	acs := sp.m.ServiceProvider.AcsURL.String()

	cases := []struct {
		name, field, metadata, want string
	}{
		{"empty", "Wiki", "", "Paste the service provider's metadata XML or choose its file."},
		{"no name", "", md, "Enter a name of at most 100 characters."},
		{"not xml", "Wiki", "hello", "The metadata is not well-formed XML: "},
		{"idp metadata", "Wiki", "", "The metadata has no SPSSODescriptor: it does not describe a SAML service provider."},
		{"no entity id", "Wiki", strings.Replace(md, `entityID="http://sp.example.test/saml/metadata"`, "", 1), "The metadata has no entityID."},
		{"no POST ACS", "Wiki", strings.ReplaceAll(md, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"), "The metadata lists no AssertionConsumerService with the HTTP-POST binding; weftid sends its answers by HTTP-POST."},
		{"relative ACS", "Wiki", strings.ReplaceAll(md, `Location="`+acs+`"`, `Location="/saml/acs"`), "The metadata could not be read: invalid url scheme"},
		{"two entities", "Wiki", "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">" + stripDecl(md) + stripDecl(md) + "</EntitiesDescriptor>", "The metadata describes 2 entities; paste the metadata of one service provider."},
		{"wrong root", "Wiki", "<html></html>", "The metadata must be a SAML EntityDescriptor; this file starts with <html>."},
		{"too large", "Wiki", md + strings.Repeat(" ", 300<<10) + "<!-- -->", "The metadata is larger than 256 KB; paste the metadata of one service provider."},
	}
	idpMD := e.newClient().get("/saml/metadata").Body
	for _, tc := range cases {
		metadata := tc.metadata
		if tc.name == "idp metadata" {
			metadata = idpMD
		}
		r := admin.postMultipart("/applications/saml", map[string]string{"name": tc.field, "metadata": metadata}, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %s, want 422", tc.name, r)
			continue
		}
		got := alerts(r.Body)
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: alerts %q, want %q", tc.name, got, tc.want)
		}
	}
	if n := len(e.eventsOf("saml_sp_created")); n != 0 {
		t.Fatalf("%d saml_sp_created after refusals", n)
	}

	// Uploaded as a file: registered; the same entity ID again (pasted) is refused.
	id := registerSP(t, admin, "Wiki", sp.metadata, true)
	ev := e.lastEvent("saml_sp_created")
	if ev.ActorID == nil || ev.Details["entity_id"] != "http://sp.example.test/saml/metadata" || ev.Details["acs"] != acs {
		t.Errorf("saml_sp_created %v (actor %v)", ev.Details, ev.ActorID)
	}
	r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki again", "metadata": md}, nil)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Please fix the following: A service provider with this entity ID is registered already.")

	// Applications lists it beside the OpenID Connect clients.
	apps := admin.get("/applications")
	if want := fmt.Sprintf(`<a href="/applications/saml/%d">Wiki</a>`, id); !strings.Contains(apps.Body, want) {
		t.Errorf("/applications does not list the service provider (%s)", want)
	}
	list := admin.get("/applications/saml")
	expectStatus(t, list, http.StatusOK)
	for _, want := range []string{"Wiki", "http://sp.example.test/saml/metadata", acs, samlMetadataURL, samlSSOURL} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("the list does not show %q", want)
		}
	}

	// Rename, keeping the metadata.
	page := admin.get(fmt.Sprintf("/applications/saml/%d", id))
	expectStatus(t, page, http.StatusOK)
	expectRedirect(t, admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki"}, nil), fmt.Sprintf("/applications/saml/%d?notice=saved", id))
	got, err := e.store.SAMLServiceProvider(context.Background(), id)
	if err != nil || got.Name != "Team wiki" || got.Metadata != strings.TrimSpace(md) {
		t.Errorf("after renaming: %+v, %v", got.Name, err)
	}
	if ev := e.lastEvent("saml_sp_updated"); fmt.Sprint(ev.Details["changed"]) != "[name]" {
		t.Errorf("saml_sp_updated %v", ev.Details)
	}
	// Replace the metadata with another SP's: the entity ID follows. Bad metadata is refused.
	other := e.newTestSP("other.example.test")
	r = admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki", "metadata": "<nope"}, nil)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectRedirect(t, admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki"}, other.metadata), fmt.Sprintf("/applications/saml/%d?notice=saved", id))
	got, _ = e.store.SAMLServiceProvider(context.Background(), id)
	if got.EntityID != "http://other.example.test/saml/metadata" {
		t.Errorf("after replacing the metadata the entity ID is %q", got.EntityID)
	}

	// Users and signed-out visitors cannot manage.
	_, user := e.signedIn("grace@example.com", "Grace Hopper", store.RoleUser)
	for _, path := range []string{"/applications/saml", "/applications/saml/new", fmt.Sprintf("/applications/saml/%d", id)} {
		expectStatus(t, user.get(path), http.StatusForbidden)
		expectRedirect(t, e.newClient().get(path), "/login")
	}
	expectStatus(t, user.post(fmt.Sprintf("/applications/saml/%d/delete", id), nil), http.StatusForbidden)

	// Remove.
	expectRedirect(t, admin.post(fmt.Sprintf("/applications/saml/%d/delete", id), nil), "/applications/saml?notice=deleted")
	if _, err := e.store.SAMLServiceProvider(context.Background(), id); err != store.ErrNotFound {
		t.Errorf("after removing: %v", err)
	}
	if ev := e.lastEvent("saml_sp_deleted"); ev.Details["entity_id"] != "http://other.example.test/saml/metadata" {
		t.Errorf("saml_sp_deleted %v", ev.Details)
	}
	expectStatus(t, admin.get(fmt.Sprintf("/applications/saml/%d", id)), http.StatusNotFound)
}

// stripDecl drops an XML declaration, to nest a document in another.
func stripDecl(s string) string {
	if strings.HasPrefix(s, "<?xml") {
		return s[strings.Index(s, "?>")+2:]
	}
	return s
}

func TestSAMLPasskeySignInsContinue(t *testing.T) {
	e, sp, _, _ := samlSetup(t)
	e.setStrength("enhanced")
	u := e.createUser("pia@example.com", "Pia", store.RoleUser, store.StatusActive)

	// Enhanced: enrolling a passkey finishes the sign-in at the held request.
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	c.startSignIn(u.Email, testPassword)
	expectRedirect(t, postCode(c, e.waitCode(u.Email)), "/login/enroll")
	issuedNothing(t, c.get(cont), "continuation at enrollment")
	k := newSoftKey(t)
	r := c.postJSON("/login/enroll/passkey/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = c.postJSON("/login/enroll/passkey/finish?name=Laptop", k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != cont {
		t.Fatalf("enrolling a passkey leads to %v, want %s", got, cont)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(cont)), spCookies), u)

	// A passkey sign-in from /login (no password): the same.
	b := e.newClient()
	path, _, spCookies = sp.start(saml.HTTPRedirectBinding)
	cont = b.get(path).Location
	expectRedirect(t, b.get(cont), "/login")
	expectStatus(t, b.get("/login"), http.StatusOK)
	k.count = 5
	r = passkeyLogin(t, b, k.get)
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != cont {
		t.Fatalf("a passkey sign-in leads to %v, want %s", got, cont)
	}
	checkAssertion(t, sp.acs(postPage(t, b.get(cont)), spCookies), u)

	// The return cookie was used once: the next sign-in in that browser goes to the dashboard.
	expectRedirect(t, b.post("/logout", nil), "/login?notice=signed_out")
	expectStatus(t, b.get("/login"), http.StatusOK)
	k.count = 6
	r = passkeyLogin(t, b, k.get)
	if got := jsonOf(t, r)["redirect"]; got != "/dashboard" {
		t.Errorf("the next passkey sign-in leads to %v, want /dashboard", got)
	}
}

func TestSAMLDroppedRequestSignsInToDashboard(t *testing.T) {
	e, sp, u, spID := samlSetup(t)
	c := e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	// The admin removes the SP meanwhile: its held requests go, and the sign-in ends on the
	// dashboard, not at a continuation that no longer leads anywhere.
	if err := e.store.DeleteSAMLServiceProvider(context.Background(), spID); err != nil {
		t.Fatal(err)
	}
	c.signIn(u.Email, testPassword)
	issuedNothing(t, c.get(cont), "the continuation of a removed SP")
}

func TestSAMLGatedByForcedPasswordReset(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	if err := e.store.RequirePasswordReset(context.Background(), u.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	path, _, spCookies := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	expectStatus(t, c.get("/login"), http.StatusOK)
	expectRedirect(t, c.post("/login", url.Values{"email": {u.Email}, "password": {testPassword}}), "/login/reset-password")
	// At the reset step: the continuation and a replayed SSO URL lead back to it; nothing issued.
	r := c.get(cont)
	expectRedirect(t, r, "/login/reset-password")
	issuedNothing(t, r, "continuation at the forced reset")
	r = c.get(path)
	issuedNothing(t, r, "replayed SSO URL at the forced reset")
	expectRedirect(t, c.get(r.Location), "/login/reset-password")
	issuedNothing(t, c.post(cont, nil), "POST to the continuation at the forced reset")
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d assertions issued before the reset", n)
	}
	// The new password, then the code: the sign-in ends at the (newest) held request.
	expectRedirect(t, resetPassword(c, newPassword, newPassword), "/login/verify")
	r = c.post("/login/verify", url.Values{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("after the reset and the code: %s, want the continuation", r)
	}
	checkAssertion(t, sp.acs(postPage(t, c.get(r.Location)), spCookies), u)
}

// Signing out drops an application's request that waited for a sign-in: whoever signs in next
// in this browser lands on the dashboard.
func TestSignOutDropsTheWaitingRequest(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	c := e.newClient()
	path, _, _ := sp.start(saml.HTTPRedirectBinding)
	cont := c.get(path).Location
	expectRedirect(t, c.get(cont), "/login")
	expectStatus(t, c.get("/login"), http.StatusOK)
	expectRedirect(t, c.post("/logout", nil), "/login?notice=signed_out")
	c.signIn(u.Email, testPassword) // ends on /dashboard, not at the continuation
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Errorf("%d assertions issued after signing out", n)
	}
}
