package handlers_test

// softKey: a small software authenticator that answers the server's WebAuthn ceremonies, and
// the helpers that sign in with it.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// softKey is a software passkey: a P-256 key answering WebAuthn ceremonies the way a platform
// authenticator does (attestation "none", user present and verified).
type softKey struct {
	t      *testing.T
	key    *ecdsa.PrivateKey
	id     []byte
	handle []byte // the user handle it was registered with
	count  uint32 // signature counter of the next assertion
	origin string
	rpID   string
	extra  byte // flags set in every ceremony besides UP and UV (flagBE|flagBS: a synced passkey)
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{t: t, key: key, id: id, origin: baseURL, rpID: "localhost"}
}

func (k *softKey) cose() []byte {
	k.t.Helper()
	pub, err := k.key.PublicKey.ECDH()
	if err != nil {
		k.t.Fatal(err)
	}
	pt := pub.Bytes() // 0x04 || X || Y
	b, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pt[1:33], YCoord: pt[33:65],
	})
	if err != nil {
		k.t.Fatal(err)
	}
	return b
}

func (k *softKey) authData(flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08 // backup-eligible: the credential can be synced
	flagBS = 0x10 // backed up
	flagAT = 0x40
)

// create answers a registration's options.
func (k *softKey) create(opts map[string]any) string {
	k.t.Helper()
	challenge, _ := dig(opts, "publicKey", "challenge").(string)
	userID, _ := dig(opts, "publicKey", "user", "id").(string)
	handle, err := base64.RawURLEncoding.DecodeString(userID)
	if err != nil {
		k.t.Fatalf("user.id: %v", err)
	}
	k.handle = handle
	attested := make([]byte, 16) // AAGUID: zero
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), k.cose()...)
	obj, err := webauthncbor.Marshal(map[string]any{
		"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(flagUP|flagUV|flagAT|k.extra, 0, attested),
	})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64url(k.id), "rawId": b64url(k.id), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url(k.clientData("webauthn.create", challenge)),
			"attestationObject": b64url(obj),
			"transports":        []string{"internal"},
		},
	})
	return string(b)
}

// get answers a sign-in's options with flags and the current counter.
func (k *softKey) getWith(opts map[string]any, flags byte) string {
	k.t.Helper()
	challenge, _ := dig(opts, "publicKey", "challenge").(string)
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(flags|k.extra, k.count, nil)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(bytes.Clone(ad), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64url(k.id), "rawId": b64url(k.id), "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64url(cd),
			"authenticatorData": b64url(ad),
			"signature":         b64url(sig),
			"userHandle":        b64url(k.handle),
		},
	})
	return string(b)
}

func (k *softKey) get(opts map[string]any) string { return k.getWith(opts, flagUP|flagUV) }

// registerSoftKey registers a software passkey for a signed-in client through the real routes.
func registerSoftKey(t *testing.T, c *client, name string) *softKey {
	t.Helper()
	return registerKey(t, c, name, newSoftKey(t))
}

// registerKey registers the software passkey k for a signed-in client.
func registerKey(t *testing.T, c *client, name string, k *softKey) *softKey {
	t.Helper()
	r := c.postJSON("/account/passkeys/begin", "{}")
	expectStatus(t, r, http.StatusOK)
	r = c.postJSON("/account/passkeys/finish?name="+url.QueryEscape(name), k.create(jsonOf(t, r)))
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/account/security?notice=passkey_added" {
		t.Errorf("registration redirect %v", got)
	}
	return k
}

const (
	beginWhole        = "/login/passkey/begin"                   // /login's button
	beginSecondFactor = "/login/passkey/begin?for=second_factor" // /login/verify's button
)

// passkeyLogin begins a passkey sign-in (a whole one, as on /login) and answers it with answer.
func passkeyLogin(t *testing.T, c *client, answer func(map[string]any) string) *response {
	t.Helper()
	return passkeyLoginAt(t, c, beginWhole, answer)
}

// passkeyLoginAt begins a passkey sign-in at begin and answers it with answer.
func passkeyLoginAt(t *testing.T, c *client, begin string, answer func(map[string]any) string) *response {
	t.Helper()
	r := c.postJSON(begin, "{}")
	expectStatus(t, r, http.StatusOK)
	return c.postJSON("/login/passkey/finish", answer(jsonOf(t, r)))
}

func expectPasskeySignedIn(t *testing.T, e *env, c *client, r *response, userID int64, method string) {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	if got := jsonOf(t, r)["redirect"]; got != "/dashboard" {
		t.Errorf("redirect %v, want /dashboard", got)
	}
	if c.cookieValue("weftid_session") == "" {
		t.Fatal("no session after a passkey sign-in")
	}
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	ev := e.lastEvent("user_signed_in")
	checkEvent(t, ev, "user_signed_in", userID, "")
	if got, _ := ev.Details["method"].(string); got != method {
		t.Errorf("user_signed_in method %q, want %q", got, method)
	}
}

func expectPasskeyRefused(t *testing.T, e *env, c *client, r *response, userID int64, reason string) {
	t.Helper()
	expectJSONError(t, r, http.StatusUnauthorized, msgPasskeyFailure)
	if c.cookieValue("weftid_session") != "" {
		t.Error("a refused passkey gave a session")
	}
	ev := e.lastEvent("login_failed")
	checkEvent(t, ev, "login_failed", userID, reason)
	if ev.Details["step"] != "passkey" {
		t.Errorf("login_failed step %v, want passkey", ev.Details["step"])
	}
}
