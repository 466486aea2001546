package handlers_test

// What an AuthnRequest may ask (SAML Core 3.4.1), against a real crewjam service provider:
// ForceAuthn, IsPassive, ProtocolBinding and RequestedAuthnContext, each either honoured or
// refused with a signed status response the SP reads.

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
)

// spRequest makes the SP's AuthnRequest (HTTP-Redirect, answered by HTTP-POST), lets change
// alter it, and returns the path the browser opens at weftid and the request's ID.
func (sp *testSP) spRequest(change func(*saml.AuthnRequest)) (string, string) {
	sp.t.Helper()
	req, err := sp.m.ServiceProvider.MakeAuthenticationRequest(samlSSOURL, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		sp.t.Fatal(err)
	}
	change(req)
	u, err := req.Redirect("", &sp.m.ServiceProvider)
	if err != nil {
		sp.t.Fatal(err)
	}
	return strings.TrimPrefix(u.String(), baseURL), req.ID
}

// expectStatusResponse checks that r posts the SP a signed Response to requestID with no
// assertion and the second-level status sub, which the SP's own parser reads as a refusal.
func (sp *testSP) expectStatusResponse(r *response, requestID, sub string) {
	sp.t.Helper()
	p := postPage(sp.t, r)
	raw, err := base64.StdEncoding.DecodeString(p.Form.Get("SAMLResponse"))
	if err != nil {
		sp.t.Fatal(err)
	}
	var resp saml.Response
	if err := xml.Unmarshal(raw, &resp); err != nil {
		sp.t.Fatal(err)
	}
	if resp.InResponseTo != requestID || resp.Assertion != nil || resp.EncryptedAssertion != nil ||
		resp.Status.StatusCode.StatusCode == nil || resp.Status.StatusCode.StatusCode.Value != sub {
		sp.t.Errorf("want a status response %s to %s without an assertion, got:\n%s", sub, requestID, raw)
	}
	if !strings.Contains(string(raw), "<ds:Signature") {
		sp.t.Errorf("the status response is not signed:\n%s", raw)
	}
	hr := httptest.NewRequest(http.MethodPost, p.Action, strings.NewReader(p.Form.Encode()))
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := hr.ParseForm(); err != nil {
		sp.t.Fatal(err)
	}
	_, err = sp.m.ServiceProvider.ParseResponse(hr, []string{requestID})
	var ie *saml.InvalidResponseError
	var bad saml.ErrBadStatus
	if !errors.As(err, &ie) || !errors.As(ie.PrivateErr, &bad) {
		sp.t.Errorf("the SP's parser: %v, want a bad status (it verified the rest)", err)
	}
}

func TestSAMLRequestRulesRefused(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	yes := true
	anon := e.newClient()

	// IsPassive without a session: NoPassive, and no sign-in is started.
	path, id := sp.spRequest(func(r *saml.AuthnRequest) { r.IsPassive = &yes })
	sp.expectStatusResponse(anon.get(path), id, saml.StatusNoPassive)

	for name, c := range map[string]struct {
		change func(*saml.AuthnRequest)
		status string
	}{
		"HTTP-Artifact": {func(r *saml.AuthnRequest) { r.ProtocolBinding = saml.HTTPArtifactBinding }, saml.StatusUnsupportedBinding},
		"unknown class": {func(r *saml.AuthnRequest) {
			r.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: "urn:foo"}
		}, saml.StatusNoAuthnContext},
	} {
		path, id := sp.spRequest(c.change)
		t.Run(name, func(t *testing.T) { sp.expectStatusResponse(anon.get(path), id, c.status) })
	}
	if n := len(e.eventsOf("saml_assertion_issued")); n != 0 {
		t.Fatalf("%d assertions issued to refused requests", n)
	}

	// Signed in: a passive request is answered; the classes weftid asserts are accepted.
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	for _, change := range []func(*saml.AuthnRequest){
		func(r *saml.AuthnRequest) { r.IsPassive = &yes },
		func(r *saml.AuthnRequest) {
			r.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
		},
		func(r *saml.AuthnRequest) { // answered with the email address, as every SP takes it
			f := "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
			r.NameIDPolicy = &saml.NameIDPolicy{Format: &f}
		},
	} {
		path, id := sp.spRequest(change)
		sp.assertion(postPage(t, b.get(path)), id)
	}

	// The REFEDS MFA class from an email-code session: a step-up, or NoPassive when passive.
	mfa := func(r *saml.AuthnRequest) {
		r.RequestedAuthnContext = &saml.RequestedAuthnContext{Comparison: "exact", AuthnContextClassRef: "https://refeds.org/profile/mfa"}
	}
	path, _ = sp.spRequest(mfa)
	r := b.get(path)
	expectRedirect(t, r, "/login/enroll")
	issuedNothing(t, r, "an MFA request from an email-code session")
	path, id = sp.spRequest(func(r *saml.AuthnRequest) { mfa(r); r.IsPassive = &yes })
	sp.expectStatusResponse(b.get(path), id, saml.StatusNoPassive)
}

// ForceAuthn: a signed-in user confirms "Sign in again" (a form), the session ends, and the
// assertion comes from the new sign-in; a passive one gets NoPassive; without a session the
// ordinary sign-in is fresh enough.
func TestSAMLForceAuthn(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	yes := true
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	e.clock.Advance(time.Second) // the session is older than the request (stored to the second)

	path, id := sp.spRequest(func(r *saml.AuthnRequest) { r.ForceAuthn = &yes })
	r := b.get(path)
	expectStatus(t, r, http.StatusOK)
	issuedNothing(t, r, "ForceAuthn with an existing session")
	bodyHas(t, "the confirmation", r.Body, "<h1>Sign in again</h1>", `action="/saml/reauth"`, "Wiki asks you to sign in again")
	expectStatus(t, b.get("/dashboard"), http.StatusOK) // the page alone signs nobody out

	// Without the CSRF token the form does nothing.
	m := strings.SplitN(strings.SplitN(r.Body, `name="id" value="`, 2)[1], `"`, 2)
	expectStatus(t, b.postRaw("/saml/reauth", map[string][]string{"id": {m[0]}}, nil), http.StatusForbidden)
	expectStatus(t, b.get("/dashboard"), http.StatusOK)

	r = b.post("/saml/reauth", map[string][]string{"id": {m[0]}})
	expectRedirect(t, r, "/login")
	expectRedirect(t, b.get("/dashboard"), "/login")
	if ev := e.lastEvent("user_signed_out"); ev.Details["reason"] != "force_authn" {
		t.Errorf("user_signed_out details %v, want reason force_authn", ev.Details)
	}
	b.startSignIn(u.Email, testPassword)
	r = b.post("/login/verify", map[string][]string{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("the new sign-in does not continue to the held request: %s", r)
	}
	sp.assertion(postPage(t, b.get(r.Location)), id)

	// Passive and forced from a session older than the request: NoPassive.
	e.clock.Advance(time.Second)
	path, id = sp.spRequest(func(r *saml.AuthnRequest) { r.ForceAuthn, r.IsPassive = &yes, &yes })
	sp.expectStatusResponse(b.get(path), id, saml.StatusNoPassive)

	// Without a session: the sign-in the request waits for is fresh.
	c := e.newClient()
	path, id = sp.spRequest(func(r *saml.AuthnRequest) { r.ForceAuthn = &yes })
	r = c.get(path)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("ForceAuthn without a session: %s", r)
	}
	expectRedirect(t, c.get(r.Location), "/login")
	c.startSignIn(u.Email, testPassword)
	r = c.post("/login/verify", map[string][]string{"code": {e.waitCode(u.Email)}, "method": {"email"}})
	sp.assertion(postPage(t, c.get(r.Location)), id)
}

// reauthID reads the held request's id from the "Sign in again" page.
func reauthID(t *testing.T, r *response) string {
	t.Helper()
	expectStatus(t, r, http.StatusOK)
	_, rest, ok := strings.Cut(r.Body, `name="id" value="`)
	if !ok {
		t.Fatalf("no Sign in again form:\n%s", r)
	}
	id, _, _ := strings.Cut(rest, `"`)
	return id
}

// A request held again keeps its first arrival and its life: opening its continuation again and
// again (each time a new "Sign in again" page) cannot keep it past PendingTTL (15 minutes).
func TestSAMLHeldRequestLifeIsNotRenewed(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	yes := true
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	e.clock.Advance(time.Second)
	path, _ := sp.spRequest(func(r *saml.AuthnRequest) { r.ForceAuthn = &yes })
	id := reauthID(t, b.get(path))
	e.clock.Advance(14 * time.Minute)
	id = reauthID(t, b.get("/saml/continue/"+id)) // held again, not renewed
	e.clock.Advance(2 * time.Minute)
	r := b.get("/saml/continue/" + id)
	expectStatus(t, r, http.StatusNotFound)
	issuedNothing(t, r, "a request 16 minutes old")
}

// IsPassive by HTTP-POST: the POST shows no session (another site's POST carries no SameSite=Lax
// cookie), so the request is held; at the continuation, still without a session, it gets
// NoPassive rather than the sign-in page. An unsupported binding by POST is refused at once.
func TestSAMLPassiveByPost(t *testing.T) {
	e, sp, _, _ := samlSetup(t)
	yes := true
	req, err := sp.m.ServiceProvider.MakeAuthenticationRequest(samlSSOURL, saml.HTTPPostBinding, saml.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	req.IsPassive = &yes
	form := formOf(t, req.Post(""), "SAMLRequest")
	c := e.newClient()
	r := c.postRaw("/saml/sso", form, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/saml/continue/") {
		t.Fatalf("a passive POST: %s, want the continuation", r)
	}
	sp.expectStatusResponse(c.get(r.Location), req.ID, saml.StatusNoPassive)

	req, _ = sp.m.ServiceProvider.MakeAuthenticationRequest(samlSSOURL, saml.HTTPPostBinding, saml.HTTPPostBinding)
	req.ProtocolBinding = saml.HTTPArtifactBinding
	sp.expectStatusResponse(c.postRaw("/saml/sso", formOf(t, req.Post(""), "SAMLRequest"), nil), req.ID, saml.StatusUnsupportedBinding)
}

// A signed-in browser's holds (fresh sign-ins, step-ups) count against its address like an
// anonymous browser's requests: it cannot fill the held requests.
func TestSAMLSignedInHoldsLimited(t *testing.T) {
	e, sp, u, _ := samlSetup(t)
	yes := true
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	e.clock.Advance(time.Second)
	for i := 0; ; i++ {
		path, _ := sp.spRequest(func(r *saml.AuthnRequest) { r.ForceAuthn = &yes })
		r := b.get(path)
		if r.Status == http.StatusTooManyRequests {
			if i < 10 {
				t.Fatalf("refused after %d holds", i)
			}
			break
		}
		expectStatus(t, r, http.StatusOK)
		if i > 1000 {
			t.Fatal("1,000 holds from one signed-in browser and no limit")
		}
	}
}

// A service provider registered before the https rule keeps working: its stored http
// addresses are read as they were accepted (sign-out and IdP-initiated sign-on).
func TestSAMLStoredHTTPMetadataStillRead(t *testing.T) {
	e, _, u, c := logoutSetup(t, saml.HTTPPostBinding)
	ctx := context.Background()
	sps, err := e.store.SAMLServiceProviders(ctx)
	if err != nil || len(sps) != 1 {
		t.Fatalf("service providers: %v %v", sps, err)
	}
	old := sps[0]
	old.Metadata = strings.ReplaceAll(old.Metadata, `Location="https://sp.example.test`, `Location="http://sp.example.test`)
	if err := e.store.UpdateSAMLServiceProvider(ctx, old); err != nil {
		t.Fatal(err)
	}
	m := logoutPage(t, c.post("/logout", nil))
	if !strings.HasPrefix(m.URL, "http://sp.example.test/") {
		t.Errorf("the LogoutRequest goes to %q, want the stored http address", m.URL)
	}
	c.signIn(u.Email, testPassword)
	expectStatus(t, c.get("/dashboard"), http.StatusOK)
	p := postPage(t, c.post(fmt.Sprintf("/saml/idp/%d", old.ID), nil))
	if !strings.HasPrefix(p.Action, "http://sp.example.test/") {
		t.Errorf("IdP-initiated sign-on posts to %q, want the stored http address", p.Action)
	}
}
