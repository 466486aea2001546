package saml

// Encrypting assertions with AES-256-GCM.
//
// crewjam/saml v0.5.1 encrypts assertions with AES-128-CBC only (IdpAuthnRequest.MakeAssertionEl
// hard-codes it), and its xmlenc GCM type cannot be used instead: it has no 256-bit variant, its
// Encrypt seals a buffer of zeros rather than the plaintext, loses the nonce it generates (a nil
// nonce then panics in cipher.AEAD.Seal) and does not prepend it to the ciphertext as XML
// Encryption 1.1 requires. So weftid has crewjam sign the assertion as before (with the service
// provider's keys hidden from it, so it does not encrypt), and encrypts the signed assertion
// itself: the content key with RSA-OAEP (MGF1, SHA-1 digest, as crewjam does for CBC), the
// assertion with aes256GCM below. A service provider gets GCM only when its metadata lists
// http://www.w3.org/2009/xmlenc11#aes256-gcm among the EncryptionMethods of its encryption key;
// others get CBC as before, since a service provider that cannot decrypt GCM refuses it.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	"github.com/crewjam/saml/xmlenc"
)

const (
	// AlgAES256GCM is the XML Encryption 1.1 identifier of AES-256-GCM.
	AlgAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	// algAES128CBC is what crewjam encrypts with otherwise.
	algAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	xmlencNS     = "http://www.w3.org/2001/04/xmlenc#"
)

// aes256GCM is AES-256-GCM as XML Encryption 1.1 defines it: a random 96-bit IV, then the
// ciphertext, then the 128-bit tag, in one CipherValue. It is an xmlenc.BlockCipher.
type aes256GCM struct{}

// KeySize is the length of the content key.
func (aes256GCM) KeySize() int { return 32 }

// Algorithm is the cipher's identifier in an EncryptionMethod.
func (aes256GCM) Algorithm() string { return AlgAES256GCM }

func gcm(key any) (cipher.AEAD, error) {
	k, ok := key.([]byte)
	if !ok || len(k) != 32 {
		return nil, errors.New("aes256-gcm: the key must be 32 bytes")
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Encrypt seals plaintext with key (32 bytes) and a random IV; nonce must be nil (every message
// gets a fresh IV). It returns the xenc:EncryptedData element.
func (aes256GCM) Encrypt(key any, plaintext []byte, nonce []byte) (*etree.Element, error) {
	if nonce != nil {
		return nil, errors.New("aes256-gcm: the IV is chosen at random, not given")
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, aead.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	el := etree.NewElement("xenc:EncryptedData")
	el.CreateAttr("xmlns:xenc", xmlencNS)
	el.CreateAttr("Id", fmt.Sprintf("_%x", id))
	el.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", AlgAES256GCM)
	value := base64.StdEncoding.EncodeToString(aead.Seal(iv, iv, plaintext, nil))
	el.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(value)
	return el, nil
}

// Decrypt opens an EncryptedData element sealed by Encrypt, its content key given or carried
// in an EncryptedKey (which key then opens).
func (aes256GCM) Decrypt(key any, el *etree.Element) ([]byte, error) {
	if ek := el.FindElement("./KeyInfo/EncryptedKey"); ek != nil {
		var err error
		if key, err = xmlenc.Decrypt(key, ek); err != nil {
			return nil, err
		}
	}
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	cv := el.FindElement("./CipherData/CipherValue")
	if cv == nil {
		return nil, errors.New("aes256-gcm: no CipherValue")
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cv.Text()), ""))
	if err != nil {
		return nil, err
	}
	if len(data) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("aes256-gcm: the ciphertext is too short")
	}
	return aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], nil)
}

// encryptionKey is the service provider's key descriptor that assertions are encrypted to, as
// crewjam picks it (the first marked for encryption, else the first unmarked one with a
// certificate), or nil.
func encryptionKey(d *crewjam.SPSSODescriptor) *crewjam.KeyDescriptor {
	for _, use := range []string{"encryption", ""} {
		for i, kd := range d.KeyDescriptors {
			if kd.Use == use && len(kd.KeyInfo.X509Data.X509Certificates) > 0 && kd.KeyInfo.X509Data.X509Certificates[0].Data != "" {
				return &d.KeyDescriptors[i]
			}
		}
	}
	return nil
}

// assertionCipher is how an assertion to a service provider is encrypted: AlgAES256GCM when its
// encryption key lists it, algAES128CBC for another encryption key, "" when it has none.
func assertionCipher(d *crewjam.SPSSODescriptor) string {
	kd := encryptionKey(d)
	if kd == nil {
		return ""
	}
	for _, m := range kd.EncryptionMethods {
		if strings.TrimSpace(m.Algorithm) == AlgAES256GCM {
			return AlgAES256GCM
		}
	}
	return algAES128CBC
}

var spaces = regexp.MustCompile(`\s+`)

// sealAssertionGCM makes req's AssertionEl: the assertion signed by crewjam (which is not shown
// the service provider's keys, so it does not encrypt), then encrypted with AES-256-GCM to the
// service provider's encryption certificate. MakeResponse then wraps it as usual.
func sealAssertionGCM(req *crewjam.IdpAuthnRequest) error {
	kd := encryptionKey(req.SPSSODescriptor)
	der, err := base64.StdEncoding.DecodeString(spaces.ReplaceAllString(kd.KeyInfo.X509Data.X509Certificates[0].Data, ""))
	if err != nil {
		return fmt.Errorf("saml: the service provider's encryption certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("saml: the service provider's encryption certificate: %w", err)
	}
	saved := req.SPSSODescriptor
	sp := *saved
	sp.KeyDescriptors = nil
	req.SPSSODescriptor = &sp
	err = req.MakeAssertionEl()
	req.SPSSODescriptor = saved
	if err != nil {
		return err
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.AssertionEl)
	plain, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	enc := xmlenc.OAEP()
	enc.BlockCipher = aes256GCM{}
	enc.DigestMethod = &xmlenc.SHA1
	data, err := enc.Encrypt(cert, plain, nil)
	if err != nil {
		return err
	}
	data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	wrapped := etree.NewElement("saml:EncryptedAssertion")
	wrapped.AddChild(data)
	req.AssertionEl = wrapped
	return nil
}
