package handlers_test

// Assertions encrypted with AES-256-GCM for a service provider whose metadata asks for it, and
// with AES-CBC as before for the others, read by the real crewjam/saml service provider.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"

	"github.com/weftid/weftid/store"
)

const algGCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"

// spGCM decrypts AES-256-GCM for the test SP. crewjam/saml v0.5.1's xmlenc registers only
// aes128-gcm; this is the rest of it, written from XML Encryption 1.1 (section 5.2.4: the
// CipherValue is a 96-bit IV, the ciphertext, then the 128-bit tag), apart from weftid's code:
// the content key comes from crewjam's own RSA-OAEP decrypter.
type spGCM struct{}

func (spGCM) Algorithm() string { return algGCM }

func (spGCM) Decrypt(key any, el *etree.Element) ([]byte, error) {
	ek := el.FindElement("./KeyInfo/EncryptedKey")
	if ek == nil {
		return nil, errors.New("no EncryptedKey")
	}
	k, err := xmlenc.Decrypt(key, ek)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil || len(k) != 32 {
		return nil, errors.New("not an AES-256 key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(el.FindElement("./CipherData/CipherValue").Text()))
	if err != nil || len(data) < 12+16 {
		return nil, errors.New("bad CipherValue")
	}
	return aead.Open(nil, data[:12], data[12:], nil)
}

var registerGCM sync.Once

// encryptionOf reads how the response's assertion is encrypted: the data's and the key's
// algorithms.
func encryptionOf(t *testing.T, p samlPost) (data, key string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(p.Form.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	if doc.FindElement("/Response/Assertion") != nil {
		t.Fatal("the assertion is in the clear")
	}
	d := doc.FindElement("/Response/EncryptedAssertion/EncryptedData/EncryptionMethod")
	k := doc.FindElement("/Response/EncryptedAssertion/EncryptedData/KeyInfo/EncryptedKey/EncryptionMethod")
	if d == nil || k == nil {
		t.Fatalf("no EncryptedData with an EncryptedKey in:\n%s", raw)
	}
	return d.SelectAttrValue("Algorithm", ""), k.SelectAttrValue("Algorithm", "")
}

func TestSAMLAssertionEncryption(t *testing.T) {
	registerGCM.Do(func() { xmlenc.RegisterDecrypter(spGCM{}) })
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)

	// An SP whose metadata lists AES-256-GCM among its encryption methods.
	hardened := e.newTestSP("hardened.example.test")
	md := hardened.m.ServiceProvider.Metadata()
	kd := &md.SPSSODescriptors[0].KeyDescriptors[0]
	if kd.Use != "encryption" {
		t.Fatalf("the test SP's first key is for %q", kd.Use)
	}
	kd.EncryptionMethods = append([]saml.EncryptionMethod{{Algorithm: algGCM}}, kd.EncryptionMethods...)
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	registerSP(t, admin, "Hardened", buf, false)
	classic := e.newTestSP("classic.example.test") // lists the CBC ciphers only, as crewjam does
	registerSP(t, admin, "Classic", classic.metadata, false)

	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	for _, tc := range []struct {
		sp        *testSP
		data, ev  string
		keyCipher string
	}{
		{hardened, algGCM, "aes256-gcm", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"},
		{classic, "http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes128-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"},
	} {
		path, _, cookies := tc.sp.start(saml.HTTPRedirectBinding)
		p := postPage(t, c.get(path))
		data, key := encryptionOf(t, p)
		if data != tc.data || key != tc.keyCipher {
			t.Errorf("%s: the assertion is encrypted with %s (key %s), want %s (key %s)", tc.ev, data, key, tc.data, tc.keyCipher)
		}
		// The SP decrypts it, checks the assertion's signature and reads it.
		checkAssertion(t, tc.sp.acs(p, cookies), u)
		if got := e.lastEvent("saml_assertion_issued").Details["encryption"]; got != tc.ev {
			t.Errorf("saml_assertion_issued says encryption %v, want %s", got, tc.ev)
		}
	}
}
