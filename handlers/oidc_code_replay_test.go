package handlers_test

// RFC 6749 section 4.1.2: a code used twice is refused, and what its first use was given is
// revoked.

import (
	"errors"
	"testing"

	"golang.org/x/oauth2"

	"github.com/weftid/weftid/store"
)

func TestCodeReplayRevokesTheTokensOfItsFirstUse(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p := e.newRP(app) // with offline_access: a refresh token too
	u := e.createUser("cody@example.com", "Cody", store.RoleUser, store.StatusActive)
	b := e.newClient()
	b.signIn(u.Email, testPassword)
	f, _ := p.authorize(b)
	code := p.codeFrom(b.get(callbackPath(f.requestID)), f)
	tok := p.exchange(code, f)
	if tok.RefreshToken == "" {
		t.Fatal("test setup: no refresh token")
	}
	if ui, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok)); err != nil || ui.Email != u.Email {
		t.Fatalf("test setup: userinfo with the first access token: %+v, %v", ui, err)
	}

	_, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("the second exchange of a code: %v, want invalid_grant", err)
	}
	if _, err := p.provider.UserInfo(p.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("after the code was replayed, its first access token still works at /oauth2/userinfo")
	}
	if e.active(app, tok.AccessToken) {
		t.Error("after the code was replayed, its first access token is still active")
	}
	if _, err := p.refresh(tok.RefreshToken); err == nil {
		t.Error("after the code was replayed, its refresh token still works")
	}
	evs := e.eventsOf("oauth2_code_reused")
	if len(evs) != 1 || evs[0].UserID == nil || *evs[0].UserID != u.ID || evs[0].ActorID != nil || evs[0].Details["client_id"] != app.ClientID {
		t.Fatalf("oauth2_code_reused events: %s", eventSummary(evs))
	}

	// A third use is refused too; there is nothing left to revoke, and nothing more is logged.
	if _, err := p.conf.Exchange(p.ctx, code, oauth2.VerifierOption(f.verifier)); err == nil {
		t.Error("a third exchange of the code worked")
	}
	if n := len(e.eventsOf("oauth2_code_reused")); n != 1 {
		t.Errorf("%d oauth2_code_reused events after a third use, want 1", n)
	}

	// Another authorization of the same user and client is untouched.
	f2, _ := p.authorize(b)
	tok2 := p.exchange(p.codeFrom(b.get(callbackPath(f2.requestID)), f2), f2)
	if !e.active(app, tok2.AccessToken) {
		t.Error("a new authorization after the replay is not active")
	}
}

// A code that was never issued revokes nothing and logs nothing.
func TestUnknownCodeRevokesNothing(t *testing.T) {
	e := newEnv(t)
	app := registerApp(t, e.adminClient(), webApp())
	p, _, _, tok := e.tokensOf(app, "una@example.com", "Una")
	if _, err := p.conf.Exchange(p.ctx, "not-a-code", oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("an unknown code was exchanged")
	}
	if !e.active(app, tok.AccessToken) {
		t.Error("an unknown code revoked someone's token")
	}
	if n := len(e.eventsOf("oauth2_code_reused")); n != 0 {
		t.Errorf("%d oauth2_code_reused events for an unknown code", n)
	}
}
