package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"fmt"
	"html"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail/mailtest"
)

// A real SAML service provider: crewjam/saml's samlsp middleware on a loopback httptest server,
// reached by the browser at http://localhost:PORT. The same host as weftid (another port) makes
// it the same site, as an SP under the same domain would be; its cookies are SameSite=Lax.

// Selectors of the SAML pages (views/applications_saml.templ) and of the test SP's page.
const (
	samlNewForm      = `form[action="/applications/saml"]`
	samlNewName      = samlNewForm + ` input[name=name]`
	samlNewFile      = samlNewForm + ` input[name=metadata_file]`
	samlNewSubmit    = samlNewForm + ` button[type=submit]`
	samlPostForm     = `form[data-saml-post]`
	spSignedIn       = `#sp-signed-in`
	backupCodesSaved = `a[role=button]`
)

// samlTestSP is the service provider and what it has received.
type samlTestSP struct {
	srv  *httptest.Server
	root string // http://localhost:PORT
	m    *samlsp.Middleware
	file string // its metadata, written to a file for the upload

	mu         sync.Mutex
	assertions []*saml.Assertion
	logouts    int // LogoutRequests from weftid that the SP verified (saml_logout_test.go)
}

// HandleAssertion records each assertion the SP accepted (its signature checked).
func (sp *samlTestSP) HandleAssertion(a *saml.Assertion) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.assertions = append(sp.assertions, a)
	return nil
}

func (sp *samlTestSP) received() []*saml.Assertion {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return append([]*saml.Assertion(nil), sp.assertions...)
}

// startSAMLSP starts the SP with weftid's metadata (fetched from /saml/metadata as any SP does).
// /app needs a SAML session and shows who it is for; / too (IdP-initiated sign-on lands there).
func startSAMLSP(t *testing.T, idp *server) *samlTestSP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	sp := &samlTestSP{root: fmt.Sprintf("http://localhost:%d", port)}

	md, err := samlsp.FetchMetadata(context.Background(), http.DefaultClient, mustURL(t, idp.url("/saml/metadata")))
	if err != nil {
		t.Fatalf("the SP cannot read weftid's metadata: %v", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sp.m, err = samlsp.New(samlsp.Options{
		URL: mustURL(t, sp.root+"/"), Key: key, Certificate: cert, IDPMetadata: md,
		AllowIDPInitiated: true, CookieSameSite: http.SameSiteLaxMode,
	})
	if err != nil {
		t.Fatal(err)
	}
	sp.m.AssertionHandler = sp

	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := samlsp.SessionFromContext(r.Context()).(samlsp.JWTSessionClaims)
		a := s.GetAttributes()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Test SP</title><main><h1>Test SP</h1>
<dl id="sp-signed-in"><dt>subject</dt><dd id="sp-subject">%s</dd><dt>email</dt><dd id="sp-email">%s</dd>
<dt>name</dt><dd id="sp-name">%s</dd><dt>role</dt><dd id="sp-role">%s</dd></dl></main></html>`,
			html.EscapeString(s.Subject), html.EscapeString(a.Get("email")), html.EscapeString(a.Get("name")), html.EscapeString(a.Get("role")))
	})
	mux := http.NewServeMux()
	mux.Handle("/saml/", sp.m)
	mux.HandleFunc("/saml/slo", sp.serveSLO)
	mux.HandleFunc("/logout", sp.startLogout)
	mux.Handle("/app", sp.m.RequireAccount(page))
	mux.Handle("/", sp.m.RequireAccount(page))
	sp.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	sp.srv.Start()
	t.Cleanup(sp.srv.Close)

	buf, err := xml.MarshalIndent(sp.m.ServiceProvider.Metadata(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	sp.file = filepath.Join(t.TempDir(), "sp-metadata.xml")
	if err := os.WriteFile(sp.file, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	return sp
}

func mustURL(t *testing.T, s string) url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return *u
}

// registerSAMLApp registers the SP as an admin does: Applications > SAML > Register, its
// metadata uploaded as a file.
func registerSAMLApp(t *testing.T, ctx context.Context, srv *server, name string, sp *samlTestSP) {
	t.Helper()
	do(t, ctx, "open Applications > SAML",
		chromedp.Navigate(srv.url("/applications/saml")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/applications/saml/new"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/applications/saml/new"]`)),
		waitPath("/applications/saml/new"),
	)
	do(t, ctx, "register "+name+" with its metadata file",
		fill(samlNewName, name),
		chromedp.SetUploadFiles(chromedp.CSS(samlNewFile), []string{sp.file}),
		chromedp.Click(chromedp.CSS(samlNewSubmit)),
	)
	waitTrue(t, ctx, "wait for the service provider's page",
		`/^\/applications\/saml\/\d+$/.test(location.pathname) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("registering %s failed: %q", name, a)
	}
	if h1 := read(t, ctx, "read the heading", chromedp.Text(chromedp.CSS("h1"))); h1 != name {
		t.Errorf("the service provider's page is headed %q, want %q", h1, name)
	}
	if acs := read(t, ctx, "read the page", textOfAll("main")); !strings.Contains(acs, sp.root+"/saml/acs") {
		t.Errorf("the page does not show the ACS %s/saml/acs:\n%s", sp.root, acs)
	}
}

// spState is what the SP's page says, read in one go.
type spState struct {
	Origin  string `json:"origin"`
	Path    string `json:"path"`
	Subject string `json:"subject"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Role    string `json:"role"`
}

// waitSP waits until the browser is on the SP's page and reads it.
func waitSP(t *testing.T, ctx context.Context, sp *samlTestSP, what string) spState {
	t.Helper()
	waitTrue(t, ctx, what, `location.origin === `+jsString(sp.root)+` && document.querySelector(`+jsString(spSignedIn)+`)`, navTimeout)
	return read(t, ctx, "read the SP's page", chromedp.Evaluate[spState](`({
		origin: location.origin, path: location.pathname,
		subject: document.querySelector("#sp-subject").textContent, email: document.querySelector("#sp-email").textContent,
		name: document.querySelector("#sp-name").textContent, role: document.querySelector("#sp-role").textContent,
	})`))
}

func checkSPState(t *testing.T, got spState, email, name, role string) {
	t.Helper()
	want := spState{Origin: got.Origin, Path: got.Path, Subject: email, Email: email, Name: name, Role: role}
	if got != want {
		t.Errorf("the SP signed in %+v, want subject and email %q, name %q, role %q", got, email, name, role)
	}
}

// codeSubject is the subject of the mail with a sign-in code.
const codeSubject = "Your weftid sign-in code"

// codeFromMail waits for the next sign-in code mailed to email, past the notices (a new
// browser's sign-in, a factor added) that weftid mails in the background before it.
func codeFromMail(t *testing.T, ctx context.Context, srv *server, email string) string {
	t.Helper()
	mailCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mailCtx, email, codeSubject)
	if err != nil {
		t.Fatalf("wait for the sign-in code mail: %v", err)
	}
	code := mailtest.FindCode(msg.Text)
	if code == "" {
		t.Fatalf("no code in the mail:\n%s", msg.Text)
	}
	return code
}

// TestSAMLSignInBaseline: an admin registers the SP by uploading its metadata; a user opens the
// SP, is sent to weftid, signs in with the password and the mailed code, and arrives at the SP
// signed in with the right NameID and attributes; then opens it again from the dashboard
// (IdP-initiated), which the SP accepts too.
func TestSAMLSignInBaseline(t *testing.T) {
	const (
		adminEmail = "ada@example.com"
		email      = "grace@example.com"
		name       = "Grace Hopper"
		password   = "correct horse battery staple 42"
	)
	began := time.Now()
	lap := admLap(t, began)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Ada Lovelace", "admin", password)
	srv.addUser(t, email, name, "user", password)
	sp := startSAMLSP(t, srv)
	actx := newBrowser(t)
	pwSignIn(t, actx, srv, adminEmail, password)
	registerSAMLApp(t, actx, srv, "Team wiki", sp)
	admShot(t, actx, "/tmp/weftid-saml-app-375.png", 375, 740, nil)
	do(t, actx, "open Applications > SAML", chromedp.Navigate(srv.url("/applications/saml")), waitPath("/applications/saml"))
	admShot(t, actx, "/tmp/weftid-saml-apps-375.png", 375, 740, nil)
	lap("the SP is registered")

	ctx := admTab(t, actx, "user")
	do(t, ctx, "open the SP",
		chromedp.Navigate(sp.root+"/app"),
		waitPath("/login"),
		chromedp.WaitVisible(chromedp.CSS(loginEmail)),
	)
	if n := len(sp.received()); n != 0 {
		t.Fatalf("the SP has %d assertions before the user signed in", n)
	}
	do(t, ctx, "sign in with the password",
		fill(loginEmail, email),
		fill(loginPassword, password),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
	)
	do(t, ctx, "submit the mailed code",
		fill(codeInput, codeFromMail(t, ctx, srv, email)),
		chromedp.Click(chromedp.CSS(codeSubmit)),
	)
	got := waitSP(t, ctx, sp, "wait for the SP's page")
	checkSPState(t, got, email, name, "user")
	if got.Path != "/app" {
		t.Errorf("the SP sent the browser to %s, want /app (where it started)", got.Path)
	}
	if n := len(sp.received()); n != 1 {
		t.Errorf("the SP received %d assertions, want 1", n)
	}
	lap("SP-initiated sign-in reached the SP")

	// IdP-initiated: the dashboard lists the SP; Open signs the user in to it again.
	do(t, ctx, "open the dashboard",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#saml-apps button[aria-label="Open Team wiki"]`)),
	)
	if text := read(t, ctx, "read the applications", textOfAll("#saml-apps")); !strings.Contains(text, "Team wiki") {
		t.Errorf("the dashboard's applications %q do not name Team wiki", text)
	}
	do(t, ctx, "press Open", chromedp.Click(chromedp.CSS(`#saml-apps button[aria-label="Open Team wiki"]`)))
	got = waitSP(t, ctx, sp, "wait for the SP's page after Open")
	checkSPState(t, got, email, name, "user")
	received := sp.received()
	if len(received) != 2 {
		t.Fatalf("the SP received %d assertions, want 2", len(received))
	}
	if a := received[1]; a.Subject.NameID.Value != email || a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo != "" {
		t.Errorf("the IdP-initiated assertion: NameID %q, InResponseTo %q; want %q and none", a.Subject.NameID.Value, a.Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo, email)
	}
	lap("IdP-initiated sign-in reached the SP")

	// Without JavaScript the response page waits with its Continue button, whose post to the
	// SP's origin the page's CSP allows (form-action 'self' alone would block it).
	do(t, ctx, "open the dashboard", chromedp.Navigate(srv.url("/dashboard")), waitPath("/dashboard"))
	admShot(t, ctx, "/tmp/weftid-saml-dashboard-375.png", 375, 740, nil)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}
	do(t, ctx, "press Open with JavaScript off",
		chromedp.Click(chromedp.CSS(`#saml-apps button[aria-label="Open Team wiki"]`)),
		chromedp.WaitVisible(chromedp.CSS(samlPostForm+` button[type=submit]`)),
	)
	if h1 := read(t, ctx, "read the response page", chromedp.Text(chromedp.CSS("h1"))); h1 != "Signing you in to Team wiki" {
		t.Errorf("the response page is headed %q", h1)
	}
	admShot(t, ctx, "/tmp/weftid-saml-response-375.png", 375, 740, nil)
	if n := len(sp.received()); n != 2 {
		t.Fatalf("the SP received %d assertions before Continue, want 2", n)
	}
	do(t, ctx, "press Continue", chromedp.Click(chromedp.CSS(samlPostForm+` button[type=submit]`)))
	got = waitSP(t, ctx, sp, "wait for the SP's page after Continue")
	checkSPState(t, got, email, name, "user")
	if n := len(sp.received()); n != 3 {
		t.Errorf("the SP received %d assertions, want 3", n)
	}
	lap("without JavaScript, Continue reached the SP")
}

// TestSAMLEnhancedWaitsForEnrollment: under Enhanced, a user with only e-mail codes opens the SP,
// signs in, and lands on enrollment, not at the SP; opening the SP again leads back there; only
// after setting up TOTP does the browser go on to the SP, which then receives the assertion.
func TestSAMLEnhancedWaitsForEnrollment(t *testing.T) {
	const (
		adminEmail = "frances@example.com"
		email      = "dorothy@example.com"
		name       = "Dorothy Vaughan"
	)
	began := time.Now()
	lap := admLap(t, began)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Frances Allen", "super_admin", enrollPassword)
	srv.addUser(t, email, name, "user", enrollPassword)
	sp := startSAMLSP(t, srv)
	actx := newBrowser(t)
	setEnhanced(t, actx, srv, adminEmail)
	registerSAMLApp(t, actx, srv, "Payroll", sp)
	lap("Enhanced, the SP registered")

	ctx := admTab(t, actx, "user")
	do(t, ctx, "open the SP",
		chromedp.Navigate(sp.root+"/app"),
		waitPath("/login"),
		fill(loginEmail, email),
		fill(loginPassword, enrollPassword),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
	)
	do(t, ctx, "submit the mailed code",
		fill(codeInput, codeFromMail(t, ctx, srv, email)),
		chromedp.Click(chromedp.CSS(codeSubmit)),
		waitPath("/login/enroll"),
		chromedp.WaitVisible(chromedp.CSS(enrollTOTPLink)),
	)
	if n := len(sp.received()); n != 0 {
		t.Fatalf("the SP received %d assertions while enrollment is pending", n)
	}
	// Opening the SP again (a new AuthnRequest) leads back to enrollment.
	do(t, ctx, "open the SP again",
		chromedp.Navigate(sp.root+"/app"),
		waitPath("/login/enroll"),
		chromedp.WaitVisible(chromedp.CSS(enrollTOTPLink)),
	)
	if n := len(sp.received()); n != 0 {
		t.Fatalf("the SP received %d assertions while enrollment is pending", n)
	}
	lap("enrollment pending; the SP got nothing")

	chooseEnrollPath(t, ctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	do(t, ctx, "open \"Can't scan it?\"",
		chromedp.Click(chromedp.CSS(enrollPath+` details:has(#totp-secret) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(enrollPath+` #totp-secret`)),
	)
	secret := strings.ReplaceAll(strings.TrimSpace(read(t, ctx, "read the key", chromedp.Text(chromedp.CSS(enrollPath+` #totp-secret`)))), " ", "")
	code, err := auth.TOTPCode(secret, auth.TOTPStep(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "turn TOTP on with "+code,
		removeAlerts(),
		fill(enrollTOTPCode, code),
		chromedp.Click(chromedp.CSS(enrollTOTPSubmit)),
	)
	waitTrue(t, ctx, "wait for the backup codes",
		`document.querySelector(`+jsString(backupCodesPre)+`) || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	if a := read(t, ctx, "look for an error", textOfAll(alert)); a != "" {
		t.Fatalf("the code %s was refused: %q", code, a)
	}
	if n := len(sp.received()); n != 0 {
		t.Fatalf("the SP received %d assertions before the user went on from the backup codes", n)
	}
	next := read(t, ctx, "read where the backup codes page goes on", chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll(`+jsString(backupCodesSaved)+`)).map(a => a.getAttribute("href")).find(h => h && h.startsWith("/saml/continue/")) || ""`))
	if next == "" {
		t.Fatalf("the backup codes page does not go on to the held SAML request")
	}
	do(t, ctx, "go on", chromedp.Click(chromedp.CSS(backupCodesSaved+`[href="`+next+`"]`)))
	got := waitSP(t, ctx, sp, "wait for the SP's page after enrolling")
	checkSPState(t, got, email, name, "user")
	if n := len(sp.received()); n != 1 {
		t.Errorf("the SP received %d assertions, want 1", n)
	}
	lap("enrolled; the SP received the assertion")
}
