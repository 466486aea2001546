package oidc

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). weftid answers it itself: op's
// endpoint answers a post_logout_redirect_uri it does not know with JSON in the user's browser,
// and signs nobody out.

import (
	"context"
	"errors"
	"net/url"
	"strconv"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/store"
)

// LogoutRequest is what an application sends to the end_session endpoint, and what the
// confirmation form posts back (without the hint).
type LogoutRequest struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
}

// Logout is where an end_session request leads: Redirect when the logout is done (or there was
// nothing to end), or else weftid's page (Page). Ended says this browser's session ended.
type Logout struct {
	Redirect string
	Page     LogoutPage
	Ended    bool
}

// LogoutPage is weftid's sign-out page: the user confirms with a form (CSRF-protected) that
// posts Confirm to ConfirmLogout.
type LogoutPage struct {
	AppName  string // the application that asked ("" when it is not known)
	SignedIn bool   // a user is signed in in this browser: there is a session to end
	// Problem says why weftid will not return to the application (nil when it will, or the
	// application gave no address): one of the ErrLogout errors.
	Problem error
	// Confirm are the form's fields: the client, the validated post-logout redirect URI ("" when
	// there is none) and the state.
	Confirm LogoutRequest
	// FormAction is the origin the page's CSP form-action must allow: the form's answer
	// redirects there ("" when it does not).
	FormAction string
}

// The reasons weftid does not return to the application after a logout.
var (
	ErrLogoutBadHint      = errors.New("oidc: the id_token_hint does not verify")
	ErrLogoutClientHint   = errors.New("oidc: client_id is not the id_token_hint's")
	ErrLogoutUnknownApp   = errors.New("oidc: the logout's client is not registered")
	ErrLogoutNoApp        = errors.New("oidc: the logout names no client to check its post_logout_redirect_uri against")
	ErrLogoutUnregistered = errors.New("oidc: the post_logout_redirect_uri is not registered")
)

// LoggedOutLanding is where a logout goes without a redirect URI to return to: weftid's
// signed-out page.
const LoggedOutLanding = "/login?notice=signed_out"

// EndSession is the end_session endpoint for the browser b. A valid id_token_hint of this
// browser's user (or of anyone, when nobody is signed in here) ends at once: the session, the
// user's tokens of that application (oauth2_user_tokens_revoked) and the codes it has not
// exchanged, and the browser returns to the registered post_logout_redirect_uri with state.
// Without a hint, or with one of another user, the user confirms on weftid's page, as the
// specification asks. A post_logout_redirect_uri that is not registered for the application
// (or not checkable) is never followed: the page says so and still offers to sign out.
func (p *Provider) EndSession(ctx context.Context, req LogoutRequest, b Browser, a Actor) (Logout, error) {
	ctx = p.ctx(ctx)
	clientID := req.ClientID
	var problem error
	var hintUser int64
	if req.IDTokenHint != "" {
		claims, err := op.VerifyIDTokenHint[*zoidc.IDTokenClaims](ctx, req.IDTokenHint, p.provider.IDTokenHintVerifier(ctx))
		switch {
		case err != nil && !errors.As(err, &op.IDTokenHintExpiredError{}):
			problem = ErrLogoutBadHint
		case clientID != "" && clientID != claims.GetAuthorizedParty():
			problem = ErrLogoutClientHint
		default:
			clientID = claims.GetAuthorizedParty()
			hintUser, _ = strconv.ParseInt(claims.GetSubject(), 10, 64)
		}
	}
	cl, redirect, whyNot, err := p.logoutTarget(ctx, clientID, req.PostLogoutRedirectURI)
	if err != nil {
		return Logout{}, err
	}
	if problem == nil {
		problem = whyNot
	}
	if problem != nil {
		redirect = "" // never followed, not even after the user confirms
	}
	page := LogoutPage{AppName: cl.Name, SignedIn: b.UserID != 0, Problem: problem, FormAction: Origin(redirect),
		Confirm: LogoutRequest{ClientID: cl.ClientID, PostLogoutRedirectURI: redirect, State: req.State}}
	switch {
	case problem != nil:
		return Logout{Page: page}, nil
	case hintUser != 0 && (b.UserID == 0 || b.UserID == hintUser):
		// The application's word is enough: the hint names this browser's user, or nobody is
		// signed in here.
		if err := p.svc.endRPSession(ctx, b, a, hintUser, cl.ClientID); err != nil {
			return Logout{}, err
		}
		return Logout{Redirect: p.afterLogout(redirect, req.State), Ended: b.UserID != 0}, nil
	case b.UserID == 0 && redirect != "":
		return Logout{Redirect: p.afterLogout(redirect, req.State)}, nil // nothing to end here
	}
	return Logout{Page: page}, nil
}

// ConfirmLogout is the sign-out the user confirmed on weftid's page: this browser's session
// ends, with the user's tokens of the application req names, and the browser goes to its
// post-logout redirect URI (checked again) with state, or to the sign-in page.
func (p *Provider) ConfirmLogout(ctx context.Context, req LogoutRequest, b Browser, a Actor) (string, error) {
	cl, redirect, _, err := p.logoutTarget(ctx, req.ClientID, req.PostLogoutRedirectURI)
	if err != nil {
		return "", err
	}
	if b.UserID != 0 {
		if err := p.svc.endRPSession(ctx, b, a, b.UserID, cl.ClientID); err != nil {
			return "", err
		}
	}
	return p.afterLogout(redirect, req.State), nil
}

// logoutTarget is the client clientID ("": none) and the post-logout redirect URI uri when it is
// registered for that client; otherwise whyNot (an ErrLogout error) says why it is not followed.
func (p *Provider) logoutTarget(ctx context.Context, clientID, uri string) (cl store.OAuthClient, redirect string, whyNot, err error) {
	if clientID != "" {
		cl, err = p.svc.st.OAuthClientByID(ctx, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return store.OAuthClient{}, "", ErrLogoutUnknownApp, nil
		}
		if err != nil {
			return cl, "", nil, err
		}
	}
	switch {
	case uri == "":
		return cl, "", nil, nil
	case cl.ClientID == "":
		return cl, "", ErrLogoutNoApp, nil
	case op.ValidateEndSessionPostLogoutRedirectURI(uri, client{cl}) != nil:
		return cl, "", ErrLogoutUnregistered, nil
	}
	return cl, uri, nil, nil
}

// afterLogout is where a finished logout goes: the validated redirect URI with state, or the
// sign-in page.
func (p *Provider) afterLogout(redirect, state string) string {
	if redirect == "" {
		return LoggedOutLanding
	}
	if state == "" {
		return redirect
	}
	u, err := url.Parse(redirect)
	if err != nil {
		return LoggedOutLanding
	}
	q := u.Query()
	q.Set("state", state)
	u.RawQuery = q.Encode()
	return u.String()
}

// endRPSession is an RP-initiated logout of userID, in one transaction: browser b's session ends
// when it is that user's (user_signed_out, reason rp_logout), and the user's tokens of clientID
// ("": none) are revoked with the codes not exchanged (oauth2_user_tokens_revoked).
func (s *Service) endRPSession(ctx context.Context, b Browser, a Actor, userID int64, clientID string) error {
	a.UserID = userID
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if b.UserID == userID && b.Session != nil {
			if err := tx.DeleteSession(ctx, b.Session); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			details := map[string]any{"reason": "rp_logout"}
			if clientID != "" {
				details["client_id"] = clientID
			}
			if err := tx.AddEvent(ctx, s.event(a, store.EventUserSignedOut, &userID, details)); err != nil {
				return err
			}
		}
		if clientID == "" {
			return nil
		}
		n, err := tx.RevokeOAuthUserClientTokens(ctx, userID, clientID)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2UserTokensRevoked, &userID,
			map[string]any{"client_id": clientID, "reason": "rp_logout", "tokens": n}))
	})
}
