package handlers_test

// OpenID Connect: tokens, clients authenticating, and revocation.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/weftid/weftid/store"
)

// A service client gets tokens for itself; a resource server (service client) may introspect
// other clients' tokens; a client that is not a service may not use client credentials.
func TestOIDCClientCredentials(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	svc := registerApp(t, admin, url.Values{"name": {"Billing API"}, "type": {"confidential"}, "service": {"1"}})
	web := registerApp(t, admin, webApp())
	p := e.newRP(web)
	ctx := p.ctx
	cc := clientcredentials.Config{ClientID: svc.ClientID, ClientSecret: svc.Secret, TokenURL: p.provider.Endpoint().TokenURL}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	st, m := e.introspect(svc.ClientID, svc.Secret, tok.AccessToken)
	if st != 200 || m["active"] != true || m["client_id"] != svc.ClientID || m["sub"] != svc.ClientID {
		t.Fatalf("introspection of a service token: %d %v", st, m)
	}
	if _, err := p.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo answered for a client's own token")
	}
	// The web app may not use client credentials, nor introspect the service's token.
	cc2 := clientcredentials.Config{ClientID: web.ClientID, ClientSecret: web.Secret, TokenURL: cc.TokenURL}
	if _, err := cc2.Token(ctx); err == nil {
		t.Error("a client that is not a service got a client-credentials token")
	}
	if e.active(web, tok.AccessToken) {
		t.Error("a non-service client introspected another client's token")
	}
	// A user's token: the resource server (service client) sees it active.
	b := e.newClient()
	u := e.createUser("dave@example.com", "Dave", store.RoleUser, store.StatusActive)
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	user := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	if !e.active(svc, user.AccessToken) {
		t.Error("a resource server cannot introspect a user's token")
	}
	// RFC 7009: revoking the refresh token ends the grant.
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/oauth2/revoke", strings.NewReader(url.Values{"token": {user.RefreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(web.ClientID, web.Secret)
	resp, err := e.app.Test(req, -1)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoke: %v %v", resp.StatusCode, err)
	}
	if e.active(svc, user.AccessToken) {
		t.Error("the access token of a revoked grant is active")
	}
	if _, err := p.refresh(user.RefreshToken); err == nil {
		t.Error("a revoked refresh token works")
	}
}

// A deactivated user's refresh token stops working.
func TestOIDCRefreshNeedsActiveUser(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p, u, _, tok := e.tokensOf(app, "erin@example.com", "Erin")
	if err := e.store.SetUserStatus(context.Background(), u.ID, store.StatusInactive, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("a deactivated user's refresh token works")
	}
	if e.active(app, tok.AccessToken) {
		t.Error("a deactivated user's access token is active")
	}
}

// Sign out everywhere follows the reset-MFA rules: an admin may not act on a super admin nor
// on themselves; it needs the CSRF token.
func TestSignOutEverywherePermissions(t *testing.T) {
	e := newEnv(t)
	super := e.adminClient()
	superUser, _ := e.store.UserByEmail(context.Background(), "admin0@example.com")
	admUser := e.createUser("adm@example.com", "Adm", store.RoleAdmin, store.StatusActive)
	adm := e.newClient()
	adm.signIn(admUser.Email, testPassword)
	u := e.createUser("u@example.com", "U", store.RoleUser, store.StatusActive)

	expectStatus(t, adm.post(fmt.Sprintf("/users/%d/sign-out-everywhere", superUser.ID), nil), http.StatusForbidden)
	expectStatus(t, adm.post(fmt.Sprintf("/users/%d/sign-out-everywhere", admUser.ID), nil), http.StatusForbidden)
	expectStatus(t, adm.postRaw(fmt.Sprintf("/users/%d/sign-out-everywhere", u.ID), nil, nil), http.StatusForbidden)
	if n := len(e.eventsOf("user_signed_out_everywhere")); n != 0 {
		t.Fatalf("%d sign-outs happened that were refused", n)
	}
	danger := adm.get(fmt.Sprintf("/users/%d/danger", u.ID))
	if !strings.Contains(danger.Body, `action="/users/`+fmt.Sprint(u.ID)+`/sign-out-everywhere"`) {
		t.Error("the Danger tab has no Sign out everywhere form")
	}
	expectRedirect(t, super.post(fmt.Sprintf("/users/%d/sign-out-everywhere", admUser.ID), nil),
		fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", admUser.ID))
	expectRedirect(t, adm.get("/dashboard"), "/login")
}

// An access token is inactive after its 15 minutes; the refresh token then gets a new one, and
// the expired rows are gone from the store.
func TestOIDCAccessTokenExpires(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app)
	u := e.createUser("fay@example.com", "Fay", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	tok := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	e.clock.Advance(15*time.Minute + time.Second)
	if e.active(app, tok.AccessToken) {
		t.Fatal("an access token is active after 15 minutes")
	}
	tok2, err := p.refresh(tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh after the access token expired: %v", err)
	}
	if !e.active(app, tok2.AccessToken) {
		t.Fatal("the new access token is not active")
	}
}

// Wrong client secrets are throttled per IP address, and each is logged.
func TestOIDCClientSecretGuessesThrottled(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	guess := func(secret string) int {
		st, _ := e.introspect(app.ClientID, secret, "x")
		return st
	}
	for i := 0; i < 30; i++ {
		if st := guess("wrong"); st != http.StatusUnauthorized {
			t.Fatalf("guess %d answered %d, want 401", i+1, st)
		}
	}
	if st := guess("wrong"); st != http.StatusTooManyRequests {
		t.Fatalf("the 31st wrong secret answered %d, want 429", st)
	}
	if st := guess(app.Secret); st != http.StatusTooManyRequests {
		t.Fatalf("the right secret while throttled answered %d, want 429", st)
	}
	// Each failure is an event; of the refusals only the first is (the rest are counted into
	// one login_throttled summary: TestThrottledGuessesLogOnceAndSummarize).
	failed, refused := 0, 0
	for _, ev := range e.eventsOf("oauth2_client_auth_failed") {
		if ev.Details["client_id"] != app.ClientID {
			t.Errorf("event client_id %v, want %s", ev.Details["client_id"], app.ClientID)
		}
		if ev.Details["reason"] == "throttled" {
			refused++
		} else {
			failed++
		}
	}
	if failed != 30 || refused != 1 {
		t.Errorf("%d oauth2_client_auth_failed events of failures and %d of refusals, want 30 and 1", failed, refused)
	}
	e.clock.Advance(15 * time.Minute)
	if st := guess(app.Secret); st != http.StatusOK {
		t.Fatalf("the right secret after the window answered %d, want 200", st)
	}
}

// A public client (no secret) completes the flow with PKCE alone on a loopback redirect URI,
// and refreshes without a secret.
func TestOIDCPublicClient(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), url.Values{"name": {"CLI"}, "redirect_uris": {rpRedirect}, "type": {"public"}})
	if app.Secret != "" {
		t.Fatal("a public client got a secret")
	}
	p := e.newRP(app)
	u := e.createUser("gil@example.com", "Gil", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)
	if _, err := p.conf.Exchange(p.ctx, code); err == nil {
		t.Fatal("a public client exchanged a code without its PKCE verifier")
	}
	tok := p.exchange(code, f)
	if _, err := p.refresh(tok.RefreshToken); err != nil {
		t.Fatalf("public client refresh: %v", err)
	}
}

// A forced password reset revokes the user's tokens at once: refresh fails and introspection
// answers inactive, while another user's tokens still work.
func TestForcedResetRevokesTokens(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	app := registerApp(t, admin, webApp())
	p := e.newRP(app, "offline_access")
	tokensOf := func(email string) *oauth2.Token {
		e.createUser(email, email, store.RoleUser, store.StatusActive)
		b := e.newClient()
		b.signIn(email, testPassword)
		f, _ := p.authorize(b)
		return p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	}
	tok := tokensOf("fran@example.com")
	other := tokensOf("gil@example.com")
	if tok.RefreshToken == "" || !e.active(app, tok.AccessToken) {
		t.Fatal("test setup: no refresh token, or the access token is not active")
	}
	fran, err := e.store.UserByEmail(context.Background(), "fran@example.com")
	if err != nil {
		t.Fatal(err)
	}
	expectRedirect(t, forceReset(admin, fran), fmt.Sprintf("/users/%d/danger?notice=password_reset_forced", fran.ID))
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("the refresh token works after a forced reset")
	}
	if e.active(app, tok.AccessToken) {
		t.Error("the access token is active after a forced reset")
	}
	if n, _ := e.lastEvent("oauth2_user_tokens_revoked").Details["tokens"].(float64); n < 2 {
		t.Errorf("oauth2_user_tokens_revoked counts %v tokens, want the access and the refresh token", n)
	}
	if !e.active(app, other.AccessToken) {
		t.Error("another user's token was revoked too")
	}
	if _, err := p.refresh(other.RefreshToken); err != nil {
		t.Errorf("another user's refresh token stopped working: %v", err)
	}
}

// A refresh token works once. Used a second time, it was copied: the whole authorization is
// revoked (the client's newer tokens too), and oauth2_refresh_token_reused is logged.
func TestRefreshTokenReuseRevokesTheGrant(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app, "offline_access")
	u := e.createUser("rey@example.com", "Rey", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	first := p.exchange(p.codeFrom(b.get(callbackPath(f.requestID)), f), f)
	second, err := p.refresh(first.RefreshToken)
	if err != nil {
		t.Fatalf("the first refresh: %v", err)
	}
	if !e.active(app, second.AccessToken) {
		t.Fatal("test setup: the refreshed access token is not active")
	}
	if _, err := p.refresh(first.RefreshToken); err == nil {
		t.Fatal("a used refresh token worked again")
	}
	if _, err := p.refresh(second.RefreshToken); err == nil {
		t.Error("after the reuse, the newer refresh token of the same authorization still works")
	}
	if e.active(app, second.AccessToken) {
		t.Error("after the reuse, the newer access token is still active")
	}
	ev := e.lastEvent("oauth2_refresh_token_reused")
	if ev.UserID == nil || *ev.UserID != u.ID || ev.ActorID != nil || ev.Details["client_id"] != app.ClientID {
		t.Errorf("oauth2_refresh_token_reused: %+v", ev)
	}
}
