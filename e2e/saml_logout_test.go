package e2e

// SAML Single Logout in Chromium: signing out of weftid signs the user out of the SP through the
// browser and comes back to weftid's signed-out page; signing out at the SP ends the weftid
// session and comes back to the SP. The SP is the samlsp one of saml_test.go, with the single
// logout service crewjam/saml leaves to its users: serveSLO and startLogout below.

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	dsig "github.com/russellhaering/goxmldsig"
)

const spSignedOut = `#sp-signed-out`

// serveSLO is the SP's single logout service (HTTP-POST). weftid's LogoutRequest is verified
// against the signing certificates of weftid's metadata (as crewjam verifies responses), ends the
// SP's session and is answered with crewjam's signed LogoutResponse; weftid's LogoutResponse to
// the SP's own request is checked by crewjam (ValidateLogoutResponseRequest) and ends the SP's
// session.
func (sp *samlTestSP) serveSLO(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("SAMLResponse") != "" {
		if err := sp.m.ServiceProvider.ValidateLogoutResponseRequest(r); err != nil {
			http.Error(w, "the SP refuses weftid's LogoutResponse: "+err.Error(), http.StatusForbidden)
			return
		}
		sp.m.Session.DeleteSession(w, r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Test SP</title><main><h1>Test SP</h1><p id="sp-signed-out">Signed out</p></main></html>`)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
	doc := etree.NewDocument()
	if err == nil {
		err = doc.ReadFromBytes(raw)
	}
	var verified *etree.Element
	if err == nil {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: sp.idpCerts()})
		ctx.IdAttribute = "ID"
		verified, err = ctx.Validate(doc.Root())
	}
	var req saml.LogoutRequest
	if err == nil {
		d := etree.NewDocument()
		d.SetRoot(verified)
		buf, _ := d.WriteToBytes()
		err = xml.Unmarshal(buf, &req)
	}
	if err == nil && req.Destination != sp.m.ServiceProvider.SloURL.String() {
		err = fmt.Errorf("Destination %q", req.Destination)
	}
	if err != nil {
		http.Error(w, "the SP refuses weftid's LogoutRequest: "+err.Error(), http.StatusForbidden)
		return
	}
	sp.mu.Lock()
	sp.logouts++
	sp.mu.Unlock()
	sp.m.Session.DeleteSession(w, r)
	page, err := sp.m.ServiceProvider.MakePostLogoutResponse(req.ID, r.PostForm.Get("RelayState"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(page)
}

// startLogout is the SP's "Sign out": its signed LogoutRequest, by HTTP-Redirect, to weftid.
func (sp *samlTestSP) startLogout(w http.ResponseWriter, r *http.Request) {
	s, err := sp.m.Session.GetSession(r)
	if err != nil {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	u, err := sp.m.ServiceProvider.MakeRedirectLogoutRequest(s.(samlsp.JWTSessionClaims).Subject, "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// idpCerts are the signing certificates of weftid's metadata as the SP holds it.
func (sp *samlTestSP) idpCerts() []*x509.Certificate {
	var out []*x509.Certificate
	for _, kd := range sp.m.ServiceProvider.IDPMetadata.IDPSSODescriptors[0].KeyDescriptors {
		if kd.Use != "signing" {
			continue
		}
		der, _ := base64.StdEncoding.DecodeString(kd.KeyInfo.X509Data.X509Certificates[0].Data)
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func (sp *samlTestSP) logoutCount() int {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.logouts
}

// startLogoutSP is the test SP signing its messages with RSA-SHA256, so that its metadata (the
// file an admin uploads) has a signing certificate and its POST single logout service.
func startLogoutSP(t *testing.T, srv *server) *samlTestSP {
	t.Helper()
	sp := startSAMLSP(t, srv)
	sp.m.ServiceProvider.SignatureMethod = dsig.RSASHA256SignatureMethod
	buf, err := xml.MarshalIndent(sp.m.ServiceProvider.Metadata(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp.file, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	return sp
}

func TestSAMLSingleLogout(t *testing.T) {
	const (
		adminEmail = "ada@example.com"
		email      = "grace@example.com"
		name       = "Grace Hopper"
		password   = "correct horse battery staple 42"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Ada Lovelace", "admin", password)
	srv.addUser(t, email, name, "user", password)
	sp := startLogoutSP(t, srv)
	actx := newBrowser(t)
	pwSignIn(t, actx, srv, adminEmail, password)
	registerSAMLApp(t, actx, srv, "Team wiki", sp)
	lap("the SP is registered")

	// Signed in to weftid and, through it, to the SP.
	ctx := admTab(t, actx, "user")
	signInToSP := func(what string) {
		t.Helper()
		do(t, ctx, what, chromedp.Navigate(sp.root+"/app"), waitPath("/login"))
		signInWithCode(t, ctx, srv, email, password, "/app")
		checkSPState(t, waitSP(t, ctx, sp, "wait for the SP's page"), email, name, "user")
	}
	signInToSP("open the SP")

	// Signing out of weftid: the browser takes weftid's LogoutRequest to the SP, which signs the
	// user out and answers, and lands on weftid's signed-out page.
	do(t, ctx, "sign out of weftid",
		chromedp.Navigate(srv.url("/dashboard")),
		chromedp.WaitVisible(chromedp.CSS(logoutButton)),
		chromedp.Click(chromedp.CSS(logoutButton)),
		waitPath("/login"),
	)
	waitTrue(t, ctx, "wait for the signed-out notice", `(document.querySelector(".notice")?.innerText || "").includes("You have signed out.")`, navTimeout)
	if n := sp.logoutCount(); n != 1 {
		t.Fatalf("the SP verified %d LogoutRequests, want 1", n)
	}
	do(t, ctx, "open the SP again: signed out there too",
		chromedp.Navigate(sp.root+"/app"),
		waitPath("/login"),
	)
	lap("signing out of weftid signed the user out of the SP")

	// Signing out at the SP: weftid ends its session and answers the SP.
	signInToSP("sign in again through the SP")
	do(t, ctx, "sign out at the SP",
		chromedp.Navigate(sp.root+"/logout"),
		chromedp.WaitVisible(chromedp.CSS(spSignedOut)),
	)
	do(t, ctx, "open weftid's dashboard: signed out",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
	)
	lap("signing out at the SP signed the user out of weftid")
}

// TestSAMLMetadataURLAndKeyRotation: a super admin registers the SP by its metadata URL (the SP
// is on loopback, which --saml-metadata-allowed-hosts allows), refreshes it, and rotates the
// SAML signing key; the user still signs in to the SP, whose metadata predates the rotation.
func TestSAMLMetadataURLAndKeyRotation(t *testing.T) {
	const (
		rootEmail = "frances@example.com"
		email     = "grace@example.com"
		password  = "correct horse battery staple 42"
	)
	lap := admLap(t, time.Now())
	srv := startServer(t, "--saml-metadata-allowed-hosts", "localhost")
	srv.addUser(t, rootEmail, "Frances Allen", "super_admin", password)
	srv.addUser(t, email, "Grace Hopper", "user", password)
	sp := startLogoutSP(t, srv)
	ctx := newBrowser(t)
	pwSignIn(t, ctx, srv, rootEmail, password)
	do(t, ctx, "register the SP by its metadata URL",
		chromedp.Navigate(srv.url("/applications/saml/new")),
		fill(samlNewName, "Team wiki"),
		fill(samlNewForm+` input[name=metadata_url]`, sp.root+"/saml/metadata"),
		chromedp.Click(chromedp.CSS(samlNewSubmit)),
	)
	waitTrue(t, ctx, "wait for the service provider's page",
		`/^\/applications\/saml\/\d+$/.test(location.pathname) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("registering by URL failed: %q", a)
	}
	if text := read(t, ctx, "read the page", textOfAll("main")); !strings.Contains(text, sp.root+"/saml/metadata") {
		t.Errorf("the SP's page does not show its metadata URL:\n%s", text)
	}
	do(t, ctx, "press Refresh metadata",
		chromedp.Click(chromedp.CSS(`form[action$="/refresh"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
	)
	// (crewjam's metadata carries a new validUntil each time: it has changed.)
	if n := read(t, ctx, "read the notice", textOfAll(".notice")); !strings.Contains(n, "fetched again from its URL and saved") {
		t.Errorf("after Refresh the page says %q", n)
	}
	lap("registered by URL and refreshed")

	do(t, ctx, "rotate the SAML signing key",
		chromedp.Navigate(srv.url("/applications")),
		chromedp.Click(chromedp.CSS(`#saml-keys details > summary`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/applications/saml/rotate-key"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/applications/saml/rotate-key"] button`)),
		waitPath("/applications"),
		chromedp.WaitVisible(chromedp.CSS(`#saml-keys li[data-state="next"]`)),
	)
	if n := read(t, ctx, "count the published keys", chromedp.Evaluate[int](`document.querySelectorAll("#saml-keys li").length`)); n != 2 {
		t.Errorf("the page lists %d SAML keys after rotating, want 2", n)
	}
	lap("rotated")

	user := admTab(t, ctx, "user")
	do(t, user, "open the SP", chromedp.Navigate(sp.root+"/app"), waitPath("/login"))
	signInWithCode(t, user, srv, email, password, "/app")
	checkSPState(t, waitSP(t, user, sp, "wait for the SP's page"), email, "Grace Hopper", "user")
	lap("the SP still accepts weftid's responses")
}
