package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail/mailtest"
)

// relyingParty is a real OpenID Connect relying party on a loopback httptest server:
// golang.org/x/oauth2 for the code flow with PKCE, go-oidc verifying the ID token against
// weftid's discovery and JWKS.
type relyingParty struct {
	t        *testing.T
	srv      *httptest.Server
	conf     oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string][2]string // state -> PKCE verifier, nonce
	token   *oauth2.Token
	claims  idClaims // of the last ID token
	email   string
	err     error
	// loggedOut is the query the RP's post-logout page got last ("" before).
	loggedOut string
}

// idClaims are the ID token's claims about how the user signed in.
type idClaims struct {
	ACR string   `json:"acr"`
	AMR []string `json:"amr"`
}

func startRP(t *testing.T) *relyingParty {
	t.Helper()
	rp := &relyingParty{t: t, pending: map[string][2]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		verifier, state, nonce := oauth2.GenerateVerifier(), auth.NewToken(), auth.NewToken()
		rp.mu.Lock()
		rp.pending[state] = [2]string{verifier, nonce}
		rp.mu.Unlock()
		http.Redirect(w, r, rp.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), http.StatusFound)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		email, err := rp.callback(r)
		rp.mu.Lock()
		rp.email, rp.err = email, err
		rp.mu.Unlock()
		if err != nil {
			http.Error(w, "RP error: "+err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `<!doctype html><title>RP</title><h1 id="rp-signed-in">Signed in to the RP as %s</h1>`, html.EscapeString(email))
	})
	mux.HandleFunc("/signed-out", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		rp.loggedOut = r.URL.RawQuery
		rp.mu.Unlock()
		fmt.Fprint(w, `<!doctype html><title>RP</title><h1 id="rp-signed-out">Signed out of the RP</h1>`)
	})
	rp.srv = httptest.NewServer(mux) // 127.0.0.1, an http loopback redirect URI weftid accepts
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) redirectURI() string { return rp.srv.URL + "/callback" }

// configure discovers weftid (the issuer must match exactly) once the client is registered.
func (rp *relyingParty) configure(issuer, clientID, secret string) {
	rp.t.Helper()
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		rp.t.Fatalf("RP discovery of %s: %v", issuer, err)
	}
	rp.provider = p
	rp.verifier = p.Verifier(&gooidc.Config{ClientID: clientID})
	rp.conf = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: rp.redirectURI(),
		Scopes: []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}}
}

func (rp *relyingParty) callback(r *http.Request) (string, error) {
	if e := r.URL.Query().Get("error"); e != "" {
		return "", fmt.Errorf("authorization error %s: %s", e, r.URL.Query().Get("error_description"))
	}
	state := r.URL.Query().Get("state")
	rp.mu.Lock()
	p, ok := rp.pending[state]
	delete(rp.pending, state)
	rp.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("unknown state")
	}
	tok, err := rp.conf.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(p[0]))
	if err != nil {
		return "", fmt.Errorf("exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(r.Context(), raw)
	if err != nil {
		return "", fmt.Errorf("ID token: %w", err)
	}
	if idt.Nonce != p[1] {
		return "", fmt.Errorf("nonce mismatch")
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("ID token claims: %w", err)
	}
	// op puts the profile and email claims in the ID token only when no access token is
	// issued; the RP reads them from userinfo with its access token.
	ui, err := rp.provider.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		return "", fmt.Errorf("userinfo: %w", err)
	}
	if ui.Subject != idt.Subject {
		return "", fmt.Errorf("userinfo subject %q, ID token subject %q", ui.Subject, idt.Subject)
	}
	rp.mu.Lock()
	rp.token, rp.claims = tok, claims
	rp.mu.Unlock()
	return ui.Email, nil
}

func (rp *relyingParty) result() (*oauth2.Token, string, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.token, rp.email, rp.err
}

func (rp *relyingParty) refresh(refreshToken string) (*oauth2.Token, error) {
	return rp.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
}

// introspect asks weftid whether an access token is active, as the RP's client.
func (rp *relyingParty) introspect(issuer, token string) bool {
	rp.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(rp.conf.ClientID), url.QueryEscape(rp.conf.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rp.t.Fatalf("introspect: %v", err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		rp.t.Fatalf("introspect answered %d: %v", resp.StatusCode, err)
	}
	return m["active"] == true
}

// registerOIDCApp registers the RP on the Applications page as a signed-in admin and returns
// the client id and the secret the page shows once. extra fills more of the form.
func registerOIDCApp(t *testing.T, ctx context.Context, srv *server, name, redirectURI string, extra ...chromedp.Action[chromedp.Void]) (string, string) {
	t.Helper()
	do(t, ctx, "open the dashboard", chromedp.Navigate(srv.url("/dashboard")))
	clickMainNav(t, ctx, "/applications")
	do(t, ctx, "open Applications",
		waitPath("/applications"),
		chromedp.Click(chromedp.CSS(`a[href="/applications/oidc/new"]`)),
		waitPath("/applications/oidc/new"),
		fill(`#name`, name),
		fill(`#redirect_uris`, redirectURI),
		fill(`#home_url`, "https://app.example.com/"),
	)
	do(t, ctx, "fill in the rest and register", append(extra,
		chromedp.Click(chromedp.CSS(`form[action="/applications/oidc"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#client-id`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret-value`)),
	)...)
	id := read(t, ctx, "read the client id", chromedp.Text(chromedp.CSS(`#client-id`)))
	secret := read(t, ctx, "read the secret", chromedp.Evaluate[string](`document.querySelector("#secret-value").value`))
	if id == "" || secret == "" {
		t.Fatalf("client id %q or secret %q missing", id, secret)
	}
	return strings.TrimSpace(id), secret
}

// waitRP waits until the browser shows the RP's signed-in page (or an error anywhere).
func waitRP(t *testing.T, ctx context.Context, rp *relyingParty, email string) *oauth2.Token {
	t.Helper()
	waitTrue(t, ctx, "wait for the RP's signed-in page",
		`(location.origin === `+jsString(rp.srv.URL)+` && document.readyState === "complete" && document.body && document.body.innerText !== "") || document.querySelector(`+jsString(alert)+`)`, navTimeout)
	tok, got, err := rp.result()
	if err != nil {
		t.Fatalf("the RP failed: %v", err)
	}
	if got != email || tok == nil || tok.RefreshToken == "" {
		page := read(t, ctx, "read the page", chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("RP signed in as %q with token %v; browser at %s", got, tok != nil, page)
	}
	return tok
}

// TestOIDCRelyingPartyBaseline: a real RP gets a verified ID token after password and e-mail
// code in Chromium (the sign-in form's POST ends at the RP: form-action 'self' does not block
// it); its refresh token works until an admin uses "Sign out everywhere"; then refresh fails and
// introspection answers inactive.
func TestOIDCRelyingPartyBaseline(t *testing.T) {
	const (
		adminEmail = "grace@example.com"
		email      = "alan@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Grace Hopper", "super_admin", enrollPassword)
	srv.addUser(t, email, "Alan Turing", "user", enrollPassword)
	rp := startRP(t)

	actx := newBrowser(t)
	pwSignIn(t, actx, srv, adminEmail, enrollPassword)
	id, secret := registerOIDCApp(t, actx, srv, "Test RP", rp.redirectURI())
	rp.configure(srv.baseURL, id, secret)
	admShot(t, actx, "/tmp/weftid-oidc-client-secret-375.png", 375, 740, nil)
	for _, w := range []int64{375, 1280} {
		do(t, actx, "open Applications", chromedp.Navigate(srv.url("/applications")), waitPath("/applications"))
		admShot(t, actx, fmt.Sprintf("/tmp/weftid-applications-%d.png", w), w, 900, nil)
	}

	ctx := newBrowser(t)
	do(t, ctx, "open the RP, which sends the browser to weftid",
		chromedp.Navigate(rp.srv.URL+"/login"),
		waitPath("/login"),
		fill(loginEmail, email),
		fill(loginPassword, enrollPassword),
		chromedp.Click(chromedp.CSS(loginSubmit)),
		waitPath("/login/verify"),
		chromedp.WaitVisible(chromedp.CSS(codeInput)),
	)
	mailCtx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	msg, err := srv.mail.WaitForSubject(mailCtx, email, codeSubject)
	if err != nil {
		t.Fatalf("wait for the code: %v", err)
	}
	do(t, ctx, "submit the code",
		fill(codeInput, mailtest.FindCode(msg.Text)),
		chromedp.Click(chromedp.CSS(codeSubmit)),
	)
	tok := waitRP(t, ctx, rp, email)
	if h1 := read(t, ctx, "read the RP page", chromedp.Text(chromedp.CSS(`#rp-signed-in`))); !strings.Contains(h1, email) {
		t.Errorf("RP page: %q", h1)
	}

	if !rp.introspect(srv.baseURL, tok.AccessToken) {
		t.Fatal("the access token is not active")
	}
	tok2, err := rp.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if !rp.introspect(srv.baseURL, tok2.AccessToken) {
		t.Fatal("the refreshed access token is not active")
	}

	// The admin signs the user out everywhere from the Danger tab.
	uid := admOpenUser(t, actx, email)
	do(t, actx, "Sign out everywhere",
		chromedp.Navigate(srv.url(fmt.Sprintf("/users/%d/danger", uid))),
		chromedp.Click(chromedp.CSS(`#sign-out-everywhere summary`)),
		chromedp.Click(chromedp.CSS(`#sign-out-everywhere button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(noticeSel)),
	)
	if n := read(t, actx, "read the notice", textOfAll(noticeSel)); !strings.Contains(n, "signed out everywhere") {
		t.Errorf("notice after Sign out everywhere: %q", n)
	}
	if _, err := rp.refresh(tok2.RefreshToken); err == nil {
		t.Fatal("refresh works after Sign out everywhere")
	}
	if rp.introspect(srv.baseURL, tok2.AccessToken) {
		t.Fatal("introspection answers active after Sign out everywhere")
	}
	do(t, ctx, "the user's weftid session ended too",
		chromedp.Navigate(srv.url("/dashboard")),
		waitPath("/login"),
	)
}

// TestOIDCRelyingPartyEnhanced: under Enhanced a user with only e-mail codes does not reach the
// RP until they enrolled TOTP in the browser; then the RP gets its tokens.
func TestOIDCRelyingPartyEnhanced(t *testing.T) {
	const (
		adminEmail = "barbara@example.com"
		email      = "dorothy@example.com"
	)
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Barbara Liskov", "super_admin", enrollPassword)
	srv.addUser(t, email, "Dorothy Vaughan", "user", enrollPassword)
	rp := startRP(t)
	actx := newBrowser(t)
	setEnhanced(t, actx, srv, adminEmail)
	id, secret := registerOIDCApp(t, actx, srv, "Test RP", rp.redirectURI())
	rp.configure(srv.baseURL, id, secret)

	ctx := newBrowser(t)
	do(t, ctx, "open the RP", chromedp.Navigate(rp.srv.URL+"/login"), waitPath("/login"))
	signInToEnroll(t, ctx, srv, email) // ends by trying /dashboard: back at enrollment
	// Replaying the RP's sign-in while enrollment is pending reaches enrollment, not the RP.
	do(t, ctx, "open the RP again before enrolling",
		chromedp.Navigate(rp.srv.URL+"/login"),
		waitPath("/login/enroll"),
	)
	if tok, _, _ := rp.result(); tok != nil {
		t.Fatal("the RP got tokens before enrollment")
	}

	chooseEnrollPath(t, ctx, enrollTOTPLink, "/login/enroll/totp", enrollPath+" img.qr")
	do(t, ctx, "open \"Can't scan it?\"",
		chromedp.Click(chromedp.CSS(enrollPath+` details:has(#totp-secret) > summary`)),
		chromedp.WaitVisible(chromedp.CSS(enrollPath+` #totp-secret`)),
	)
	secretKey := strings.ReplaceAll(strings.TrimSpace(read(t, ctx, "read the key", chromedp.Text(chromedp.CSS(enrollPath+` #totp-secret`)))), " ", "")
	code, err := auth.TOTPCode(secretKey, auth.TOTPStep(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "turn TOTP on",
		fill(enrollTOTPCode, code),
		chromedp.Click(chromedp.CSS(enrollTOTPSubmit)),
		chromedp.WaitVisible(chromedp.CSS(backupCodesPre)),
	)
	if tok, _, _ := rp.result(); tok != nil {
		t.Fatal("the RP got tokens before the user left the backup codes page")
	}
	do(t, ctx, "continue to the application",
		chromedp.Click(chromedp.CSS(`a[role=button][href^="/oauth2/continue"]`)),
	)
	tok := waitRP(t, ctx, rp, email)
	if !rp.introspect(srv.baseURL, tok.AccessToken) {
		t.Fatal("the access token is not active")
	}
}
