package handlers_test

// The SAML test harness: a real crewjam/saml service provider (samlsp) whose requests are made by
// the SP's own code, and whose ACS (which verifies the signature with the certificate from our
// metadata) reads our responses; and helpers to register it and read our answers.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
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
	root, _ := url.Parse("https://" + host + "/")
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
