package handlers

// The SAML identity provider, built on crewjam/saml: metadata, SP-initiated sign-on (HTTP-Redirect
// and HTTP-POST bindings), IdP-initiated sign-on from the dashboard, and the gate that holds a
// request until its browser has finished every step of its sign-in.
//
// The flow of an SP-initiated request:
//
//	/saml/sso (GET or POST) -> parse and validate the AuthnRequest -> SessionProvider.GetSession
//	   complete session: the assertion is issued at once
//	   otherwise: the request is held (saml_pending_requests) -> 303 /saml/continue/{id}
//	/saml/continue/{id}
//	   complete session: the held request is taken (once), validated again and answered
//	   otherwise: the sign-in in progress (or the next one started) gets ReturnTo =
//	   /saml/continue/{id}, and the browser goes to its next step; finishSignIn, reached only at
//	   auth.StepDone, creates the session and sends the browser back here.
//
// A request that arrives by HTTP-POST comes from another site, so its SameSite=Lax session cookie
// is not sent with it: the hop to /saml/continue (a top-level GET, which carries the cookie) is
// what lets a signed-in browser through without signing in again.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/gofiber/fiber/v2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

const (
	// samlNameIDFormat: the NameID of every assertion is the user's email address.
	samlNameIDFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	// samlAttrFormat is the NameFormat of the email, name and role attributes.
	samlAttrFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	// samlPendingTTL is how long a held request waits for its sign-in: as long as a sign-in lasts.
	samlPendingTTL = auth.SignInTTL
	// samlMaxPending caps the requests held at once, so a flood cannot fill the disk.
	samlMaxPending = 10000
	// samlMaxRequest bounds the SAMLRequest parameter (an AuthnRequest is a few kilobytes).
	samlMaxRequest = 64 << 10
	// samlMaxRelayState bounds RelayState (the standard says 80 bytes; some SPs send more).
	samlMaxRelayState = 1024
	// samlContinuePath is where a held request continues: /saml/continue/{id}.
	samlContinuePath = "/saml/continue/"
	// returnCookie carries the continuation to a sign-in that has not started yet; startSignIn
	// moves it into the sign-in record's ReturnTo.
	returnCookie = "weftid_return"
)

// samlIdP is the identity provider, built once its key is loaded (or made, on the first start).
type samlIdP struct {
	mu  sync.Mutex
	idp *saml.IdentityProvider
}

// initSAML loads or creates the identity provider's key at start-up. A failure is logged and
// retried by the first SAML request.
func (h *Handler) initSAML() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := h.samlProvider(ctx); err != nil {
		h.log.Error("SAML identity provider unavailable", "err", err)
	}
}

// samlProvider returns the identity provider, loading its key (or making it) the first time.
func (h *Handler) samlProvider(ctx context.Context) (*saml.IdentityProvider, error) {
	h.saml.mu.Lock()
	defer h.saml.mu.Unlock()
	if h.saml.idp != nil {
		return h.saml.idp, nil
	}
	key, cert, err := h.samlKey(ctx)
	if err != nil {
		return nil, err
	}
	h.saml.idp = &saml.IdentityProvider{
		Key:                     key,
		Certificate:             cert,
		Logger:                  slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
		MetadataURL:             h.absURL("/saml/metadata"),
		SSOURL:                  h.absURL("/saml/sso"),
		ServiceProviderProvider: samlServiceProviders{h},
		SessionProvider:         samlSessions{h},
		AssertionMaker:          samlAssertions{},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
	}
	return h.saml.idp, nil
}

// absURL is path on the base URL. It is resolved from the parsed base URL, so its path always
// starts with a slash (url.JoinPath on a bare host gives "saml/sso", and crewjam's
// IdentityProvider.Handler panics on that).
func (h *Handler) absURL(path string) url.URL {
	return *h.base.ResolveReference(&url.URL{Path: path})
}

// samlKeyContext binds the sealed key to its purpose: it cannot be opened as anything else.
const samlKeyContext = "saml_idp_key"

// samlKey reads the signing key and certificate, making and storing them on the first start.
// If another process stored one first, that one is used.
func (h *Handler) samlKey(ctx context.Context) (*rsa.PrivateKey, *x509.Certificate, error) {
	k, err := h.store.SAMLKey(ctx)
	if errors.Is(err, store.ErrNotFound) {
		if k, err = h.newSAMLKey(); err != nil {
			return nil, nil, err
		}
		err = h.store.CreateSAMLKey(ctx, k)
		if err == nil {
			h.log.Info("SAML identity provider key created; its certificate is in /saml/metadata")
		}
		if errors.Is(err, store.ErrConflict) {
			k, err = h.store.SAMLKey(ctx)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	der, err := h.keys.Open(k.SealedKey, samlKeyContext)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: open (is this the secret key file it was made with?): %w", err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, nil, fmt.Errorf("saml key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("saml key: not an RSA key")
	}
	cert, err := x509.ParseCertificate(k.Certificate)
	if err != nil {
		return nil, nil, fmt.Errorf("saml certificate: %w", err)
	}
	return key, cert, nil
}

// newSAMLKey makes a 2048-bit RSA key and a self-signed certificate for it, valid for ten years
// (service providers pin the certificate from the metadata; its dates are not checked).
func (h *Handler) newSAMLKey() (store.SAMLKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	now := h.now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: h.base.Hostname(), Organization: []string{"weftid"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	sealed, err := h.keys.Seal(pkcs8, samlKeyContext)
	if err != nil {
		return store.SAMLKey{}, fmt.Errorf("saml key: %w", err)
	}
	return store.SAMLKey{Certificate: der, SealedKey: sealed, CreatedAt: now}, nil
}

// samlMetadata serves the identity provider's metadata: entity ID, signing certificate, the SSO
// endpoint for both bindings, and emailAddress as the NameID format.
func (h *Handler) samlMetadata(c *fiber.Ctx) error {
	idp, err := h.samlProvider(c.UserContext())
	if err != nil {
		return err
	}
	md := idp.Metadata()
	md.IDPSSODescriptors[0].NameIDFormats = []saml.NameIDFormat{samlNameIDFormat}
	buf, err := xml.MarshalIndent(md, "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/samlmetadata+xml")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(append([]byte(xml.Header), buf...))
}

// samlServiceProviders finds registered service providers by entity ID for crewjam.
type samlServiceProviders struct{ h *Handler }

// GetServiceProvider returns the metadata of the registered service provider, or os.ErrNotExist.
func (s samlServiceProviders) GetServiceProvider(r *http.Request, entityID string) (*saml.EntityDescriptor, error) {
	sp, err := s.h.store.SAMLServiceProviderByEntityID(r.Context(), entityID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, os.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	md, err := parseSPMetadata([]byte(sp.Metadata))
	if err != nil {
		return nil, fmt.Errorf("stored metadata of %q: %w", entityID, err)
	}
	return md.entity, nil
}

// fiberCtxKey carries the fiber request inside the net/http request crewjam is given.
type fiberCtxKey struct{}

// samlSessions is the gate: crewjam asks it for the session of a request, and only a complete
// session (a sign-in that reached auth.StepDone) answers.
type samlSessions struct{ h *Handler }

// GetSession returns the signed-in user's session. Without one (no session, or a sign-in still
// at a step) it issues nothing: it holds the request and sends the browser to its continuation,
// which leads through the sign-in, and returns nil, as crewjam's interface asks.
//
// It answers through the fiber request that r's context carries (see samlHTTPRequest), so its
// ResponseWriter is not used.
func (s samlSessions) GetSession(_ http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	c, _ := r.Context().Value(fiberCtxKey{}).(*fiber.Ctx)
	if c == nil {
		return nil
	}
	if u := currentUser(c); u != nil {
		sess, err := s.h.samlSession(c, *u)
		if err == nil {
			return sess
		}
		c.Locals(localSAMLError, err)
		return nil
	}
	if err := s.h.holdSAMLRequest(c, req); err != nil {
		c.Locals(localSAMLError, err)
	}
	return nil
}

// localSAMLError is where GetSession leaves an error for its caller (it can only return nil).
const localSAMLError = "weftid.saml_error"

// samlSession builds crewjam's session for the signed-in user: NameID their email address, and
// the attributes email, name and role.
func (h *Handler) samlSession(c *fiber.Ctx, u store.User) (*saml.Session, error) {
	idHash, _ := c.Locals(localSession).([]byte)
	sess, _, err := h.store.SessionUser(c.UserContext(), idHash, h.now())
	if err != nil {
		return nil, err
	}
	// The session index names the session to the SP without giving away its id or its hash.
	index := hex.EncodeToString(h.keys.HashToken("saml_session_index", hex.EncodeToString(idHash))[:16])
	attr := func(name, value string) saml.Attribute {
		return saml.Attribute{FriendlyName: name, Name: name, NameFormat: samlAttrFormat,
			Values: []saml.AttributeValue{{Type: "xs:string", Value: value}}}
	}
	return &saml.Session{
		ID:           index,
		CreateTime:   sess.CreatedAt,
		ExpireTime:   sess.ExpiresAt,
		Index:        index,
		NameID:       u.Email,
		NameIDFormat: samlNameIDFormat,
		CustomAttributes: []saml.Attribute{
			attr("email", u.Email),
			attr("name", u.Name),
			attr("role", string(u.Role)),
		},
	}, nil
}

// samlAssertions makes assertions with crewjam's DefaultAssertionMaker, carrying only our three
// attributes: the SP's requested attributes are not mapped again (they would repeat email and
// name with other names).
type samlAssertions struct{}

// MakeAssertion implements saml.AssertionMaker.
func (samlAssertions) MakeAssertion(req *saml.IdpAuthnRequest, session *saml.Session) error {
	saved := req.SPSSODescriptor
	sp := *req.SPSSODescriptor
	sp.AttributeConsumingServices = nil
	req.SPSSODescriptor = &sp
	defer func() { req.SPSSODescriptor = saved }()
	return saml.DefaultAssertionMaker{}.MakeAssertion(req, session)
}

// samlRequestError is the page for a request that cannot be answered, in words.
func (h *Handler) samlRequestError(c *fiber.Ctx, status int, msg string) error {
	return render(c, status, views.SAMLErrorPage(h.pageBase(c, "Cannot sign in to the application", ""), msg))
}

const (
	msgSAMLUnreadable = "The application's sign-in request could not be read. Go back to the application and try again."
	msgSAMLUnknownSP  = "This application is not registered with weftid. Ask an administrator to register it under Applications > SAML."
	msgSAMLExpired    = "The application's sign-in request expired or was used already. Go back to the application and sign in again."
	msgSAMLACS        = "The application asked for its answer at an address its registered metadata does not list. An administrator can replace its metadata under Applications > SAML."
	msgSAMLBinding    = "The application asks for its answer by a binding weftid does not offer: weftid answers by HTTP-POST only."
)

// samlHTTPRequest rebuilds the request crewjam parses: GET with the query for HTTP-Redirect,
// POST with the form for HTTP-POST. The fiber request rides in its context for GetSession.
func (h *Handler) samlHTTPRequest(c *fiber.Ctx, binding, samlRequest, relayState string) (*http.Request, error) {
	v := url.Values{"SAMLRequest": {samlRequest}}
	if relayState != "" {
		v.Set("RelayState", relayState)
	}
	ctx := context.WithValue(c.UserContext(), fiberCtxKey{}, c)
	var r *http.Request
	var err error
	if binding == "redirect" {
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
	r.RemoteAddr = h.clientIP(c)
	return r, nil
}

// parseSAMLRequest reads and validates an AuthnRequest as of at (its arrival): the issuer must
// be a registered service provider and the ACS one of its own. The error is what to tell people.
func (h *Handler) parseSAMLRequest(c *fiber.Ctx, idp *saml.IdentityProvider, binding, samlRequest, relayState string, at time.Time) (*saml.IdpAuthnRequest, *http.Request, string, error) {
	if samlRequest == "" || len(samlRequest) > samlMaxRequest || len(relayState) > samlMaxRelayState {
		return nil, nil, msgSAMLUnreadable, nil
	}
	r, err := h.samlHTTPRequest(c, binding, samlRequest, relayState)
	if err != nil {
		return nil, nil, "", err
	}
	req, err := saml.NewIdpAuthnRequest(idp, r)
	if err != nil {
		h.log.Info("SAML request refused", "err", err)
		return nil, nil, msgSAMLUnreadable, nil
	}
	req.Now = at
	if err := req.Validate(); err != nil {
		h.log.Info("SAML request refused", "issuer", req.Request.Issuer.Value, "err", err)
		if req.ServiceProviderMetadata != nil {
			// The SP is known, but asked for its answer at an address its metadata does not list.
			return nil, nil, msgSAMLACS, nil
		}
		if req.Request.Issuer.Value != "" {
			if _, lookupErr := h.store.SAMLServiceProviderByEntityID(c.UserContext(), req.Request.Issuer.Value); errors.Is(lookupErr, store.ErrNotFound) {
				return nil, nil, msgSAMLUnknownSP, nil
			}
		}
		return nil, nil, msgSAMLUnreadable, nil
	}
	req.Now = h.now()
	return req, r, "", nil
}

// samlSSO is the SSO endpoint: GET for the HTTP-Redirect binding, POST for HTTP-POST. POST comes
// from the SP's page, so it is exempt from our CSRF check (it changes nothing but a held request).
func (h *Handler) samlSSO(c *fiber.Ctx) error {
	idp, err := h.samlProvider(c.UserContext())
	if err != nil {
		return err
	}
	binding, samlRequest, relayState := "redirect", c.Query("SAMLRequest"), c.Query("RelayState")
	if c.Method() == fiber.MethodPost {
		binding, samlRequest, relayState = "post", c.FormValue("SAMLRequest"), c.FormValue("RelayState")
	}
	req, r, problem, err := h.parseSAMLRequest(c, idp, binding, samlRequest, relayState, h.now())
	if err != nil {
		return err
	}
	if problem != "" {
		return h.samlRequestError(c, fiber.StatusBadRequest, problem)
	}
	if binding == "post" {
		// The session cookie (SameSite=Lax) does not come with another site's POST: hold the
		// request and look for the session at the continuation, a GET that carries it.
		return h.holdSAMLRequest(c, req)
	}
	return h.answerSAML(c, idp, req, r, "sp")
}

// answerSAML asks the gate for the session and, with one, issues the assertion.
func (h *Handler) answerSAML(c *fiber.Ctx, idp *saml.IdentityProvider, req *saml.IdpAuthnRequest, r *http.Request, initiated string) error {
	session := idp.SessionProvider.GetSession(nil, r, req)
	if err, _ := c.Locals(localSAMLError).(error); err != nil {
		return err
	}
	if session == nil {
		return nil // GetSession answered: the browser goes to sign in
	}
	return h.issueSAML(c, idp, req, session, initiated)
}

// holdSAMLRequest keeps the request and sends the browser to its continuation.
func (h *Handler) holdSAMLRequest(c *fiber.Ctx, req *saml.IdpAuthnRequest) error {
	ctx := c.UserContext()
	sp, err := h.store.SAMLServiceProviderByEntityID(ctx, req.ServiceProviderMetadata.EntityID)
	if err != nil {
		return err
	}
	binding, samlRequest := "redirect", req.HTTPRequest.URL.Query().Get("SAMLRequest")
	if req.HTTPRequest.Method == http.MethodPost {
		binding, samlRequest = "post", req.HTTPRequest.PostForm.Get("SAMLRequest")
	}
	if ok, err := h.ssoRequestAllowed(c, throttle.SAMLHoldPerIP); err != nil {
		return err
	} else if !ok {
		c.Set(fiber.HeaderRetryAfter, "60")
		return h.samlRequestError(c, fiber.StatusTooManyRequests, "Too many sign-in requests from this address. Wait a few minutes and try again.")
	}
	id := auth.NewToken()
	now := h.now()
	err = h.store.HoldSAMLRequest(ctx, store.SAMLPendingRequest{
		IDHash: h.keys.HashToken("saml_request", id), SPID: sp.ID, Binding: binding,
		SAMLRequest: samlRequest, RelayState: req.RelayState,
		CreatedAt: now, ExpiresAt: now.Add(samlPendingTTL),
	}, samlMaxPending)
	if errors.Is(err, store.ErrConflict) {
		return fiber.ErrServiceUnavailable
	}
	if err != nil {
		return err
	}
	return redirect(c, samlContinuePath+id)
}

// samlContinue answers a held request once its browser has a complete session. Without one it
// issues nothing: the browser goes to the next step of its sign-in, which comes back here when
// every step is done.
func (h *Handler) samlContinue(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Params("id")
	idHash := h.keys.HashToken("saml_request", id)
	if currentUser(c) == nil {
		if _, err := h.store.SAMLRequest(ctx, idHash, h.now()); errors.Is(err, store.ErrNotFound) {
			return h.samlRequestError(c, fiber.StatusNotFound, msgSAMLExpired)
		} else if err != nil {
			return err
		}
		return h.continueAfterSignIn(c, samlContinuePath+id)
	}
	idp, err := h.samlProvider(ctx)
	if err != nil {
		return err
	}
	held, err := h.store.TakeSAMLRequest(ctx, idHash, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return h.samlRequestError(c, fiber.StatusNotFound, msgSAMLExpired)
	}
	if err != nil {
		return err
	}
	// Validated as of its arrival (crewjam refuses a request issued more than 90 seconds
	// earlier, and a sign-in takes longer); the SP and its ACS are looked up again.
	req, r, problem, err := h.parseSAMLRequest(c, idp, held.Binding, held.SAMLRequest, held.RelayState, held.CreatedAt)
	if err != nil {
		return err
	}
	if problem != "" {
		return h.samlRequestError(c, fiber.StatusBadRequest, problem)
	}
	return h.answerSAML(c, idp, req, r, "sp")
}

// continueAfterSignIn makes returnTo the place a sign-in ends: the sign-in in progress in this
// browser, or (through a cookie that startSignIn reads) the next one. The browser goes to the
// sign-in's next step.
func (h *Handler) continueAfterSignIn(c *fiber.Ctx, returnTo string) error {
	si, u, err := h.currentSignIn(c)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.setCookie(c, returnCookie, returnTo, h.now().Add(samlPendingTTL))
		return redirect(c, "/login")
	case err != nil:
		return err
	}
	if err := h.store.SetSignInReturnTo(c.UserContext(), si.IDHash, returnTo); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return signInExpired(c)
		}
		return err
	}
	si.ReturnTo = returnTo
	return h.advance(c, si, u, "password")
}

// pendingReturnTo is where a sign-in starting now should end: the continuation of an SSO
// request (SAML or OpenID Connect) that sent this browser to sign in and still waits (the
// cookie is used once), or "".
func (h *Handler) pendingReturnTo(c *fiber.Ctx) string {
	v := c.Cookies(h.cookieName(returnCookie))
	if v == "" {
		return ""
	}
	h.clearCookie(c, returnCookie)
	if strings.HasPrefix(v, oidcContinuePrefix) {
		return v // /oauth2/continue checks the request itself
	}
	id, ok := strings.CutPrefix(v, samlContinuePath)
	if !ok {
		return "" // only SSO continuations travel this way
	}
	if _, err := h.store.SAMLRequest(c.UserContext(), h.keys.HashToken("saml_request", id), h.now()); err != nil {
		return "" // expired, used or dropped: the sign-in goes to the dashboard
	}
	return v
}

// samlIdPInitiated signs the user in to a service provider from the dashboard ("Open"): a POST
// with the CSRF token, so no other site (and no link prefetcher) can send assertions in the
// user's name.
func (h *Handler) samlIdPInitiated(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	idp, err := h.samlProvider(ctx)
	if err != nil {
		return err
	}
	md, err := parseSPMetadata([]byte(sp.Metadata))
	if err != nil {
		return err
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, fiberCtxKey{}, c), http.MethodPost, "/saml/idp", nil)
	if err != nil {
		return err
	}
	r.RemoteAddr = h.clientIP(c)
	req := &saml.IdpAuthnRequest{IDP: idp, HTTPRequest: r, Now: h.now(), ServiceProviderMetadata: md.entity}
	req.SPSSODescriptor, req.ACSEndpoint = md.postACS()
	return h.answerSAML(c, idp, req, r, "idp")
}

// issueSAML makes the signed assertion and response, logs saml_assertion_issued and renders the
// page that posts the response to the SP's ACS.
func (h *Handler) issueSAML(c *fiber.Ctx, idp *saml.IdentityProvider, req *saml.IdpAuthnRequest, session *saml.Session, initiated string) error {
	if req.ACSEndpoint == nil || req.ACSEndpoint.Binding != saml.HTTPPostBinding {
		return h.samlRequestError(c, fiber.StatusBadRequest, msgSAMLBinding)
	}
	if err := idp.AssertionMaker.MakeAssertion(req, session); err != nil {
		return err
	}
	form, err := req.PostBinding()
	if err != nil {
		return err
	}
	acsOrigin, err := originOf(form.URL)
	if err != nil {
		return fmt.Errorf("saml: ACS %q: %w", form.URL, err)
	}
	ctx := c.UserContext()
	u := currentUser(c)
	sp, err := h.store.SAMLServiceProviderByEntityID(ctx, req.ServiceProviderMetadata.EntityID)
	if err != nil {
		return err
	}
	err = h.store.AddEvent(ctx, h.event(c, store.EventSAMLAssertionIssued, ptr(u.ID), ptr(u.ID), map[string]any{
		"sp_id": sp.ID, "entity_id": sp.EntityID, "acs": form.URL, "initiated": initiated,
		"assertion_id": req.Assertion.ID,
	}))
	if err != nil {
		return err
	}
	// The page posts to the SP's ACS: our form-action allows that origin for this response only.
	c.Set(fiber.HeaderContentSecurityPolicy, strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+acsOrigin, 1))
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return render(c, fiber.StatusOK, views.SAMLPostPage(views.SAMLPost{
		SPName: sp.Name, URL: form.URL, SAMLResponse: form.SAMLResponse, RelayState: form.RelayState,
	}))
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
