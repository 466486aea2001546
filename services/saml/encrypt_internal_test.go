package saml

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"

	crewjam "github.com/crewjam/saml"
)

func TestAES256GCM(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	plain := []byte("<saml:Assertion>secret</saml:Assertion>")
	el, err := aes256GCM{}.Encrypt(key, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if alg := el.FindElement("./EncryptionMethod").SelectAttrValue("Algorithm", ""); alg != AlgAES256GCM {
		t.Errorf("EncryptionMethod %q", alg)
	}
	cv := el.FindElement("./CipherData/CipherValue")
	data, _ := base64.StdEncoding.DecodeString(cv.Text())
	if len(data) != 12+len(plain)+16 {
		t.Errorf("CipherValue of %d bytes, want IV (12) + %d + tag (16): no padding", len(data), len(plain))
	}
	if bytes.Contains(data, []byte("secret")) {
		t.Error("the plaintext shows in the ciphertext")
	}
	got, err := aes256GCM{}.Decrypt(key, el)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	again, _ := aes256GCM{}.Encrypt(key, plain, nil)
	if again.FindElement("./CipherData/CipherValue").Text() == cv.Text() {
		t.Error("two encryptions of the same assertion are the same: the IV is not fresh")
	}
	// A flipped bit, or another key, fails the tag.
	data[20] ^= 1
	cv.SetText(base64.StdEncoding.EncodeToString(data))
	if _, err := (aes256GCM{}).Decrypt(key, el); err == nil {
		t.Error("a tampered ciphertext decrypts")
	}
	other := make([]byte, 32)
	if _, err := (aes256GCM{}).Decrypt(other, again); err == nil {
		t.Error("another key decrypts")
	}
	if _, err := (aes256GCM{}).Encrypt(key[:16], plain, nil); err == nil {
		t.Error("a 128-bit key is accepted")
	}
	if _, err := (aes256GCM{}).Encrypt(key, plain, make([]byte, 12)); err == nil {
		t.Error("a given IV is accepted")
	}
}

func TestAssertionCipher(t *testing.T) {
	cert := []crewjam.X509Certificate{{Data: "MIIB"}}
	kd := func(use string, methods ...string) crewjam.KeyDescriptor {
		d := crewjam.KeyDescriptor{Use: use, KeyInfo: crewjam.KeyInfo{X509Data: crewjam.X509Data{X509Certificates: cert}}}
		for _, m := range methods {
			d.EncryptionMethods = append(d.EncryptionMethods, crewjam.EncryptionMethod{Algorithm: m})
		}
		return d
	}
	for _, c := range []struct {
		name string
		keys []crewjam.KeyDescriptor
		want string
	}{
		{"no key", nil, ""},
		{"signing only", []crewjam.KeyDescriptor{kd("signing", AlgAES256GCM)}, ""},
		{"CBC listed", []crewjam.KeyDescriptor{kd("encryption", algAES128CBC, "http://www.w3.org/2001/04/xmlenc#aes256-cbc")}, algAES128CBC},
		{"nothing listed", []crewjam.KeyDescriptor{kd("encryption")}, algAES128CBC},
		{"GCM listed", []crewjam.KeyDescriptor{kd("encryption", algAES128CBC, " "+AlgAES256GCM+" ")}, AlgAES256GCM},
		{"GCM on an unmarked key", []crewjam.KeyDescriptor{kd("", AlgAES256GCM)}, AlgAES256GCM},
		// crewjam encrypts to the key marked for encryption: only its methods count.
		{"GCM on the other key", []crewjam.KeyDescriptor{kd("", AlgAES256GCM), kd("encryption")}, algAES128CBC},
	} {
		d := &crewjam.SPSSODescriptor{}
		d.KeyDescriptors = c.keys
		if got := assertionCipher(d); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
