package oidc

import (
	"context"
	"crypto/hmac"
	"errors"
	"slices"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// Errors of the authorize flow.
var (
	// ErrRequestGone: the authorize request expired, was finished, or belongs to another browser.
	ErrRequestGone = errors.New("oidc: the authorize request expired, was used, or is another browser's")
	// ErrNoSession: the session that was to complete the request no longer exists.
	ErrNoSession = errors.New("oidc: no session")
	// ErrStepUpRequired: the application requires Enhanced (its required strength, or the
	// request's acr_values) and the session's sign-in was not: it must step up first
	// (signin.StepUp, returning to ContinuePath).
	ErrStepUpRequired = errors.New("oidc: the application requires a stronger sign-in")
)

// Browser is what a request says of the browser it came from: the keyed hash of its OIDC
// cookie (BrowserHash; nil when it has none), the signed-in user (0 for nobody) and the keyed
// hash of its session id (nil for none).
type Browser struct {
	Hash    []byte
	UserID  int64
	Session []byte
}

// BrowserHash is the keyed hash of a browser's OIDC cookie, to which authorize requests are
// bound.
func (s *Service) BrowserHash(token string) []byte { return s.keys.HashToken(hashOIDCBrowser, token) }

// Next is what an authorize request needs once op sent the browser to weftid's login URL.
type Next int

// What Begin decides.
const (
	// NextComplete: the browser's session answers the request at once (Complete).
	NextComplete Next = iota
	// NextLoginRequired: prompt=none without a usable session; the error goes back to the RP
	// (ErrorRedirect with "login_required").
	NextLoginRequired
	// NextConfirmReauth: the RP wants a fresh sign-in (prompt=login, max_age) and a user is
	// signed in: they confirm it (Reauth), as a GET must not end a session.
	NextConfirmReauth
	// NextSignIn: nobody is signed in; the request waits for the browser's sign-in.
	NextSignIn
	// NextStepUp: the session's sign-in is weaker than the application requires; it steps up
	// (signin.StepUp) and the request waits for that.
	NextStepUp
)

// AuthRequest is the live authorize request id, or ErrRequestGone.
func (s *Service) AuthRequest(ctx context.Context, id string) (store.OIDCAuthRequest, error) {
	r, err := s.st.OIDCAuthRequestByID(ctx, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrRequestGone
	}
	return r, err
}

// claim is the live request id, bound to browser b from now on (ErrRequestGone when it is
// another browser's).
func (s *Service) claim(ctx context.Context, id string, b Browser) (store.OIDCAuthRequest, error) {
	r, err := s.AuthRequest(ctx, id)
	if err != nil {
		return r, err
	}
	if err := s.st.ClaimOIDCAuthRequest(ctx, id, b.Hash, s.now()); errors.Is(err, store.ErrNotFound) {
		return r, ErrRequestGone
	} else if err != nil {
		return r, err
	}
	return r, nil
}

// Begin binds the authorize request id to browser b and decides what it needs: a complete
// session answers it at once unless the RP asked for prompt=login, or its max_age is shorter
// than the session's age, or the application requires Enhanced and the session is not.
func (s *Service) Begin(ctx context.Context, id string, b Browser) (store.OIDCAuthRequest, Next, error) {
	r, err := s.claim(ctx, id, b)
	if err != nil {
		return r, 0, err
	}
	freshLogin := slices.Contains(r.Prompt, zoidc.PromptLogin)
	stepUp := false
	if b.UserID != 0 {
		now := s.now()
		sess, _, err := s.st.SessionUser(ctx, b.Session, now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return r, 0, err
		}
		if err != nil || (r.MaxAge != nil && now.Sub(sess.CreatedAt) > time.Duration(*r.MaxAge)*time.Second) {
			// max_age: a session signed in longer ago than that needs a fresh sign-in too.
			freshLogin = true
		} else if enhanced, err := s.requiresEnhanced(ctx, r); err != nil {
			return r, 0, err
		} else {
			stepUp = enhanced && !auth.Factors(sess.Factors).Strong()
		}
	}
	if stepUp {
		// A user the client refuses is told so (Complete), not asked to step up first.
		if stepUp, err = s.mayOpen(ctx, r.ClientID, b.UserID); err != nil {
			return r, 0, err
		}
	}
	switch {
	case b.UserID != 0 && !freshLogin && stepUp && slices.Contains(r.Prompt, zoidc.PromptNone):
		return r, NextLoginRequired, nil
	case b.UserID != 0 && !freshLogin && stepUp:
		return r, NextStepUp, nil
	case b.UserID != 0 && !freshLogin:
		return r, NextComplete, nil
	case slices.Contains(r.Prompt, zoidc.PromptNone):
		return r, NextLoginRequired, nil
	case b.UserID != 0:
		return r, NextConfirmReauth, nil
	}
	return r, NextSignIn, nil
}

// Reauth is the confirmed fresh sign-in the RP asked for (prompt=login, max_age): the request
// is bound to browser b, and b's session (if a user is signed in) ends with user_signed_out.
// The request then waits for the new sign-in (HoldForSignIn).
func (s *Service) Reauth(ctx context.Context, id string, b Browser, a Actor) (store.OIDCAuthRequest, error) {
	r, err := s.claim(ctx, id, b)
	if err != nil || b.UserID == 0 {
		return r, err
	}
	reason := "prompt_login"
	if !slices.Contains(r.Prompt, zoidc.PromptLogin) {
		reason = "max_age"
	}
	a.UserID = b.UserID
	return r, s.EndSession(ctx, b.Session, a, reason)
}

// EndSession ends the session whose id hashes to session, of the user a.UserID, and logs
// user_signed_out with the reason (prompt_login, max_age, rp_logout).
func (s *Service) EndSession(ctx context.Context, session []byte, a Actor, reason string) error {
	uid := a.UserID
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, session); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventUserSignedOut, &uid, map[string]any{"reason": reason}))
	})
}

// HoldForSignIn makes the sign-in under way that the browser's sign-in token names ("": none
// yet) carry a held authorize request on: when it finishes, the browser goes to returnTo.
func (s *Service) HoldForSignIn(ctx context.Context, signin string, returnTo string) error {
	if signin == "" {
		return nil
	}
	if err := s.st.SetSignInReturnTo(ctx, s.keys.HashToken("signin", signin), returnTo); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// Complete marks the request done by b's user, bound to b's session and browser, with how that
// session signed in (amr, acr), and logs oauth2_authorized; the callback then issues the code.
// ErrNoSession: the session ended; ErrRequestGone: the request is gone, or needs a sign-in newer
// than the session (prompt=login, max_age); a *groups.Denied: the user may not sign in to the
// client (its access, checked at every authorization, before any step-up); ErrStepUpRequired:
// the application requires Enhanced and the session is not.
func (s *Service) Complete(ctx context.Context, r store.OIDCAuthRequest, b Browser, a Actor) error {
	now := s.now()
	sess, _, err := s.st.SessionUser(ctx, b.Session, now)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	}
	if err != nil {
		return err
	}
	if slices.Contains(r.Prompt, zoidc.PromptLogin) && sess.CreatedAt.Before(r.CreatedAt) {
		return ErrRequestGone // prompt=login needs a sign-in made after the request
	}
	if r.MaxAge != nil && now.Sub(sess.CreatedAt) > time.Duration(*r.MaxAge)*time.Second && sess.CreatedAt.Before(r.CreatedAt) {
		return ErrRequestGone // too old for max_age, and not made for this request
	}
	name := s.AppName(ctx, r.ClientID)
	uid := b.UserID
	a.UserID = uid
	if err := s.admit(ctx, r, name, a); err != nil {
		return err // a *groups.Denied: not in the client's groups, no code (and no step-up for nothing)
	}
	factors := auth.Factors(sess.Factors)
	if enhanced, err := s.requiresEnhanced(ctx, r); err != nil {
		return err
	} else if enhanced && !factors.Strong() {
		return ErrStepUpRequired
	}
	amr, acr := factors.AMR(), factors.ACR()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CompleteOIDCAuthRequest(ctx, r.ID, b.Hash, b.Session, uid, sess.CreatedAt, amr, acr, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2Authorized, &uid,
			map[string]any{"client_id": r.ClientID, "name": name, "scopes": strings.Join(r.Scopes, " "), "acr": acr}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrRequestGone
	}
	return err
}

// CallbackAllowed says whether op's callback may answer request id for browser b: only the
// browser and session that completed it may (op itself checks only Done()). While any sign-in
// step is pending there is no such session, and nothing is issued.
func (s *Service) CallbackAllowed(ctx context.Context, id string, b Browser) (bool, error) {
	r, err := s.st.OIDCAuthRequestByID(ctx, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r.Done && b.UserID != 0 && b.Session != nil && r.UserID == b.UserID && hmac.Equal(r.SessionHash, b.Session) &&
		b.Hash != nil && hmac.Equal(r.BrowserHash, b.Hash), nil
}

// AppName is how pages name a client: its name, or its id when it is gone.
func (s *Service) AppName(ctx context.Context, clientID string) string {
	if cl, err := s.st.OAuthClientByID(ctx, clientID); err == nil {
		return cl.Name
	}
	return clientID
}
