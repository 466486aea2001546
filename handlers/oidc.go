package handlers

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// oidcProvider is services/oidc's provider (zitadel/oidc's op) mounted in fiber through one
// net/http adaptor.
type oidcProvider struct {
	*oidc.Provider
	handler fiber.Handler
}

// newOIDCProvider builds the provider of svc for the issuer base.
func newOIDCProvider(svc *oidc.Service, base *url.URL) (*oidcProvider, error) {
	p, err := svc.NewProvider(context.Background(), base)
	if err != nil {
		return nil, err
	}
	return &oidcProvider{Provider: p, handler: adaptor.HTTPHandler(p.Handler())}, nil
}

// oidcBrowserCookie is a random id of this browser: authorize requests are bound to it. Where
// a sign-in that starts now must continue when it is done travels in returnCookie.
const oidcBrowserCookie = "weftid_oidc"

const localOIDCBrowser = "weftid.oidc_browser"

// oidcOn answers 404 on the OpenID Connect routes when the base URL cannot be an issuer; every
// OIDC route passes it first.
func (h *Handler) oidcOn(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	return c.Next()
}

// oidcEndpoint hands the request to op (the JWKS).
func (h *Handler) oidcEndpoint(c *fiber.Ctx) error {
	return h.oidc.handler(c)
}

// oidcDiscovery is the discovery document: what the endpoints accept, and nothing else.
func (h *Handler) oidcDiscovery(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.JSON(h.oidc.Discovery(c.UserContext()))
}

// oidcAuthorize is the authorization endpoint behind the per-IP limit of requests without a
// session (oidc.AuthorizeAllowed): the browser goes to wait for its sign-in, or back to the
// application with an error; a request whose error cannot go back gets weftid's page.
func (h *Handler) oidcAuthorize(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if err := h.OIDC.AuthorizeAllowed(ctx, h.oidcActor(c)); err != nil {
		return err
	}
	params, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		err = oidc.ErrAuthorizeUnreadable
	} else {
		var to string
		if to, err = h.oidc.Authorize(ctx, params); err == nil {
			return c.Redirect(to, fiber.StatusFound)
		}
	}
	return h.authorizeErrorPage(c, err)
}

// authorizeErrorPage answers an authorize error that cannot go back to the application with
// weftid's page, in words; any other error goes on to the error handler.
func (h *Handler) authorizeErrorPage(c *fiber.Ctx, err error) error {
	if a, ok := answerFor(err); ok && a.msg != "" {
		return render(c, a.status, views.ErrorPage(h.pageBase(c, "Cannot sign in to the application", ""), a.status, a.msg))
	}
	return err
}

// maxPostedQuery bounds an authorize or logout request sent by POST, which goes on as a query
// string.
const maxPostedQuery = 8 << 10

// oidcAuthorizePost takes an authorize request sent by POST (OpenID Connect Core 3.1.2.1, form
// serialization). It comes from the application's page, another site, so the browser sends no
// SameSite=Lax cookie with it: it only moves to the GET (a 303 with the same parameters), which
// has the browser's cookies and does the rest. Nothing is written here.
func (h *Handler) oidcAuthorizePost(c *fiber.Ctx) error {
	ct, _, _ := strings.Cut(c.Get(fiber.HeaderContentType), ";")
	params, err := url.ParseQuery(string(c.Body()))
	q := params.Encode()
	if !strings.EqualFold(strings.TrimSpace(ct), fiber.MIMEApplicationForm) || err != nil || len(q) > maxPostedQuery {
		return h.authorizeErrorPage(c, oidc.ErrAuthorizeUnreadable)
	}
	return c.Redirect("/oauth2/authorize?"+q, fiber.StatusSeeOther)
}

// oidcBrowser is this browser as services/oidc sees it; it gets an OIDC cookie if it has none.
func (h *Handler) oidcBrowser(c *fiber.Ctx) oidc.Browser {
	b, ok := c.Locals(localOIDCBrowser).([]byte) // set by this request already
	if !ok {
		token := c.Cookies(h.cookieName(oidcBrowserCookie))
		if len(token) < 32 {
			token = auth.NewToken()
			h.setCookie(c, oidcBrowserCookie, token, time.Time{})
		}
		b = h.OIDC.BrowserHash(token)
		c.Locals(localOIDCBrowser, b)
	}
	return h.oidcSession(c, b)
}

// oidcSession is this browser's signed-in user and session, with its OIDC cookie's hash.
func (h *Handler) oidcSession(c *fiber.Ctx, browser []byte) oidc.Browser {
	sess := sessionHash(c)
	b := oidc.Browser{Hash: browser, Session: sess}
	if u := currentUser(c); u != nil {
		b.UserID = u.ID
	}
	return b
}

// oidcActor is who makes this request, for the events services/oidc writes.
func (h *Handler) oidcActor(c *fiber.Ctx) oidc.Actor {
	a := oidc.Actor{IP: h.clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}
	if u := currentUser(c); u != nil {
		a.UserID = u.ID
	}
	return a
}

// oidcFlowError answers the errors of the authorize flow: a request that expired, was
// finished, or belongs to another browser gets a page saying so; a session that ended, the
// sign-in page.
func (h *Handler) oidcFlowError(c *fiber.Ctx, err error) error {
	switch {
	case errors.Is(err, oidc.ErrRequestGone):
		return render(c, fiber.StatusBadRequest, views.ErrorPage(h.pageBase(c, "Sign-in request expired", ""), fiber.StatusBadRequest,
			"This application sign-in request has expired or was already used. Go back to the application and sign in again."))
	case errors.Is(err, oidc.ErrNoSession):
		return redirect(c, "/login")
	}
	return err
}

// oidcLogin is the client's LoginURL: Authorize stored the request and sent the browser here.
// The request is bound to this browser. A complete session answers it at once (unless the RP
// asked for prompt=login or max_age says the session is too old); otherwise the request is held
// in the sign-in, and only a sign-in that passes every step of auth.NextStep reaches
// /oauth2/continue.
func (h *Handler) oidcLogin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Query("id")
	r, next, err := h.OIDC.Begin(ctx, id, h.oidcBrowser(c))
	if err != nil {
		return h.oidcFlowError(c, err)
	}
	switch next {
	case oidc.NextComplete:
		return h.completeAuthRequest(c, r)
	case oidc.NextLoginRequired:
		return c.Redirect(h.oidc.ErrorRedirect(r.RedirectURI, r.State, "login_required",
			"the user must sign in, or step up their sign-in, and prompt=none forbids asking"), fiber.StatusSeeOther)
	case oidc.NextStepUp:
		return h.stepUp(c, oidc.ContinuePath(id))
	case oidc.NextConfirmReauth:
		// A GET must not end the session (any site could sign people out with a link), so the
		// user confirms with a form, which carries the CSRF token.
		return render(c, fiber.StatusOK, views.OIDCReauthPage(h.pageBase(c, "Sign in again", ""), h.OIDC.AppName(ctx, r.ClientID), id))
	}
	return h.holdAuthRequest(c, id, r)
}

// oidcReauth is the confirmation of a fresh sign-in the RP asked for (prompt=login, max_age):
// this browser's session ends and the request waits for the new sign-in.
func (h *Handler) oidcReauth(c *fiber.Ctx) error {
	id := c.FormValue("id")
	r, err := h.OIDC.Reauth(c.UserContext(), id, h.oidcBrowser(c), h.oidcActor(c))
	if err != nil {
		return h.oidcFlowError(c, err)
	}
	if currentUser(c) != nil {
		h.sessionEnded(c)
	}
	return h.holdAuthRequest(c, id, r)
}

// holdAuthRequest makes the authorize request wait for this browser's next sign-in (or the one
// under way) and sends the browser to sign in.
func (h *Handler) holdAuthRequest(c *fiber.Ctx, id string, r store.OIDCAuthRequest) error {
	returnTo := oidc.ContinuePath(id)
	h.setCookie(c, returnCookie, returnTo, r.ExpiresAt)
	// A sign-in already under way in this browser carries the request from now on.
	if err := h.OIDC.HoldForSignIn(c.UserContext(), c.Cookies(h.cookieName(signinCookie)), returnTo); err != nil {
		return err
	}
	return redirect(c, "/login")
}

// sessionEnded forgets the session services/oidc just ended, for the rest of the request.
func (h *Handler) sessionEnded(c *fiber.Ctx) {
	h.clearCookie(c, sessionCookie)
	c.Locals(localUser, nil)
	c.Locals(localSession, nil)
}

// oidcContinue is where a sign-in that held an authorize request goes when finishSignIn made
// its session (requireRole lets only a complete session in). It completes the request for this
// user, session and browser and takes the browser to op's callback.
func (h *Handler) oidcContinue(c *fiber.Ctx) error {
	h.clearCookie(c, returnCookie)
	r, err := h.OIDC.AuthRequest(c.UserContext(), c.Query("id"))
	if err != nil {
		return h.oidcFlowError(c, err)
	}
	return h.completeAuthRequest(c, r)
}

// completeAuthRequest has services/oidc mark the request done by this session's user, bound to
// this session and browser, and answers 303 to the callback, which answers 303 to the
// application. After the sign-in form's POST, Chrome checks each of these redirects against the
// form page's form-action: signInFormAction lists the application's origin there. A session
// weaker than the application requires steps up first.
func (h *Handler) completeAuthRequest(c *fiber.Ctx, r store.OIDCAuthRequest) error {
	ctx := c.UserContext()
	err := h.OIDC.Complete(ctx, r, h.oidcBrowser(c), h.oidcActor(c))
	if errors.Is(err, oidc.ErrStepUpRequired) {
		return h.stepUp(c, oidc.ContinuePath(r.ID))
	}
	var denied *groups.Denied
	if errors.As(err, &denied) { // not in the client's groups: the way back tells the client
		denied.ReturnURL = h.oidc.ErrorRedirect(r.RedirectURI, r.State, "access_denied", oidc.DeniedDescription)
		return h.accessDenied(c, denied)
	}
	if err != nil {
		return h.oidcFlowError(c, err)
	}
	return c.Redirect(h.oidc.CallbackURL(ctx, r.ID), fiber.StatusSeeOther)
}

// oidcCallback answers the request with its code (and iss) at the application's redirect URI,
// for the browser and session that completed it only.
func (h *Handler) oidcCallback(c *fiber.Ctx) error {
	var hash []byte // no cookie, no browser: the callback sets none
	if token := c.Cookies(h.cookieName(oidcBrowserCookie)); token != "" {
		hash = h.OIDC.BrowserHash(token)
	}
	to, err := h.oidc.Callback(c.UserContext(), c.Query("id"), h.oidcSession(c, hash))
	if err != nil {
		return h.oidcFlowError(c, err)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// oidcClientEndpoint is oidcEndpoint for the endpoints where clients authenticate. Failed client
// authentications (a wrong client secret) are guesses: counted per IP address, and throttled.
func (h *Handler) oidcClientEndpoint(c *fiber.Ctx) error {
	ctx := c.UserContext()
	// Who authenticates, for the events: a client, never the session's user.
	a := oidc.ClientAuth{Actor: oidc.Actor{IP: h.clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}, Endpoint: c.Path(),
		Authorization: c.Get(fiber.HeaderAuthorization), FormClientID: c.FormValue("client_id")}
	if err := h.OIDC.ClientAuthLimited(ctx, a); errors.Is(err, oidc.ErrClientThrottled) {
		c.Set(fiber.HeaderRetryAfter, "60")
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": "invalid_client", "error_description": "too many failed client authentications; wait and try again"})
	} else if err != nil {
		return err
	}
	if err := h.oidc.handler(c); err != nil {
		return err
	}
	if c.Response().StatusCode() == fiber.StatusUnauthorized {
		return h.OIDC.ClientAuthFailed(ctx, a)
	}
	return nil
}
