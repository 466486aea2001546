package handlers_test

// The Single Logout side of the test service provider: crewjam/saml's ServiceProvider makes the
// SP's LogoutRequests and LogoutResponses and validates weftid's LogoutResponses
// (ValidateLogoutResponseForm/Redirect). crewjam has no code for an SP to receive a LogoutRequest,
// so receiveLogoutRequest checks weftid's as crewjam checks a response: the signature against
// every signing certificate of weftid's metadata (goxmldsig, as crewjam), the Destination and
// the Issuer.

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"
)

const samlSLOURL = baseURL + "/saml/slo"

// newLogoutSP is a test SP that signs its messages with RSA-SHA256 and takes logout messages
// at http://HOST/saml/slo by the given bindings (none: its metadata lists no logout service).
func (e *env) newLogoutSP(host string, bindings ...string) *testSP {
	e.t.Helper()
	md, _ := e.idpMetadata()
	key, cert := selfSigned(e.t, host)
	root, _ := url.Parse("https://" + host + "/")
	m, err := samlsp.New(samlsp.Options{URL: *root, Key: key, Certificate: cert, IDPMetadata: md, SignRequest: true, LogoutBindings: bindings})
	if err != nil {
		e.t.Fatal(err)
	}
	m.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
	if len(bindings) == 0 {
		m.ServiceProvider.LogoutBindings = []string{}
	}
	buf, err := xml.MarshalIndent(m.ServiceProvider.Metadata(), "", "  ")
	if err != nil {
		e.t.Fatal(err)
	}
	return &testSP{t: e.t, m: m, metadata: buf}
}

// signInAt signs the client (signed in to weftid) in to sp, SP-initiated: it returns the
// session the SP made, with the SessionIndex weftid gave it.
func (sp *testSP) signInAt(c *client) samlsp.JWTSessionClaims {
	sp.t.Helper()
	path, _, cookies := sp.start(saml.HTTPRedirectBinding)
	return sp.acs(postPage(sp.t, c.get(path)), cookies)
}

// logoutMsg is a logout message weftid hands the browser: where it goes, by which binding, and
// what it carries.
type logoutMsg struct {
	Post   bool
	URL    string // POST: the form's action; Redirect: the whole URL
	Form   url.Values
	Status int
}

var (
	logoutForm   = regexp.MustCompile(`<form method="post" action="([^"]*)" data-saml-post>`)
	logoutHidden = regexp.MustCompile(`<input type="hidden" name="(SAMLRequest|SAMLResponse|RelayState)" value="([^"]*)">`)
	logoutLink   = regexp.MustCompile(`<a href="([^"]*)" data-saml-redirect`)
)

// logoutPage reads the page that hands a logout message on; the test fails if r is not one.
func logoutPage(t *testing.T, r *response) logoutMsg {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	if m := logoutLink.FindStringSubmatch(r.Body); m != nil {
		return logoutMsg{URL: html.UnescapeString(m[1])}
	}
	m := logoutForm.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no logout form or link:\n%s", r)
	}
	msg := logoutMsg{Post: true, URL: html.UnescapeString(m[1]), Form: url.Values{}}
	for _, h := range logoutHidden.FindAllStringSubmatch(r.Body, -1) {
		msg.Form.Set(h[1], html.UnescapeString(h[2]))
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+originOfURL(msg.URL)+";") {
		t.Errorf("the logout page's CSP %q does not allow posting to %s", csp, msg.URL)
	}
	return msg
}

func originOfURL(raw string) string {
	u, _ := url.Parse(raw)
	return u.Scheme + "://" + u.Host
}

// query is the message's query (Redirect), or its form (POST).
func (m logoutMsg) values() url.Values {
	if m.Post {
		return m.Form
	}
	u, _ := url.Parse(m.URL)
	return u.Query()
}

// decode is the message's XML document.
func (m logoutMsg) decode(t *testing.T, param string) *etree.Document {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(m.values().Get(param))
	if err != nil {
		t.Fatalf("%s is not base64: %v", param, err)
	}
	if !m.Post {
		if raw, err = io.ReadAll(flate.NewReader(bytes.NewReader(raw))); err != nil {
			t.Fatalf("%s is not deflated: %v", param, err)
		}
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc
}

// idpSigningCerts are the signing certificates of weftid's metadata as the SP holds it.
func (sp *testSP) idpSigningCerts() []*x509.Certificate {
	sp.t.Helper()
	var out []*x509.Certificate
	for _, kd := range sp.m.ServiceProvider.IDPMetadata.IDPSSODescriptors[0].KeyDescriptors {
		if kd.Use != "signing" {
			continue
		}
		der, _ := base64.StdEncoding.DecodeString(kd.KeyInfo.X509Data.X509Certificates[0].Data)
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			sp.t.Fatal(err)
		}
		out = append(out, cert)
	}
	return out
}

// receiveLogoutRequest is the SP's single logout service reading weftid's LogoutRequest: it
// fails the test unless the message is signed by a key of weftid's metadata (in the XML by
// HTTP-POST, over the query by HTTP-Redirect, where the XML must carry no signature), is
// addressed to the SP's SLO URL and comes from weftid.
func (sp *testSP) receiveLogoutRequest(m logoutMsg) *saml.LogoutRequest {
	sp.t.Helper()
	doc := m.decode(sp.t, "SAMLRequest")
	certs := sp.idpSigningCerts()
	el := doc.Root()
	if m.Post {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
		ctx.IdAttribute = "ID"
		verified, err := ctx.Validate(el)
		if err != nil {
			sp.t.Fatalf("the SP cannot verify weftid's LogoutRequest: %v", err)
		}
		el = verified
	} else {
		if el.FindElement("./Signature") != nil {
			sp.t.Error("an HTTP-Redirect LogoutRequest carries an XML signature (SAML bindings 3.4.4.1: it must not)")
		}
		if err := verifyQuerySignature(m.URL, "SAMLRequest", certs); err != nil {
			sp.t.Fatalf("the SP cannot verify weftid's LogoutRequest: %v", err)
		}
	}
	var req saml.LogoutRequest
	d := etree.NewDocument()
	d.SetRoot(el)
	if buf, _ := d.WriteToBytes(); xml.Unmarshal(buf, &req) != nil {
		sp.t.Fatalf("the LogoutRequest does not parse:\n%s", buf)
	}
	if want := sp.m.ServiceProvider.SloURL.String(); req.Destination != strings.Split(m.URL, "?")[0] || req.Destination != want {
		sp.t.Errorf("the LogoutRequest's Destination %q, sent to %q; want the SP's SLO URL %q", req.Destination, m.URL, want)
	}
	if req.Issuer == nil || req.Issuer.Value != samlMetadataURL {
		sp.t.Errorf("the LogoutRequest's Issuer %+v, want %s", req.Issuer, samlMetadataURL)
	}
	return &req
}

// verifyQuerySignature checks an HTTP-Redirect signature over the raw query octets of rawURL.
func verifyQuerySignature(rawURL, param string, certs []*x509.Certificate) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	raw := map[string]string{}
	for _, part := range strings.Split(u.RawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		raw[k] = v
	}
	signed := param + "=" + raw[param]
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	if alg, _ := url.QueryUnescape(raw["SigAlg"]); alg != dsig.RSASHA256SignatureMethod {
		return fmt.Errorf("SigAlg %q, want RSA-SHA256", alg)
	}
	sigText, _ := url.QueryUnescape(raw["Signature"])
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(signed))
	for _, c := range certs {
		if rsa.VerifyPKCS1v15(c.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig) == nil {
			return nil
		}
	}
	return errors.New("no certificate of the metadata verifies the query signature")
}

// respond is the SP answering weftid's LogoutRequest with its own signed LogoutResponse (made by
// crewjam) by the binding of its metadata: it returns the request the browser then makes at
// weftid's /saml/slo, which c sends.
func (sp *testSP) respond(c *client, req *saml.LogoutRequest, relayState string) *response {
	sp.t.Helper()
	if bindings := sp.m.ServiceProvider.LogoutBindings; len(bindings) > 0 && bindings[0] == saml.HTTPRedirectBinding {
		u, err := sp.m.ServiceProvider.MakeRedirectLogoutResponse(req.ID, relayState)
		if err != nil {
			sp.t.Fatal(err)
		}
		return c.get(strings.TrimPrefix(u.String(), baseURL))
	}
	page, err := sp.m.ServiceProvider.MakePostLogoutResponse(req.ID, relayState)
	if err != nil {
		sp.t.Fatal(err)
	}
	return c.postRaw("/saml/slo", formOf(sp.t, page, "SAMLResponse"), nil)
}

// formOf reads the fields of one of crewjam's auto-posting pages.
func formOf(t *testing.T, page []byte, param string) url.Values {
	t.Helper()
	form := url.Values{}
	for _, name := range []string{param, "RelayState"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no %s in\n%s", name, page)
		}
		if v := html.UnescapeString(string(m[1])); v != "" {
			form.Set(name, v)
		}
	}
	return form
}

// logoutRequest is the SP's own signed LogoutRequest for nameID (crewjam's
// MakeRedirectLogoutRequest or MakePostLogoutRequest), sent by c to weftid.
func (sp *testSP) logoutRequest(c *client, binding, nameID, relayState string) *response {
	sp.t.Helper()
	if binding == saml.HTTPRedirectBinding {
		u, err := sp.m.ServiceProvider.MakeRedirectLogoutRequest(nameID, relayState)
		if err != nil {
			sp.t.Fatal(err)
		}
		return c.get(strings.TrimPrefix(u.String(), baseURL))
	}
	page, err := sp.m.ServiceProvider.MakePostLogoutRequest(nameID, relayState)
	if err != nil {
		sp.t.Fatal(err)
	}
	return c.postRaw("/saml/slo", formOf(sp.t, page, "SAMLRequest"), nil)
}

// statusOf reads the status codes (top level, second level) of a LogoutResponse weftid sent.
func statusOf(t *testing.T, m logoutMsg) (string, string) {
	t.Helper()
	doc := m.decode(t, "SAMLResponse")
	code := doc.FindElement("//Status/StatusCode")
	if code == nil {
		t.Fatalf("the LogoutResponse has no StatusCode")
	}
	sub := ""
	if inner := code.FindElement("./StatusCode"); inner != nil {
		sub = inner.SelectAttrValue("Value", "")
	}
	return code.SelectAttrValue("Value", ""), sub
}
