package saml

// What a service provider requires of a sign-in, and what the assertion says of it.

import (
	"context"
	"errors"
	"strings"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// ContinuePrefix starts where a held request continues once its sign-in is done:
// /saml/continue/{id}.
const ContinuePrefix = "/saml/continue/"

// ErrStepUpRequired: the service provider requires Enhanced and the session's sign-in was not;
// the session steps up first (signin.StepUp) and the request is answered after.
var ErrStepUpRequired = errors.New("saml: the service provider requires a stronger sign-in")

// The AuthnContextClassRef of an assertion: PasswordProtectedTransport for a password and an
// email code (SAML 2.0's class for a password over TLS: the email code has no class of its own,
// and claiming a stronger one would tell the service provider what Enhanced means), and the
// REFEDS MFA profile when TOTP, a backup code or a passkey was used, the value service providers
// ask for when they require multi-factor authentication.
const (
	ClassPasswordProtectedTransport = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	ClassREFEDSMFA                  = "https://refeds.org/profile/mfa"
)

// authnContextClass is the class of a session with these factors.
func authnContextClass(f auth.Factors) string {
	if f.Strong() {
		return ClassREFEDSMFA
	}
	return ClassPasswordProtectedTransport
}

// setAuthnContext makes the assertion's AuthnContextClassRef say how the session signed in.
func setAuthnContext(a *crewjam.Assertion, f auth.Factors) {
	for i := range a.AuthnStatements {
		a.AuthnStatements[i].AuthnContext.AuthnContextClassRef = &crewjam.AuthnContextClassRef{Value: authnContextClass(f)}
	}
}

// IdPInitiated says whether the request was made by IdP-initiated sign-on (the dashboard's
// "Open"): it cannot be held, and after a step-up the user opens the application again.
func (r *AuthnRequest) IdPInitiated() bool { return r.initiated == "idp" }

// RequiresEnhanced says whether the sign-in whose ReturnTo is returnTo waits for a held request
// of a service provider that requires Enhanced (false for any other returnTo, or a request that
// is gone).
func (s *Service) RequiresEnhanced(ctx context.Context, returnTo string) (bool, error) {
	id, ok := strings.CutPrefix(returnTo, ContinuePrefix)
	if !ok || id == "" {
		return false, nil
	}
	held, err := s.store.SAMLRequest(ctx, s.requestHash(id), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sp, err := s.store.SAMLServiceProvider(ctx, held.SPID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return sp.RequiredAuthStrength == auth.AppStrengthEnhanced, nil
}
