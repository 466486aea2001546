package saml

// The messages of Single Logout: reading and verifying what a service provider sends (its
// LogoutRequest or LogoutResponse, by HTTP-Redirect or HTTP-POST), and making and signing what
// weftid sends. crewjam/saml v0.5.1 has none of this on the identity provider's side (only
// IdentityProvider.LogoutURL, for the metadata), so it is built here on its XML types, goxmldsig
// and the standard library.
//
// Signatures: HTTP-POST messages carry an enveloped XML signature. HTTP-Redirect messages are
// signed over the query string (SAMLRequest=...&RelayState=...&SigAlg=..., SAML bindings
// 3.4.4.1), with no XML signature; weftid also accepts, by HTTP-Redirect, a message that instead
// carries an enveloped signature inside the deflated XML, as crewjam/saml service providers send.
// A service provider's signature is checked against the signing certificates of its registered
// metadata, whatever their dates (the metadata is what is trusted, as for every SAML peer);
// SHA-1 signatures are refused.

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"
)

const (
	// sloPath is weftid's Single Logout endpoint, for both bindings.
	sloPath = "/saml/slo"
	// maxInflated bounds a deflated HTTP-Redirect message once inflated.
	maxInflated = 256 << 10
	// messageLifetime is how old a LogoutRequest may be when it arrives (as crewjam allows for
	// responses), and clockSkew how far the clocks of weftid and a service provider may differ.
	messageLifetime = 90 * time.Second
	clockSkew       = 180 * time.Second

	protocolNS  = "urn:oasis:names:tc:SAML:2.0:protocol"
	assertionNS = "urn:oasis:names:tc:SAML:2.0:assertion"
	dsigNS      = "http://www.w3.org/2000/09/xmldsig#"
)

// Why an inbound logout message is refused (in the saml_logout event and the StatusMessage).
var (
	errUnsigned       = errors.New("the message is not signed")
	errBadSignature   = errors.New("the signature does not verify with a signing certificate of the service provider's metadata")
	errWeakSignature  = errors.New("the message is signed with SHA-1, which weftid does not accept")
	errNoSigningCerts = errors.New("the service provider's metadata has no signing certificate")
)

// sigAlgs are the signature algorithms weftid accepts from service providers, by identifier.
var sigAlgs = map[string]x509.SignatureAlgorithm{
	dsig.RSASHA256SignatureMethod:   x509.SHA256WithRSA,
	dsig.RSASHA384SignatureMethod:   x509.SHA384WithRSA,
	dsig.RSASHA512SignatureMethod:   x509.SHA512WithRSA,
	dsig.ECDSASHA256SignatureMethod: x509.ECDSAWithSHA256,
	dsig.ECDSASHA384SignatureMethod: x509.ECDSAWithSHA384,
	dsig.ECDSASHA512SignatureMethod: x509.ECDSAWithSHA512,
}

// inboundMessage is a logout message as it arrived, decoded but not yet trusted.
type inboundMessage struct {
	root     *etree.Element // the document's root element
	query    rawQuery       // HTTP-Redirect: the query string's raw values
	param    string         // "SAMLRequest" or "SAMLResponse"
	redirect bool
}

// rawQuery is a query string's values exactly as received: a Redirect signature covers these
// octets, not their decoded values.
type rawQuery map[string]string

func parseRawQuery(q string) rawQuery {
	out := rawQuery{}
	for _, part := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(part, "=")
		if _, seen := out[k]; !seen && k != "" {
			out[k] = v
		}
	}
	return out
}

func (q rawQuery) get(k string) string {
	v, err := url.QueryUnescape(q[k])
	if err != nil {
		return ""
	}
	return v
}

// decodeMessage reads the SAMLRequest or SAMLResponse of in: base64 (and, by HTTP-Redirect,
// deflated), XML that survives a round trip unchanged, with a root element of the SAML protocol
// namespace. Its error is ErrLogoutUnreadable.
func decodeMessage(in LogoutInbound) (inboundMessage, error) {
	m := inboundMessage{redirect: in.Binding == BindingRedirect, param: "SAMLRequest"}
	value := in.SAMLRequest
	if m.redirect {
		m.query = parseRawQuery(in.RawQuery)
		if _, ok := m.query["SAMLResponse"]; ok {
			m.param = "SAMLResponse"
		}
		value = m.query.get(m.param)
	} else if in.SAMLResponse != "" {
		value, m.param = in.SAMLResponse, "SAMLResponse"
	}
	if value == "" || len(value) > maxRequest || len(in.RelayState) > maxRelayState {
		return m, ErrLogoutUnreadable
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value), ""))
	if err != nil {
		return m, ErrLogoutUnreadable
	}
	if m.redirect {
		data, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(data)), maxInflated+1))
		if err != nil || len(data) > maxInflated {
			return m, ErrLogoutUnreadable
		}
	}
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return m, ErrLogoutUnreadable
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil || doc.Root().NamespaceURI() != protocolNS {
		return m, ErrLogoutUnreadable
	}
	m.root = doc.Root()
	return m, nil
}

// issuer is the Issuer the message claims, before anything is verified.
func (m inboundMessage) issuer() string {
	for _, el := range m.root.ChildElements() {
		if el.Tag == "Issuer" && el.NamespaceURI() == assertionNS {
			return strings.TrimSpace(el.Text())
		}
	}
	return ""
}

// verify checks the message's signature against certs, the signing certificates of the service
// provider it claims to come from, and returns the element the signature covers: only that may
// be read.
func (m inboundMessage) verify(certs []*x509.Certificate) (*etree.Element, error) {
	if len(certs) == 0 {
		return nil, errNoSigningCerts
	}
	if m.redirect && m.query["Signature"] != "" {
		if err := m.verifyQuery(certs); err != nil {
			return nil, err
		}
		return m.root, nil
	}
	return verifyEnveloped(m.root, certs)
}

// verifyQuery checks an HTTP-Redirect signature over the raw query octets.
func (m inboundMessage) verifyQuery(certs []*x509.Certificate) error {
	sigAlg := m.query.get("SigAlg")
	alg, ok := sigAlgs[sigAlg]
	if !ok {
		if strings.HasSuffix(sigAlg, "sha1") {
			return errWeakSignature
		}
		return errBadSignature
	}
	signed := m.param + "=" + m.query[m.param]
	if rs, ok := m.query["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + m.query["SigAlg"]
	sig, err := base64.StdEncoding.DecodeString(m.query.get("Signature"))
	if err != nil {
		return errBadSignature
	}
	for _, c := range certs {
		if c.CheckSignature(alg, []byte(signed), sig) == nil {
			return nil
		}
	}
	return errBadSignature
}

// verifyEnveloped checks the enveloped signature of root (a direct child that references it).
// Its KeyInfo is ignored: the key is one of certs, tried one at a time, each at a moment its
// certificate is valid (goxmldsig checks the dates; SAML metadata trust does not).
func verifyEnveloped(root *etree.Element, certs []*x509.Certificate) (*etree.Element, error) {
	el := root.Copy()
	var sig *etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsigNS {
			sig = c
		}
	}
	if sig == nil {
		return nil, errUnsigned
	}
	method := ""
	if sm := sig.FindElement("./SignedInfo/SignatureMethod"); sm != nil {
		method = sm.SelectAttrValue("Algorithm", "")
	}
	if _, ok := sigAlgs[method]; !ok {
		if strings.HasSuffix(method, "sha1") {
			return nil, errWeakSignature
		}
		return nil, errBadSignature
	}
	for _, ki := range sig.SelectElements("KeyInfo") {
		sig.RemoveChild(ki)
	}
	for _, c := range certs {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		ctx.IdAttribute = "ID"
		ctx.Clock = dsig.NewFakeClockAt(c.NotBefore)
		if verified, err := ctx.Validate(el); err == nil {
			return verified, nil
		}
	}
	return nil, errBadSignature
}

// logoutRequestXML is what weftid reads of a LogoutRequest.
type logoutRequestXML struct {
	XMLName      xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol LogoutRequest"`
	ID           string   `xml:",attr"`
	Version      string   `xml:",attr"`
	IssueInstant string   `xml:",attr"`
	NotOnOrAfter string   `xml:",attr"`
	Destination  string   `xml:",attr"`
	Issuer       string   `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID       *struct {
		Format string `xml:",attr"`
		Value  string `xml:",chardata"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	EncryptedID   *struct{} `xml:"urn:oasis:names:tc:SAML:2.0:assertion EncryptedID"`
	SessionIndexs []string  `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
}

// logoutResponseXML is what weftid reads of a LogoutResponse.
type logoutResponseXML struct {
	XMLName      xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol LogoutResponse"`
	ID           string   `xml:",attr"`
	InResponseTo string   `xml:",attr"`
	Destination  string   `xml:",attr"`
	Issuer       string   `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Status       struct {
		Code struct {
			Value string `xml:",attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status"`
}

// unmarshalElement reads el into v.
func unmarshalElement(el *etree.Element, v any) error {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	buf, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	return xml.Unmarshal(buf, v)
}

// checkLifetime says what is wrong with a LogoutRequest's times at now, or nil.
func checkLifetime(r logoutRequestXML, now time.Time) error {
	issued, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(r.IssueInstant))
	switch {
	case err != nil:
		return errors.New("the IssueInstant is missing or not a time")
	case issued.After(now.Add(clockSkew)):
		return errors.New("the IssueInstant is in the future")
	case issued.Add(messageLifetime + clockSkew).Before(now):
		return errors.New("the request expired (its IssueInstant is too old)")
	}
	if r.NotOnOrAfter != "" {
		until, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(r.NotOnOrAfter))
		if err != nil || !now.Before(until.Add(clockSkew)) {
			return errors.New("the request expired (NotOnOrAfter)")
		}
	}
	return nil
}

// spSigningCerts are the certificates a service provider's metadata lists for signing (marked
// "signing" or unmarked).
func spSigningCerts(md *crewjam.EntityDescriptor) []*x509.Certificate {
	var out []*x509.Certificate
	for _, d := range md.SPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(spaces.ReplaceAllString(c.Data, ""))
				if err != nil {
					continue
				}
				if cert, err := x509.ParseCertificate(der); err == nil {
					out = append(out, cert)
				}
			}
		}
	}
	return out
}

// sloBinding reports whether weftid sends and reads logout messages by binding.
func sloBinding(binding string) bool {
	return binding == crewjam.HTTPPostBinding || binding == crewjam.HTTPRedirectBinding
}

// sloEndpoint is where a service provider's metadata takes logout messages: its HTTP-POST
// endpoint, else its HTTP-Redirect one; ok is false when it has neither. A response goes to the
// ResponseLocation when there is one.
func sloEndpoint(md *crewjam.EntityDescriptor, response bool) (binding, location string, ok bool) {
	for _, want := range []string{crewjam.HTTPPostBinding, crewjam.HTTPRedirectBinding} {
		for _, d := range md.SPSSODescriptors {
			for _, e := range d.SingleLogoutServices {
				if e.Binding != want || e.Location == "" {
					continue
				}
				if response && e.ResponseLocation != "" {
					return e.Binding, e.ResponseLocation, true
				}
				return e.Binding, e.Location, true
			}
		}
	}
	return "", "", false
}

// newMessageID is a fresh ID for a message weftid sends: 160 random bits, as crewjam's.
func newMessageID() string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("saml: crypto/rand failed: " + err.Error())
	}
	return "id-" + hex.EncodeToString(b)
}

// outbound signs el (a LogoutRequest or LogoutResponse for destination) with the identity
// provider's signing key and encodes it for binding: enveloped in the XML for HTTP-POST, over
// the query string for HTTP-Redirect.
func outbound(idp *crewjam.IdentityProvider, el *etree.Element, setSignature func(*etree.Element) *etree.Element,
	binding, destination, relayState, spName string) (*LogoutMessage, error) {
	key, ok := idp.Key.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("saml: the signing key is not RSA")
	}
	origin, err := originOf(destination)
	if err != nil {
		return nil, fmt.Errorf("saml: logout service %q: %w", destination, err)
	}
	param := "SAMLRequest"
	if el.Tag == "LogoutResponse" || el.Tag == "Response" {
		param = "SAMLResponse"
	}
	m := &LogoutMessage{SPName: spName, URL: destination, Origin: origin, Param: param, RelayState: relayState}
	if binding == crewjam.HTTPPostBinding {
		ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{
			Certificate: [][]byte{idp.Certificate.Raw}, PrivateKey: key, Leaf: idp.Certificate}))
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
			return nil, err
		}
		signed, err := ctx.SignEnveloped(el)
		if err != nil {
			return nil, err
		}
		// The signature goes where the schema wants it, after the Issuer.
		el = setSignature(signed.ChildElements()[len(signed.ChildElements())-1])
		doc := etree.NewDocument()
		doc.SetRoot(el)
		buf, err := doc.WriteToBytes()
		if err != nil {
			return nil, err
		}
		m.Binding, m.Value = BindingPost, base64.StdEncoding.EncodeToString(buf)
		return m, nil
	}
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestCompression)
	doc := etree.NewDocument()
	doc.SetRoot(el)
	if _, err := doc.WriteTo(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflated.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(dsig.RSASHA256SignatureMethod)
	digest := crypto.SHA256.New()
	digest.Write([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest.Sum(nil))
	if err != nil {
		return nil, err
	}
	q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	sep := "?"
	if strings.Contains(destination, "?") {
		sep = "&"
	}
	m.Binding, m.URL = BindingRedirect, destination+sep+q
	return m, nil
}

// logoutRequestElement is the LogoutRequest weftid sends to tell a service provider that the
// session of nameID (sessionIndex) ended.
func logoutRequestElement(idp *crewjam.IdentityProvider, id, destination, nameID, format, sessionIndex string, now time.Time) (*etree.Element, func(*etree.Element) *etree.Element) {
	notAfter := now.Add(messageLifetime)
	r := &crewjam.LogoutRequest{
		ID: id, Version: "2.0", IssueInstant: now, NotOnOrAfter: &notAfter, Destination: destination,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.MetadataURL.String()},
		NameID: &crewjam.NameID{Format: format, Value: nameID},
	}
	if sessionIndex != "" {
		r.SessionIndex = &crewjam.SessionIndex{Value: sessionIndex}
	}
	return r.Element(), func(sig *etree.Element) *etree.Element { r.Signature = sig; return r.Element() }
}

// logoutResponseElement is the LogoutResponse weftid answers a service provider's LogoutRequest
// inResponseTo with: status, and a second-level status and message when given.
func logoutResponseElement(idp *crewjam.IdentityProvider, inResponseTo, destination, status, subStatus, message string, now time.Time) (*etree.Element, func(*etree.Element) *etree.Element) {
	r := &crewjam.LogoutResponse{
		ID: newMessageID(), InResponseTo: inResponseTo, Version: "2.0", IssueInstant: now, Destination: destination,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.MetadataURL.String()},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: status}},
	}
	if subStatus != "" {
		r.Status.StatusCode.StatusCode = &crewjam.StatusCode{Value: subStatus}
	}
	if message != "" {
		r.Status.StatusMessage = &crewjam.StatusMessage{Value: message}
	}
	return r.Element(), func(sig *etree.Element) *etree.Element { r.Signature = sig; return r.Element() }
}
