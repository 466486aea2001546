package oidc

// What an application requires of a sign-in, and where a sign-in that waits for an application
// goes when it is done.

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// continuePrefix starts where a held authorize request continues once its sign-in is done.
const continuePrefix = "/oauth2/continue?id="

// ContinuePath is where a sign-in that holds the authorize request id goes when it is done.
func ContinuePath(id string) string { return continuePrefix + url.QueryEscape(id) }

// ContinueID is the authorize request a sign-in's ReturnTo continues, if it is ContinuePath's.
func ContinueID(returnTo string) (string, bool) {
	escaped, ok := strings.CutPrefix(returnTo, continuePrefix)
	if !ok {
		return "", false
	}
	id, err := url.QueryUnescape(escaped)
	return id, err == nil && id != ""
}

// requiresEnhanced says whether request r must be answered from an Enhanced sign-in: its client
// requires it, or it asked for it with acr_values.
func (s *Service) requiresEnhanced(ctx context.Context, r store.OIDCAuthRequest) (bool, error) {
	strength := auth.AppStrengthTenant
	cl, err := s.st.OAuthClientByID(ctx, r.ClientID)
	switch {
	case err == nil:
		strength = cl.RequiredAuthStrength
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return auth.RequiresEnhanced(strength, r.ACRValues), nil
}

// RequiresEnhanced says whether the sign-in whose ReturnTo is returnTo waits for an authorize
// request that requires Enhanced (false for any other returnTo, or a request that is gone).
func (s *Service) RequiresEnhanced(ctx context.Context, returnTo string) (bool, error) {
	id, ok := ContinueID(returnTo)
	if !ok {
		return false, nil
	}
	r, err := s.AuthRequest(ctx, id)
	if errors.Is(err, ErrRequestGone) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.requiresEnhanced(ctx, r)
}

// SignInFormAction is the origin ("https://app.example") the pages of the sign-in of token
// must allow in their CSP form-action, or "": when that sign-in waits for an authorize request,
// its last form's answer is a chain of redirects that ends at the request's redirect URI, and
// Chrome checks every hop of it against the form page's form-action.
func (s *Service) SignInFormAction(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	si, err := s.st.SignInByHash(ctx, s.keys.HashToken("signin", token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	id, ok := ContinueID(si.ReturnTo)
	if !ok {
		return "", nil
	}
	r, err := s.AuthRequest(ctx, id)
	if errors.Is(err, ErrRequestGone) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return Origin(r.RedirectURI), nil
}

// Origin is the scheme://host[:port] of an http(s) URL as a CSP source expression, or "" when
// it is not one (a host with anything but letters, digits, dots, hyphens, colons and brackets
// could end the expression).
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return ""
	}
	for _, r := range u.Host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return ""
		}
	}
	return auth.Origin(u)
}
