package handlers_test

// SAML Single Logout in both directions against real crewjam/saml service providers
// (saml_logout_harness_test.go): SP-initiated by HTTP-Redirect and HTTP-POST, weftid telling each
// SP of a session one after another, and the requests refused.

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/weftid/weftid/store"
)

func TestSAMLMetadataListsSingleLogout(t *testing.T) {
	e := newEnv(t)
	md, _ := e.idpMetadata()
	got := map[string]string{}
	for _, s := range md.IDPSSODescriptors[0].SingleLogoutServices {
		got[s.Binding] = s.Location
	}
	for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		if got[b] != samlSLOURL {
			t.Errorf("SingleLogoutService for %s at %q, want %q", b, got[b], samlSLOURL)
		}
	}
}

// logoutSetup is an env with a registered SP that takes logout messages by binding, and a user
// signed in to weftid and, through it, to the SP.
func logoutSetup(t *testing.T, binding string) (*env, *testSP, store.User, *client) {
	t.Helper()
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newLogoutSP("sp.example.test", binding)
	registerSP(t, admin, "Wiki", sp.metadata, false)
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	claims := sp.signInAt(c)
	if claims.Subject != u.Email {
		t.Fatalf("the SP signed in %q, want %q", claims.Subject, u.Email)
	}
	return e, sp, u, c
}

func TestSAMLLogoutFromSP(t *testing.T) {
	for _, binding := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			e, sp, u, c := logoutSetup(t, saml.HTTPPostBinding)
			expectStatus(t, c.get("/dashboard"), http.StatusOK)

			// The SP's own signed LogoutRequest, sent by another browser (the HTTP-POST comes
			// from the SP's site without weftid's cookie): weftid ends the session it names.
			r := sp.logoutRequest(e.newClient(), binding, u.Email, "back-to-wiki")
			m := logoutPage(t, r)
			if !m.Post || m.URL != sp.m.ServiceProvider.SloURL.String() {
				t.Fatalf("the LogoutResponse goes to %q (post %v), want the SP's SLO %s", m.URL, m.Post, sp.m.ServiceProvider.SloURL.String())
			}
			if m.Form.Get("RelayState") != "back-to-wiki" {
				t.Errorf("RelayState %q, want it echoed", m.Form.Get("RelayState"))
			}
			// crewjam checks the signature, Destination, IssueInstant, Issuer and status.
			if err := sp.m.ServiceProvider.ValidateLogoutResponseForm(m.Form.Get("SAMLResponse")); err != nil {
				t.Fatalf("the SP refuses weftid's LogoutResponse: %v", err)
			}
			expectRedirect(t, c.get("/dashboard"), "/login")

			ev := e.lastEvent("saml_logout")
			checkEvent(t, ev, "saml_logout", u.ID, "")
			if ev.Details["initiated"] != "sp" || fmt.Sprint(ev.Details["sessions_ended"]) != "1" || ev.Details["refused"] != nil {
				t.Errorf("saml_logout details %v", ev.Details)
			}

			// Again: nothing left to end, and still a success.
			m = logoutPage(t, sp.logoutRequest(e.newClient(), binding, u.Email, ""))
			if err := sp.m.ServiceProvider.ValidateLogoutResponseForm(m.Form.Get("SAMLResponse")); err != nil {
				t.Errorf("a second LogoutRequest: %v", err)
			}
		})
	}
}

// queryLogoutRequest is a LogoutRequest signed as the SAML bindings say for HTTP-Redirect: over
// the query string (SAMLRequest, RelayState, SigAlg), with no signature in the XML. It is the
// path of the request at weftid.
func queryLogoutRequest(t *testing.T, sp *testSP, nameID, sessionIndex, relayState, sigAlg string, hash crypto.Hash) string {
	t.Helper()
	saved := sp.m.ServiceProvider.SignatureMethod
	sp.m.ServiceProvider.SignatureMethod = "" // crewjam then leaves the XML unsigned
	req, err := sp.m.ServiceProvider.MakeLogoutRequest(samlSLOURL, nameID)
	sp.m.ServiceProvider.SignatureMethod = saved
	if err != nil {
		t.Fatal(err)
	}
	if sessionIndex != "" {
		req.SessionIndex = &saml.SessionIndex{Value: sessionIndex}
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestCompression)
	doc.WriteTo(w)
	w.Close()
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(deflated.Bytes())) +
		"&RelayState=" + url.QueryEscape(relayState) + "&SigAlg=" + url.QueryEscape(sigAlg)
	h := hash.New()
	h.Write([]byte(q))
	sig, err := rsa.SignPKCS1v15(rand.Reader, sp.m.ServiceProvider.Key.(*rsa.PrivateKey), hash, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return "/saml/slo?" + q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
}

// The standard HTTP-Redirect signature (over the query, as Shibboleth and SimpleSAMLphp send
// it), and a SessionIndex that names one session: only that one ends.
func TestSAMLLogoutQuerySignedBySessionIndex(t *testing.T) {
	e, sp, u, c := logoutSetup(t, saml.HTTPPostBinding)
	other := e.newClient()
	other.signIn(u.Email, testPassword)
	index := sp.signInAt(other).GetAttributes().Get("SessionIndex")
	if index == "" {
		t.Fatal("the assertion carried no SessionIndex")
	}
	m := logoutPage(t, e.newClient().get(queryLogoutRequest(t, sp, u.Email, index, "rs~*", dsig.RSASHA256SignatureMethod, crypto.SHA256)))
	if err := sp.m.ServiceProvider.ValidateLogoutResponseForm(m.Form.Get("SAMLResponse")); err != nil {
		t.Fatalf("the SP refuses weftid's LogoutResponse: %v", err)
	}
	if m.Form.Get("RelayState") != "rs~*" {
		t.Errorf("RelayState %q, want it echoed", m.Form.Get("RelayState"))
	}
	expectRedirect(t, other.get("/dashboard"), "/login")
	expectStatus(t, c.get("/dashboard"), http.StatusOK) // the other session stays
}

// IdP-initiated: signing out of weftid tells each SP of the session, one after another through
// the browser (HTTP-POST to one, HTTP-Redirect to the next), then lands on the signed-out page;
// an SP without a logout service makes the logout partial.
func TestSAMLLogoutFromWeftid(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	wiki := e.newLogoutSP("wiki.example.test", saml.HTTPPostBinding)
	chat := e.newLogoutSP("chat.example.test", saml.HTTPRedirectBinding)
	wikiID := registerSP(t, admin, "Wiki", wiki.metadata, false)
	chatID := registerSP(t, admin, "Chat", chat.metadata, false)
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	wikiIndex := wiki.signInAt(c).GetAttributes().Get("SessionIndex")
	chatIndex := chat.signInAt(c).GetAttributes().Get("SessionIndex")

	r := c.post("/logout", nil)
	expectRedirect(t, c.get("/dashboard"), "/login") // weftid's session ended first
	m := logoutPage(t, r)
	if !m.Post {
		t.Fatalf("the LogoutRequest to the Wiki (HTTP-POST) is sent by redirect")
	}
	req := wiki.receiveLogoutRequest(m)
	if req.NameID == nil || req.NameID.Value != u.Email || req.SessionIndex == nil || req.SessionIndex.Value != wikiIndex {
		t.Errorf("the Wiki's LogoutRequest names %+v / %+v, want %s / %s", req.NameID, req.SessionIndex, u.Email, wikiIndex)
	}
	if req.NotOnOrAfter == nil || !req.NotOnOrAfter.After(req.IssueInstant) {
		t.Errorf("the LogoutRequest has no lifetime: NotOnOrAfter %v", req.NotOnOrAfter)
	}

	// The Wiki's answer leads on to the Chat, by HTTP-Redirect, signed over the query.
	m = logoutPage(t, wiki.respond(c, req, ""))
	if m.Post || !strings.HasPrefix(m.URL, chat.m.ServiceProvider.SloURL.String()+"?") {
		t.Fatalf("the next step goes to %q (post %v), want the Chat's SLO by redirect", m.URL, m.Post)
	}
	req = chat.receiveLogoutRequest(m)
	if req.SessionIndex == nil || req.SessionIndex.Value != chatIndex {
		t.Errorf("the Chat's SessionIndex %+v, want %s", req.SessionIndex, chatIndex)
	}
	// The Chat answers by HTTP-Redirect (crewjam signs inside the XML): the signed-out page.
	expectRedirect(t, chat.respond(c, req, ""), "/login?notice=signed_out")

	evs := e.eventsOf("saml_logout")
	if len(evs) != 3 {
		t.Fatalf("%d saml_logout events, want 3 (the start, two answers): %s", len(evs), eventSummary(evs))
	}
	if d := evs[0].Details; d["initiated"] != "idp" || fmt.Sprint(d["notify"]) != fmt.Sprint([]int64{wikiID, chatID}) {
		t.Errorf("the logout's start: %v", d)
	}
	for i, id := range []int64{wikiID, chatID} {
		if d := evs[i+1].Details; fmt.Sprint(d["sp_id"]) != fmt.Sprint(id) || d["verified"] != true || d["status"] != saml.StatusSuccess {
			t.Errorf("answer %d: %v", i+1, d)
		}
	}

	// A replayed answer finds no logout waiting.
	expectStatus(t, wiki.respond(e.newClient(), &saml.LogoutRequest{ID: req.ID}, ""), http.StatusNotFound)
}

func TestSAMLLogoutFromWeftidPartial(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	wiki := e.newLogoutSP("wiki.example.test", saml.HTTPPostBinding)
	legacy := e.newLogoutSP("legacy.example.test") // its metadata lists no logout service
	registerSP(t, admin, "Wiki", wiki.metadata, false)
	legacyID := registerSP(t, admin, "Legacy", legacy.metadata, false)
	u := e.createUser("grace@example.com", "Grace Hopper", store.RoleUser, store.StatusActive)
	c := e.newClient()
	c.signIn(u.Email, testPassword)
	wiki.signInAt(c)
	legacy.signInAt(c)

	req := wiki.receiveLogoutRequest(logoutPage(t, c.post("/logout", nil)))
	expectRedirect(t, wiki.respond(c, req, ""), "/login?notice=signed_out_partial")
	if d := e.eventsOf("saml_logout")[0].Details; fmt.Sprint(d["skipped"]) != fmt.Sprint([]int64{legacyID}) {
		t.Errorf("the start's skipped %v, want [%d]", d["skipped"], legacyID)
	}
	if !strings.Contains(c.get("/login?notice=signed_out_partial").Body, "not every application confirmed") {
		t.Error("the signed-out page does not say the logout was partial")
	}

	// Without any SAML application in the session, signing out is as before.
	c.signIn(u.Email, testPassword)
	expectRedirect(t, c.post("/logout", nil), "/login?notice=signed_out")
}

// SP-initiated with another SP in the same session: that one is told first, then the SP that
// asked gets weftid's answer.
func TestSAMLLogoutFromSPTellsTheOthers(t *testing.T) {
	e, wiki, u, c := logoutSetup(t, saml.HTTPPostBinding)
	admin := e.newClient()
	admin.signIn("ada@example.com", testPassword)
	chat := e.newLogoutSP("chat.example.test", saml.HTTPPostBinding)
	registerSP(t, admin, "Chat", chat.metadata, false)
	chat.signInAt(c)

	m := logoutPage(t, wiki.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "rs"))
	req := chat.receiveLogoutRequest(m)
	b := e.newClient() // the browser carries the chain; weftid's cookie is not needed
	m = logoutPage(t, chat.respond(b, req, ""))
	if m.URL != wiki.m.ServiceProvider.SloURL.String() || m.Form.Get("RelayState") != "rs" {
		t.Fatalf("the last step goes to %q with RelayState %q, want the Wiki's SLO with rs", m.URL, m.Form.Get("RelayState"))
	}
	if err := wiki.m.ServiceProvider.ValidateLogoutResponseForm(m.Form.Get("SAMLResponse")); err != nil {
		t.Fatalf("the Wiki refuses weftid's LogoutResponse: %v", err)
	}
	expectRedirect(t, c.get("/dashboard"), "/login")
}

// refusedWith sends a LogoutRequest and checks that weftid answers it, signed, at the SP's
// logout service with the status and second-level status given, and ends no session.
func refusedWith(t *testing.T, e *env, sp *testSP, c *client, r *response, status, sub, words string) {
	t.Helper()
	m := logoutPage(t, r)
	if m.URL != sp.m.ServiceProvider.SloURL.String() {
		t.Fatalf("the refusal goes to %q, want the SP's SLO", m.URL)
	}
	// crewjam checks everything but the status first: only the status may be wrong.
	if err := sp.m.ServiceProvider.ValidateLogoutResponseForm(m.Form.Get("SAMLResponse")); err == nil || !strings.Contains(err.Error(), "status code was not") {
		t.Errorf("the SP reads the refusal as %v, want a valid response with a status other than Success", err)
	}
	if got, gotSub := statusOf(t, m); got != status || gotSub != sub {
		t.Errorf("status %q / %q, want %q / %q", got, gotSub, status, sub)
	}
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	ev := e.lastEvent("saml_logout")
	if refused, _ := ev.Details["refused"].(string); !strings.Contains(refused, words) {
		t.Errorf("saml_logout refused %q, want it to say %q", refused, words)
	}
}

func TestSAMLLogoutRefused(t *testing.T) {
	e, sp, u, c := logoutSetup(t, saml.HTTPPostBinding)

	t.Run("signed by another key", func(t *testing.T) {
		impostor := e.newLogoutSP("sp.example.test", saml.HTTPPostBinding) // same entity ID, its own key
		refusedWith(t, e, sp, c, impostor.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, ""),
			saml.StatusRequester, saml.StatusRequestDenied, "signature does not verify")
		refusedWith(t, e, sp, c, e.newClient().get(queryLogoutRequest(t, impostor, u.Email, "", "", dsig.RSASHA256SignatureMethod, crypto.SHA256)),
			saml.StatusRequester, saml.StatusRequestDenied, "signature does not verify")
	})
	t.Run("unsigned", func(t *testing.T) {
		sp.m.ServiceProvider.SignatureMethod = ""
		r := sp.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "")
		sp.m.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
		refusedWith(t, e, sp, c, r, saml.StatusRequester, saml.StatusRequestDenied, "not signed")
	})
	t.Run("SHA-1", func(t *testing.T) {
		sp.m.ServiceProvider.SignatureMethod = dsig.RSASHA1SignatureMethod
		r := sp.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "")
		sp.m.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
		refusedWith(t, e, sp, c, r, saml.StatusRequester, saml.StatusRequestDenied, "SHA-1")
		refusedWith(t, e, sp, c, e.newClient().get(queryLogoutRequest(t, sp, u.Email, "", "", dsig.RSASHA1SignatureMethod, crypto.SHA1)),
			saml.StatusRequester, saml.StatusRequestDenied, "SHA-1")
	})
	t.Run("another destination", func(t *testing.T) {
		saved := sp.m.ServiceProvider.IDPMetadata.IDPSSODescriptors[0].SingleLogoutServices
		sp.m.ServiceProvider.IDPMetadata.IDPSSODescriptors[0].SingleLogoutServices = []saml.Endpoint{
			{Binding: saml.HTTPPostBinding, Location: "https://elsewhere.example/slo"}}
		page, err := sp.m.ServiceProvider.MakePostLogoutRequest(u.Email, "")
		sp.m.ServiceProvider.IDPMetadata.IDPSSODescriptors[0].SingleLogoutServices = saved
		if err != nil {
			t.Fatal(err)
		}
		refusedWith(t, e, sp, c, e.newClient().postRaw("/saml/slo", formOf(t, page, "SAMLRequest"), nil),
			saml.StatusRequester, saml.StatusRequestDenied, "Destination")
	})
	t.Run("expired", func(t *testing.T) {
		saved := saml.TimeNow
		saml.TimeNow = func() time.Time { return e.clock.Now().Add(-10 * time.Minute) }
		r := sp.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "")
		saml.TimeNow = saved
		refusedWith(t, e, sp, c, r, saml.StatusRequester, saml.StatusRequestDenied, "expired")
	})
	t.Run("unknown SP", func(t *testing.T) {
		stranger := e.newLogoutSP("stranger.example.test", saml.HTTPPostBinding)
		r := stranger.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "")
		expectStatus(t, r, http.StatusBadRequest)
		if strings.Contains(r.Body, "SAMLResponse") || !strings.Contains(r.Body, "not registered") {
			t.Errorf("an unknown SP's LogoutRequest: %s, want a page saying so and no SAML answer", r)
		}
		expectStatus(t, c.get("/dashboard"), http.StatusOK)
	})
	t.Run("unreadable", func(t *testing.T) {
		for _, path := range []string{"/saml/slo", "/saml/slo?SAMLRequest=not-base64!", "/saml/slo?SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("<x/>")))} {
			expectStatus(t, e.newClient().get(path), http.StatusBadRequest)
		}
		expectStatus(t, e.newClient().postRaw("/saml/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte("<html/>"))}}, nil), http.StatusBadRequest)
	})
	t.Run("no logout service to answer at", func(t *testing.T) {
		admin := e.newClient()
		admin.signIn("ada@example.com", testPassword)
		legacy := e.newLogoutSP("legacy.example.test")
		registerSP(t, admin, "Legacy", legacy.metadata, false)
		legacy.m.ServiceProvider.SignatureMethod = ""
		r := legacy.logoutRequest(e.newClient(), saml.HTTPPostBinding, u.Email, "")
		expectStatus(t, r, http.StatusBadRequest)
		if strings.Contains(r.Body, "SAMLResponse") {
			t.Errorf("a refusal without a logout service to send it to: %s", r)
		}
		if ev := e.lastEvent("saml_logout"); ev.Details["entity_id"] != legacy.m.ServiceProvider.Metadata().EntityID || ev.Details["refused"] == nil {
			t.Errorf("the refusal is not recorded: %v", ev.Details)
		}
	})
}

// A browser that brings too many logout messages is refused before anything is read.
func TestSAMLLogoutThrottled(t *testing.T) {
	e := newEnv(t)
	c := e.newClient()
	for i := 0; i < 200; i++ {
		if r := c.get("/saml/slo"); r.Status != http.StatusBadRequest {
			t.Fatalf("message %d: %s, want 400", i+1, r)
		}
	}
	expectStatus(t, c.get("/saml/slo"), http.StatusTooManyRequests)
	expectStatus(t, e.newClient().get("/saml/slo"), http.StatusBadRequest) // another address is not
}
