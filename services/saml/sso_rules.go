package saml

// What an AuthnRequest may ask of the sign-in (SAML Core 3.4.1), and the status responses that
// refuse what weftid cannot do (SAML Core 3.2.2.2): the service provider gets a signed Response
// without an assertion at its HTTP-POST assertion consumer service, so it can tell the user why,
// instead of a page on weftid.
//
//   - ForceAuthn: the assertion must come from a sign-in made after the request arrived. A
//     signed-in user confirms "Sign in again" (a form: no other site can sign people out by
//     sending a request), the session ends (user_signed_out, reason force_authn), and the
//     request waits for the new sign-in.
//   - IsPassive: weftid may not show anything. A browser without a session, or one that would
//     have to step up or sign in again, gets NoPassive.
//   - ProtocolBinding: HTTP-POST only (else UnsupportedBinding).
//   - NameIDPolicy is not refused: the NameID is the email address (emailAddress) whatever
//     format the request names, since most service providers ask for transient or persistent
//     by default (crewjam's samlsp: transient; GitLab: persistent) and accept it.
//   - RequestedAuthnContext: the classes weftid asserts are PasswordProtectedTransport and the
//     REFEDS MFA profile. A request that only the MFA profile satisfies requires Enhanced, as if
//     the service provider were set to it (a step-up); one that neither satisfies gets
//     NoAuthnContext.

import (
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// ErrFreshSignInRequired: the request asks for a sign-in newer than the session (ForceAuthn).
var ErrFreshSignInRequired = errors.New("saml: the service provider asks for a fresh sign-in")

const (
	classPassword     = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
	classUnspecified  = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"
	nameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

// requestedContext is the part of an AuthnRequest crewjam reads only in part (one class).
type requestedContext struct {
	Context *struct {
		Comparison string   `xml:",attr"`
		Classes    []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AuthnContextClassRef"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol RequestedAuthnContext"`
}

// requested reads the request's RequestedAuthnContext: its comparison (exact when absent) and
// classes; no classes when there is none.
func (r *AuthnRequest) requested() (comparison string, classes []string) {
	if r.req.RequestBuffer == nil {
		return "", nil
	}
	var rc requestedContext
	if xml.Unmarshal(r.req.RequestBuffer, &rc) != nil || rc.Context == nil {
		return "", nil
	}
	for _, c := range rc.Context.Classes {
		classes = append(classes, strings.TrimSpace(c))
	}
	comparison = rc.Context.Comparison
	if comparison == "" {
		comparison = "exact"
	}
	return comparison, classes
}

// contextNeeds says what the request's RequestedAuthnContext needs: ok false when no class
// weftid asserts satisfies it; mfa when only the REFEDS MFA profile does.
func (r *AuthnRequest) contextNeeds() (ok, mfa bool) {
	comparison, classes := r.requested()
	if len(classes) == 0 {
		return true, false
	}
	weak := func(c string) bool { // what a password and an email code satisfy
		return c == ClassPasswordProtectedTransport || c == classPassword || c == classUnspecified
	}
	switch comparison {
	case "exact", "minimum", "maximum":
		if slices.ContainsFunc(classes, weak) {
			return true, false
		}
		return slices.Contains(classes, ClassREFEDSMFA), true
	case "better": // stronger than one of the classes: MFA is stronger than a password
		return slices.ContainsFunc(classes, weak), true
	}
	return false, false
}

// Passive says whether the request may not show the user anything (IsPassive).
func (r *AuthnRequest) Passive() bool {
	return r.req.Request.IsPassive != nil && *r.req.Request.IsPassive
}

// forceAuthn says whether the request asks for a fresh sign-in.
func (r *AuthnRequest) forceAuthn() bool {
	return r.req.Request.ForceAuthn != nil && *r.req.Request.ForceAuthn
}

// staleFor says whether a session made at created is older than the request (ForceAuthn).
// Times are stored to the second: a session made in the second the request arrived counts.
func (r *AuthnRequest) staleFor(created time.Time) bool {
	return r.forceAuthn() && created.Before(r.arrived.Truncate(time.Second))
}

// Unsupported is the second-level status that refuses the request before any sign-in, or "":
// a binding other than HTTP-POST, or an authentication context weftid does not assert.
func (r *AuthnRequest) Unsupported() string {
	q := r.req.Request
	if q.ProtocolBinding != "" && q.ProtocolBinding != crewjam.HTTPPostBinding {
		return crewjam.StatusUnsupportedBinding
	}
	if ok, _ := r.contextNeeds(); !ok {
		return crewjam.StatusNoAuthnContext
	}
	return ""
}

// refuse answers the request with a signed Response whose status is subStatus (one of
// crewjam's Status constants: NoPassive, NoAuthnContext, UnsupportedBinding), posted to the service provider's HTTP-POST assertion consumer service
// with the request's RelayState. ErrBinding when its metadata lists none.
func (s *Service) refuse(ctx context.Context, req *AuthnRequest, subStatus string) (Post, error) {
	idp, err := s.provider(ctx)
	if err != nil {
		return Post{}, err
	}
	r := req.req
	sp, err := s.store.SAMLServiceProviderByEntityID(ctx, r.ServiceProviderMetadata.EntityID)
	if err != nil {
		return Post{}, err
	}
	acs := r.ACSEndpoint
	if acs == nil || acs.Binding != crewjam.HTTPPostBinding {
		md, err := storedMetadata(sp.Metadata)
		if err != nil {
			return Post{}, err
		}
		if _, acs = md.postACS(); acs == nil {
			return Post{}, ErrBinding
		}
	}
	top := crewjam.StatusResponder
	if subStatus == crewjam.StatusUnsupportedBinding {
		top = crewjam.StatusRequester
	}
	resp := &crewjam.Response{
		ID: newMessageID(), InResponseTo: r.Request.ID, Version: "2.0", IssueInstant: s.now(), Destination: acs.Location,
		Issuer: &crewjam.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: idp.MetadataURL.String()},
		Status: crewjam.Status{StatusCode: crewjam.StatusCode{Value: top, StatusCode: &crewjam.StatusCode{Value: subStatus}}},
	}
	m, err := outbound(idp, resp.Element(), func(sig *etree.Element) *etree.Element { resp.Signature = sig; return resp.Element() },
		crewjam.HTTPPostBinding, acs.Location, req.in.RelayState, sp.Name)
	if err != nil {
		return Post{}, err
	}
	s.log.Info("SAML request refused with a status", "sp", sp.EntityID, "status", subStatus)
	return Post{SPName: sp.Name, URL: m.URL, Origin: m.Origin, SAMLResponse: m.Value, RelayState: m.RelayState}, nil
}

// Reauth is the "Sign in again" a signed-in user confirmed for the request held under id
// (ForceAuthn): the session (session, of user u) ends and user_signed_out is logged with reason
// force_authn; the request then waits for the new sign-in. ErrExpired when it is gone. Without a
// session there is nothing to end.
func (s *Service) Reauth(ctx context.Context, id string, u *store.User, session []byte, from store.Origin) error {
	if err := s.Held(ctx, id); err != nil {
		return err
	}
	if u == nil || session == nil {
		return nil
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, session); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventUserSignedOut, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "force_authn"}))
	})
}

// HoldSignedIn is Hold for a signed-in browser (a step-up, a fresh sign-in), which also
// returns the service provider's name for the page: a request that asks for either is easy to
// make, so each such hold is counted against the browser's address like an anonymous request
// (throttle.SAMLHoldPerIP), or the held requests could be filled from one account.
// ErrTooManyRequests past the limit.
func (s *Service) HoldSignedIn(ctx context.Context, req *AuthnRequest, ip string) (id, spName string, err error) {
	if s.limiter != nil {
		allowed, err := s.limiter.Take(ctx, throttle.SAMLHoldPerIP.For(throttle.IPKey(ip)))
		if err != nil {
			return "", "", err
		}
		if !allowed {
			return "", "", ErrTooManyRequests
		}
	}
	id, sp, err := s.hold(ctx, req)
	return id, sp.Name, err
}

// Refusal is the status response a request gets at once, without waiting for a sign-in, and
// whether there is one: a binding or authentication context weftid does not offer
// (Unsupported), and, when signedOut (nobody is signed in here, so the sign-in would have to be
// shown), IsPassive (NoPassive).
func (s *Service) Refusal(ctx context.Context, req *AuthnRequest, signedOut bool) (Post, bool, error) {
	status := req.Unsupported()
	if status == "" && signedOut && req.Passive() {
		status = crewjam.StatusNoPassive
	}
	if status == "" {
		return Post{}, false, nil
	}
	post, err := s.refuse(ctx, req, status)
	return post, true, err
}

// passiveOr is Issue's answer when the user would have to act (err: a step-up or a fresh
// sign-in): NoPassive for a passive request, which may show nothing, else err.
func (s *Service) passiveOr(ctx context.Context, req *AuthnRequest, err error) (Post, error) {
	if req.Passive() {
		return s.refuse(ctx, req, crewjam.StatusNoPassive)
	}
	return Post{}, err
}
