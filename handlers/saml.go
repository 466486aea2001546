package handlers

// The SAML identity provider's endpoints (services/saml does the work): metadata, SP-initiated
// sign-on (HTTP-Redirect and HTTP-POST bindings), IdP-initiated sign-on from the dashboard, and
// the gate that holds a request until its browser has finished every step of its sign-in.
//
// The flow of an SP-initiated request:
//
//	/saml/sso (GET or POST) -> parse and validate the AuthnRequest
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
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

const (
	// samlContinuePath is where a held request continues: /saml/continue/{id}.
	samlContinuePath = saml.ContinuePrefix
	// returnCookie carries the continuation to a sign-in that has not started yet; startSignIn
	// moves it into the sign-in record's ReturnTo.
	returnCookie = "weftid_return"
)

// samlMetadata serves the identity provider's metadata.
func (h *Handler) samlMetadata(c *fiber.Ctx) error {
	md, err := h.SAML.Metadata(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/samlmetadata+xml")
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(md)
}

// samlRequestError is the page for a request that cannot be answered, in words.
func (h *Handler) samlRequestError(c *fiber.Ctx, status int, msg string) error {
	return render(c, status, views.SAMLErrorPage(h.pageBase(c, "Cannot sign in to the application", ""), msg))
}

// samlError answers an error of the SAML service: a refused request gets its page in words
// (answers holds them), anything else the error page.
func (h *Handler) samlError(c *fiber.Ctx, err error) error {
	if a, ok := answerFor(err); ok && a.msg != "" {
		return h.samlRequestError(c, a.status, a.msg)
	}
	return err
}

// samlSSO is the SSO endpoint: GET for the HTTP-Redirect binding, POST for HTTP-POST. POST comes
// from the SP's page, so it is exempt from our CSRF check (it changes nothing but a held request).
func (h *Handler) samlSSO(c *fiber.Ctx) error {
	in := saml.Inbound{Binding: saml.BindingRedirect, SAMLRequest: c.Query("SAMLRequest"), RelayState: c.Query("RelayState"), IP: h.clientIP(c)}
	if c.Method() == fiber.MethodPost {
		in.Binding, in.SAMLRequest, in.RelayState = saml.BindingPost, c.FormValue("SAMLRequest"), c.FormValue("RelayState")
	}
	in.SignedIn = currentUser(c) != nil // an anonymous request is counted against its IP
	req, err := h.SAML.ParseRequest(c.UserContext(), in)
	if err != nil {
		return h.samlError(c, err)
	}
	if in.Binding == saml.BindingPost {
		// The session cookie (SameSite=Lax) does not come with another site's POST: hold the
		// request and look for the session at the continuation, a GET that carries it.
		return h.holdSAMLRequest(c, req, false)
	}
	return h.answerSAML(c, req)
}

// answerSAML is the gate: only a complete session (a sign-in that reached auth.StepDone) gets an
// assertion. Without one nothing is issued: the request is held and the browser goes to its
// continuation, which leads through the sign-in.
func (h *Handler) answerSAML(c *fiber.Ctx, req *saml.AuthnRequest) error {
	u := currentUser(c)
	if u == nil {
		return h.holdSAMLRequest(c, req, true)
	}
	idHash := sessionHash(c)
	post, err := h.SAML.Issue(c.UserContext(), req, saml.SignedIn{User: *u, SessionIDHash: idHash}, h.requestOrigin(c))
	switch {
	case errors.Is(err, saml.ErrStepUpRequired):
		return h.samlStepUp(c, req)
	case errors.Is(err, saml.ErrFreshSignInRequired):
		return h.samlConfirmReauth(c, req)
	case err != nil:
		return h.samlError(c, err)
	}
	return h.samlPost(c, post)
}

// samlConfirmReauth holds a request that asks for a fresh sign-in (ForceAuthn) and asks the
// signed-in user to confirm "Sign in again": a form, so that no other site can sign people out
// by sending a request.
func (h *Handler) samlConfirmReauth(c *fiber.Ctx, req *saml.AuthnRequest) error {
	id, spName, err := h.SAML.HoldSignedIn(c.UserContext(), req, h.clientIP(c))
	if err != nil {
		return h.samlError(c, err)
	}
	return render(c, fiber.StatusOK, views.ReauthPage(h.pageBase(c, "Sign in again", ""), spName, "/saml/reauth", id))
}

// samlReauth is the confirmed "Sign in again": the session ends and the held request waits for
// the new sign-in.
func (h *Handler) samlReauth(c *fiber.Ctx) error {
	id := c.FormValue("id")
	if err := h.SAML.Reauth(c.UserContext(), id, currentUser(c), sessionHash(c), h.requestOrigin(c)); err != nil {
		return h.samlError(c, err)
	}
	h.sessionEnded(c)
	return h.continueAfterSignIn(c, samlContinuePath+id)
}

// samlPost renders the page that posts a response to the service provider.
func (h *Handler) samlPost(c *fiber.Ctx, post saml.Post) error {
	// The page posts to the SP's ACS: our form-action allows that origin for this response only.
	allowFormAction(c, post.Origin)
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return render(c, fiber.StatusOK, views.SAMLPostPage(views.SAMLPost{
		SPName: post.SPName, URL: post.URL, SAMLResponse: post.SAMLResponse, RelayState: post.RelayState,
	}))
}

// samlStepUp steps the session up for a service provider that requires Enhanced: the request
// is held again and answered when the step-up is done. IdP-initiated sign-on holds nothing: the
// step-up returns to the dashboard, where the user opens the application again.
func (h *Handler) samlStepUp(c *fiber.Ctx, req *saml.AuthnRequest) error {
	if req.IdPInitiated() {
		return h.stepUp(c, "/dashboard")
	}
	id, _, err := h.SAML.HoldSignedIn(c.UserContext(), req, h.clientIP(c))
	if err != nil {
		return h.samlError(c, err)
	}
	return h.stepUp(c, samlContinuePath+id)
}

// holdSAMLRequest keeps the request (samlSSO counted it against the per-IP limit on stored SSO
// requests) and sends the browser to its continuation, unless the request is refused at once
// (saml.Service.Refusal; signedOut: nobody is signed in here).
func (h *Handler) holdSAMLRequest(c *fiber.Ctx, req *saml.AuthnRequest, signedOut bool) error {
	if post, refused, err := h.SAML.Refusal(c.UserContext(), req, signedOut); err != nil {
		return h.samlError(c, err)
	} else if refused {
		return h.samlPost(c, post)
	}
	id, err := h.SAML.Hold(c.UserContext(), req)
	if err != nil {
		return h.samlError(c, err)
	}
	return redirect(c, samlContinuePath+id)
}

// samlContinue answers a held request once its browser has a complete session. Without one it
// issues nothing: the browser goes to the next step of its sign-in, which comes back here when
// every step is done.
func (h *Handler) samlContinue(c *fiber.Ctx) error {
	id := c.Params("id")
	if currentUser(c) == nil {
		// Held from a POST, which showed no session: a passive request is refused now.
		req, err := h.SAML.PeekHeld(c.UserContext(), id, h.clientIP(c))
		if err != nil {
			return h.samlError(c, err)
		}
		post, refused, err := h.SAML.Refusal(c.UserContext(), req, true)
		if err != nil {
			return h.samlError(c, err)
		}
		if !refused {
			return h.continueAfterSignIn(c, samlContinuePath+id)
		}
		if _, err := h.SAML.TakeHeld(c.UserContext(), id, h.clientIP(c)); err != nil { // answered once
			return h.samlError(c, err)
		}
		return h.samlPost(c, post)
	}
	req, err := h.SAML.TakeHeld(c.UserContext(), id, h.clientIP(c))
	if err != nil {
		return h.samlError(c, err)
	}
	return h.answerSAML(c, req)
}

// continueAfterSignIn makes returnTo the place a sign-in ends: the sign-in in progress in this
// browser, or (through a cookie that startSignIn reads) the next one. The browser goes to the
// sign-in's next step.
func (h *Handler) continueAfterSignIn(c *fiber.Ctx, returnTo string) error {
	si, _, err := h.currentSignIn(c)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.setCookie(c, returnCookie, returnTo, h.now().Add(saml.PendingTTL))
		return redirect(c, "/login")
	case err != nil:
		return err
	}
	if err := h.SignIn.SetReturnTo(c.UserContext(), si, returnTo); err != nil {
		return h.respond(c, signin.Result{}, err) // gone meanwhile: back to the start
	}
	return h.advance(c, "password")
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
	if _, ok := oidc.ContinueID(v); ok || strings.HasPrefix(v, proxy.ContinuePath+"?") {
		return v // /oauth2/continue and /proxy/continue check the request themselves
	}
	id, ok := strings.CutPrefix(v, samlContinuePath)
	if !ok {
		return "" // only SSO continuations travel this way
	}
	if err := h.SAML.Held(c.UserContext(), id); err != nil {
		return "" // expired, used or dropped: the sign-in goes to the dashboard
	}
	return v
}

// samlIdPInitiated signs the user in to a service provider from the dashboard ("Open"): a POST
// with the CSRF token, so no other site (and no link prefetcher) can send assertions in the
// user's name.
func (h *Handler) samlIdPInitiated(c *fiber.Ctx) error {
	req, err := h.SAML.IdPInitiated(c.UserContext(), formInt(c.Params("id")), h.clientIP(c))
	if err != nil {
		return err
	}
	return h.answerSAML(c, req)
}
