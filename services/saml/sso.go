package saml

// Single sign-on: read and validate a service provider's AuthnRequest, hold it until its browser
// has finished signing in, take it back, and answer it with a signed assertion. IdP-initiated
// sign-on (the dashboard's "Open") makes a request of its own and is answered the same way.

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

const (
	// nameIDFormat: the NameID of every assertion is the user's email address.
	nameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	// attrFormat is the NameFormat of the email, name and role attributes.
	attrFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	// PendingTTL is how long a held request waits for its sign-in: as long as a sign-in lasts.
	PendingTTL = auth.SignInTTL
	// maxPending caps the requests held at once, so a flood cannot fill the disk.
	maxPending = 10000
	// maxRequest bounds the SAMLRequest parameter (an AuthnRequest is a few kilobytes).
	maxRequest = 64 << 10
	// maxRelayState bounds RelayState (the standard says 80 bytes; some SPs send more).
	maxRelayState = 1024
)

// Errors of the sign-on use cases. The handler maps each to a status and a message.
var (
	// ErrUnreadable: the AuthnRequest is missing, too large, not encoded as its binding says,
	// not a valid AuthnRequest, or expired.
	ErrUnreadable = errors.New("saml: the request could not be read")
	// ErrUnknownSP: the request's issuer is not a registered service provider.
	ErrUnknownSP = errors.New("saml: the service provider is not registered")
	// ErrACS: a registered service provider asked for its answer at an assertion consumer
	// service its metadata does not list.
	ErrACS = errors.New("saml: the assertion consumer service is not in the service provider's metadata")
	// ErrBinding: the service provider wants its answer by a binding other than HTTP-POST.
	ErrBinding = errors.New("saml: the service provider asks for a binding weftid does not offer")
	// ErrExpired: no held request has this id (it expired, was used, or was never made).
	ErrExpired = errors.New("saml: the held request expired or was used already")
	// ErrFull: as many requests are held as may be at once.
	ErrFull = errors.New("saml: too many requests are held")
	// ErrTooManyRequests: this address brought too many requests without a session
	// (throttle.SAMLHoldPerIP).
	ErrTooManyRequests = errors.New("saml: too many requests from this address")
)

// Binding is how an AuthnRequest came: in the query of a GET (HTTP-Redirect) or in a POST form
// (HTTP-POST). Its value is what saml_pending_requests stores.
type Binding string

// The two bindings weftid reads requests by.
const (
	BindingRedirect Binding = "redirect"
	BindingPost     Binding = "post"
)

// Inbound is an AuthnRequest as it arrived, with the address of the browser that brought it
// (the assertion confirms its subject to that address).
type Inbound struct {
	Binding     Binding
	SAMLRequest string
	RelayState  string
	IP          string
	// SignedIn: the browser has a session. It is answered at once, and a flood from it has a
	// name, so its requests are not counted against its IP.
	SignedIn bool
}

// AuthnRequest is a request read and validated, to hold or to answer.
type AuthnRequest struct {
	req       *crewjam.IdpAuthnRequest
	in        Inbound
	initiated string    // "sp", or "idp" for IdP-initiated sign-on
	arrived   time.Time // when weftid first received it, or held it last (ForceAuthn)
}

// ParseRequest reads and validates a request as it arrives: the issuer must be a registered
// service provider and the ACS one of its own. Errors: ErrTooManyRequests, ErrUnreadable,
// ErrUnknownSP, ErrACS.
//
// A request without a session is counted against its IP (throttle.SAMLHoldPerIP) before
// anything of it is parsed or stored, malformed or not: the limit bounds the work and the rows
// (a held request stays up to half an hour) one address can cause.
func (s *Service) ParseRequest(ctx context.Context, in Inbound) (*AuthnRequest, error) {
	if s.limiter != nil && !in.SignedIn {
		allowed, err := s.limiter.Take(ctx, throttle.SAMLHoldPerIP.For(throttle.IPKey(in.IP)))
		if err != nil {
			return nil, err
		}
		if !allowed {
			return nil, ErrTooManyRequests
		}
	}
	idp, err := s.provider(ctx)
	if err != nil {
		return nil, err
	}
	return s.parse(ctx, idp, in, s.now())
}

// parse reads and validates in as of at, its arrival.
func (s *Service) parse(ctx context.Context, idp *crewjam.IdentityProvider, in Inbound, at time.Time) (*AuthnRequest, error) {
	if in.SAMLRequest == "" || len(in.SAMLRequest) > maxRequest || len(in.RelayState) > maxRelayState {
		return nil, ErrUnreadable
	}
	r, err := httpRequest(ctx, in)
	if err != nil {
		return nil, err
	}
	req, err := crewjam.NewIdpAuthnRequest(idp, r)
	if err != nil {
		s.log.Info("SAML request refused", "err", err)
		return nil, ErrUnreadable
	}
	if !hasIssuer(req.RequestBuffer) {
		// crewjam's Validate reads the issuer without looking whether there is one (a panic).
		s.log.Info("SAML request refused", "err", "the AuthnRequest has no Issuer")
		return nil, ErrUnreadable
	}
	req.Now = at
	if err := req.Validate(); err != nil {
		issuer := "" // Validate may fail before it has read the document
		if req.Request.Issuer != nil {
			issuer = req.Request.Issuer.Value
		}
		s.log.Info("SAML request refused", "issuer", issuer, "err", err)
		if req.ServiceProviderMetadata != nil {
			// The SP is known, but asked for its answer at an address its metadata does not list.
			return nil, ErrACS
		}
		if issuer != "" {
			if _, lookupErr := s.store.SAMLServiceProviderByEntityID(ctx, issuer); errors.Is(lookupErr, store.ErrNotFound) {
				return nil, ErrUnknownSP
			}
		}
		return nil, ErrUnreadable
	}
	req.Now = s.now()
	return &AuthnRequest{req: req, in: in, initiated: "sp", arrived: at}, nil
}

// hasIssuer reports whether an AuthnRequest document names its issuer. A document that does not
// parse passes: Validate refuses it with its own error.
func hasIssuer(doc []byte) bool {
	var r crewjam.AuthnRequest
	if err := xml.Unmarshal(doc, &r); err != nil {
		return true
	}
	return r.Issuer != nil
}

// httpRequest rebuilds the request crewjam parses: GET with the query for HTTP-Redirect, POST
// with the form for HTTP-POST.
func httpRequest(ctx context.Context, in Inbound) (*http.Request, error) {
	v := url.Values{"SAMLRequest": {in.SAMLRequest}}
	if in.RelayState != "" {
		v.Set("RelayState", in.RelayState)
	}
	var r *http.Request
	var err error
	if in.Binding == BindingRedirect {
		r, err = http.NewRequestWithContext(ctx, http.MethodGet, "/saml/sso?"+v.Encode(), nil)
	} else {
		r, err = http.NewRequestWithContext(ctx, http.MethodPost, "/saml/sso", strings.NewReader(v.Encode()))
		if r != nil {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = in.IP
	return r, nil
}

// requestHash is how a held request's id is stored: the id itself is only in the browser's URL.
func (s *Service) requestHash(id string) []byte { return s.keys.HashToken("saml_request", id) }

// Hold keeps a request until its browser has a complete session and returns the id of its
// continuation. ErrFull when as many requests are held as may be.
func (s *Service) Hold(ctx context.Context, req *AuthnRequest) (string, error) {
	id, _, err := s.hold(ctx, req)
	return id, err
}

// hold is Hold, which also returns the service provider it looked up.
func (s *Service) hold(ctx context.Context, req *AuthnRequest) (string, store.SAMLServiceProvider, error) {
	sp, err := s.store.SAMLServiceProviderByEntityID(ctx, req.req.ServiceProviderMetadata.EntityID)
	if err != nil {
		return "", sp, err
	}
	id := auth.NewToken()
	now := s.now()
	// A request held again (for a step-up, or to sign in again) keeps the time it first
	// arrived: crewjam's 90 seconds are counted from then, and so is ForceAuthn's fresh sign-in.
	// Its life is counted from then too, so holding it again cannot keep it alive.
	arrived := req.arrived
	if arrived.IsZero() || arrived.After(now) {
		arrived = now
	}
	expires := arrived.Add(PendingTTL)
	if !expires.After(now) {
		return "", sp, ErrExpired
	}
	err = s.store.HoldSAMLRequest(ctx, store.SAMLPendingRequest{
		IDHash: s.requestHash(id), SPID: sp.ID, Binding: string(req.in.Binding),
		SAMLRequest: req.in.SAMLRequest, RelayState: req.in.RelayState,
		CreatedAt: arrived, ExpiresAt: expires,
	}, maxPending)
	if errors.Is(err, store.ErrConflict) {
		return "", sp, ErrFull
	}
	if err != nil {
		return "", sp, err
	}
	return id, sp, nil
}

// PeekHeld reads the request held under id without taking it (for what it asks before any
// sign-in: IsPassive). Errors as TakeHeld's.
func (s *Service) PeekHeld(ctx context.Context, id, ip string) (*AuthnRequest, error) {
	return s.readHeld(ctx, id, ip, s.store.SAMLRequest)
}

// Held reports whether a request is held under id, still waiting: nil, or ErrExpired.
func (s *Service) Held(ctx context.Context, id string) error {
	_, err := s.store.SAMLRequest(ctx, s.requestHash(id), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrExpired
	}
	return err
}

// TakeHeld takes the request held under id (once: a second take gets ErrExpired) and reads and
// validates it again as of its arrival, since crewjam refuses a request issued more than 90
// seconds earlier and a sign-in takes longer; the SP and its ACS are looked up again. ip is the
// browser's address now. Errors as ParseRequest's, and ErrExpired.
func (s *Service) TakeHeld(ctx context.Context, id, ip string) (*AuthnRequest, error) {
	return s.readHeld(ctx, id, ip, s.store.TakeSAMLRequest)
}

// readHeld reads the request held under id with read (the store's look or take) and validates
// it again as of its arrival.
func (s *Service) readHeld(ctx context.Context, id, ip string,
	read func(context.Context, []byte, time.Time) (store.SAMLPendingRequest, error)) (*AuthnRequest, error) {
	idp, err := s.provider(ctx) // first, so a missing key does not cost the request
	if err != nil {
		return nil, err
	}
	held, err := read(ctx, s.requestHash(id), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrExpired
	}
	if err != nil {
		return nil, err
	}
	in := Inbound{Binding: Binding(held.Binding), SAMLRequest: held.SAMLRequest, RelayState: held.RelayState, IP: ip}
	return s.parse(ctx, idp, in, held.CreatedAt)
}

// IdPInitiated makes the request of IdP-initiated sign-on to the service provider spID, answered
// at the first assertion consumer service of its metadata with the HTTP-POST binding. ip is the
// browser's address. ErrNotFound when there is no such service provider.
func (s *Service) IdPInitiated(ctx context.Context, spID int64, ip string) (*AuthnRequest, error) {
	sp, err := s.ServiceProvider(ctx, spID)
	if err != nil {
		return nil, err
	}
	idp, err := s.provider(ctx)
	if err != nil {
		return nil, err
	}
	md, err := storedMetadata(sp.Metadata)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/saml/idp", nil)
	if err != nil {
		return nil, err
	}
	r.RemoteAddr = ip
	req := &crewjam.IdpAuthnRequest{IDP: idp, HTTPRequest: r, Now: s.now(), ServiceProviderMetadata: md.entity}
	req.SPSSODescriptor, req.ACSEndpoint = md.postACS()
	return &AuthnRequest{req: req, initiated: "idp", arrived: s.now()}, nil
}

// SignedIn is a complete session (a sign-in that reached auth.StepDone): its user and the hash of
// its id.
type SignedIn struct {
	User          store.User
	SessionIDHash []byte
}

// Post is an issued response and where the browser posts it.
type Post struct {
	SPName       string
	URL          string // the SP's assertion consumer service
	Origin       string // scheme://host[:port] of URL, checked to be safe in a CSP source list
	SAMLResponse string
	RelayState   string
}

// Issue answers req for a complete session: it makes the signed (and, to a service provider with
// an encryption key, encrypted) assertion and response, whose AuthnContextClassRef says how the
// session signed in, and records saml_assertion_issued and the service provider's part in the
// session (for Single Logout), in one transaction. ErrBinding when the SP wants its answer
// other than by HTTP-POST; a *groups.Denied when the user may not sign in to it (its access,
// checked at every assertion, before any step-up); ErrFreshSignInRequired when the request
// asks for a sign-in newer than the session (ForceAuthn); ErrStepUpRequired when the service
// provider requires Enhanced, or the request asks for the REFEDS MFA class, and the session is
// not. A request weftid cannot answer (Unsupported), or a passive one that would need the
// user, gets its status response instead (refuse), as a Post without error.
func (s *Service) Issue(ctx context.Context, req *AuthnRequest, who SignedIn, from store.Origin) (Post, error) {
	if status := req.Unsupported(); status != "" {
		return s.refuse(ctx, req, status)
	}
	r := req.req
	if r.ACSEndpoint == nil || r.ACSEndpoint.Binding != crewjam.HTTPPostBinding {
		return Post{}, ErrBinding
	}
	sp, err := s.store.SAMLServiceProviderByEntityID(ctx, r.ServiceProviderMetadata.EntityID)
	if err != nil {
		return Post{}, err
	}
	if err := s.admit(ctx, sp, who, from); err != nil {
		return Post{}, err
	}
	session, sess, err := s.session(ctx, who)
	if err != nil {
		return Post{}, err
	}
	if req.staleFor(sess.CreatedAt) {
		return s.passiveOr(ctx, req, ErrFreshSignInRequired)
	}
	factors := auth.Factors(sess.Factors)
	_, wantsMFA := req.contextNeeds()
	if (sp.RequiredAuthStrength == auth.AppStrengthEnhanced || wantsMFA) && !factors.Strong() {
		return s.passiveOr(ctx, req, ErrStepUpRequired)
	}
	if err := r.IDP.AssertionMaker.MakeAssertion(r, session); err != nil {
		return Post{}, err
	}
	setAuthnContext(r.Assertion, factors)
	encryption := assertionCipher(r.SPSSODescriptor)
	if encryption == AlgAES256GCM {
		if err := sealAssertionGCM(r); err != nil {
			return Post{}, err
		}
	}
	form, err := r.PostBinding() // signs, and encrypts with CBC, what sealAssertionGCM did not
	if err != nil {
		return Post{}, err
	}
	origin, err := originOf(form.URL)
	if err != nil {
		return Post{}, fmt.Errorf("saml: ACS %q: %w", form.URL, err)
	}
	u := who.User
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		err := tx.RecordSAMLParticipant(ctx, store.SAMLParticipant{
			SessionHash: who.SessionIDHash, SPID: sp.ID, UserID: u.ID, NameID: session.NameID, NameIDFormat: session.NameIDFormat,
			SessionIndex: session.Index, CreatedAt: now, ExpiresAt: sess.ExpiresAt,
		})
		if err != nil {
			return err
		}
		details := map[string]any{"sp_id": sp.ID, "entity_id": sp.EntityID, "acs": form.URL, "initiated": req.initiated,
			"assertion_id": r.Assertion.ID, "authn_context": authnContextClass(factors), "encryption": cipherName(encryption)}
		return tx.AddEvent(ctx, from.Event(now, store.EventSAMLAssertionIssued, ptr(u.ID), ptr(u.ID), details))
	})
	if err != nil {
		return Post{}, err
	}
	return Post{SPName: sp.Name, URL: form.URL, Origin: origin, SAMLResponse: form.SAMLResponse, RelayState: form.RelayState}, nil
}

// cipherName is how an event names the encryption of an assertion.
func cipherName(alg string) string {
	switch alg {
	case AlgAES256GCM:
		return "aes256-gcm"
	case algAES128CBC:
		return "aes128-cbc"
	}
	return "none"
}

// sessionIndex names a session to service providers without giving away its id or its hash.
func (s *Service) sessionIndex(sessionIDHash []byte) string {
	return hex.EncodeToString(s.keys.HashToken("saml_session_index", hex.EncodeToString(sessionIDHash))[:16])
}

// session builds crewjam's session for the signed-in user (NameID their email address, and the
// attributes email, name and role, and groups when they are in any), beside weftid's session
// (how it signed in, when it expires).
func (s *Service) session(ctx context.Context, who SignedIn) (*crewjam.Session, store.Session, error) {
	sess, _, err := s.store.SessionUser(ctx, who.SessionIDHash, s.now())
	if err != nil {
		return nil, store.Session{}, err
	}
	index := s.sessionIndex(who.SessionIDHash)
	attr := func(name, value string) crewjam.Attribute {
		return crewjam.Attribute{FriendlyName: name, Name: name, NameFormat: attrFormat,
			Values: []crewjam.AttributeValue{{Type: "xs:string", Value: value}}}
	}
	u := who.User
	cs := &crewjam.Session{
		ID:           index,
		CreateTime:   sess.CreatedAt,
		ExpireTime:   sess.ExpiresAt,
		Index:        index,
		NameID:       u.Email,
		NameIDFormat: nameIDFormat,
		CustomAttributes: []crewjam.Attribute{
			attr("email", u.Email),
			attr("name", u.Name),
			attr("role", string(u.Role)),
		},
	}
	if err := s.addGroups(ctx, cs, u.ID); err != nil {
		return nil, store.Session{}, err
	}
	return cs, sess, nil
}

// serviceProviders finds registered service providers by entity ID for crewjam.
type serviceProviders struct{ s *Service }

// GetServiceProvider returns the metadata of the registered service provider, or os.ErrNotExist.
func (p serviceProviders) GetServiceProvider(r *http.Request, entityID string) (*crewjam.EntityDescriptor, error) {
	sp, err := p.s.store.SAMLServiceProviderByEntityID(r.Context(), entityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	md, err := storedMetadata(sp.Metadata)
	if err != nil {
		return nil, fmt.Errorf("stored metadata of %q: %w", entityID, err)
	}
	return md.entity, nil
}

// assertions makes assertions with crewjam's DefaultAssertionMaker, carrying only our three
// attributes: the SP's requested attributes are not mapped again (they would repeat email and
// name with other names).
type assertions struct{}

// MakeAssertion implements crewjam's AssertionMaker.
func (assertions) MakeAssertion(req *crewjam.IdpAuthnRequest, session *crewjam.Session) error {
	saved := req.SPSSODescriptor
	sp := *req.SPSSODescriptor
	sp.AttributeConsumingServices = nil
	req.SPSSODescriptor = &sp
	defer func() { req.SPSSODescriptor = saved }()
	return crewjam.DefaultAssertionMaker{}.MakeAssertion(req, session)
}

// originOf is the scheme://host[:port] of an absolute http(s) URL, checked to hold nothing that
// could end a CSP source expression.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", errors.New("not an absolute http(s) URL")
	}
	for _, r := range u.Host {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r)) {
			return "", errors.New("unexpected character in the host")
		}
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}
