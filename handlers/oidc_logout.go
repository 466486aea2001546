package handlers

// OpenID Connect beside the authorize flow: userinfo, RP-initiated logout, the step-up of a
// session for an application that requires more, and the form-action of a sign-in's pages.

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// oidcUserinfo is the UserInfo endpoint, with RFC 6750's errors.
func (h *Handler) oidcUserinfo(c *fiber.Ctx) error {
	req := oidc.UserinfoRequest{Authorization: c.Get(fiber.HeaderAuthorization), QueryToken: c.Query("access_token")}
	if c.Method() == fiber.MethodPost && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		req.FormToken = c.FormValue("access_token")
	}
	a, err := h.oidc.Userinfo(c.UserContext(), req)
	if err != nil {
		return err
	}
	if a.WWWAuthenticate != "" {
		c.Set(fiber.HeaderWWWAuthenticate, a.WWWAuthenticate)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(a.Status).JSON(a.Body)
}

// oidcEndSession is RP-initiated logout (GET, or POST from the application's page). A POST from
// another site comes without the session cookie (SameSite=Lax), so it moves to a GET, which
// carries it; the logout happens there.
func (h *Handler) oidcEndSession(c *fiber.Ctx) error {
	if c.Method() == fiber.MethodPost {
		v := url.Values{}
		for _, k := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"} {
			if f := c.FormValue(k); f != "" {
				v.Set(k, f)
			}
		}
		if len(v.Encode()) > maxPostedQuery { // it goes on as a query string
			return render(c, fiber.StatusBadRequest, views.ErrorPage(h.pageBase(c, "Sign out", ""), fiber.StatusBadRequest,
				"The application's sign-out request is too long to read. Go back to the application and sign out again, or sign out here."))
		}
		return c.Redirect("/oauth2/end_session?"+v.Encode(), fiber.StatusSeeOther)
	}
	req := oidc.LogoutRequest{IDTokenHint: c.Query("id_token_hint"), ClientID: c.Query("client_id"),
		PostLogoutRedirectURI: c.Query("post_logout_redirect_uri"), State: c.Query("state")}
	out, err := h.oidc.EndSession(c.UserContext(), req, h.oidcSession(c, nil), h.oidcActor(c))
	if err != nil {
		return err
	}
	if out.Ended {
		u, idHash := currentUser(c), sessionHash(c)
		h.signedOut(c)
		if out.Redirect != "" {
			return h.samlLogoutThen(c, u, idHash, out.Redirect)
		}
	}
	if out.Redirect != "" {
		return c.Redirect(out.Redirect, fiber.StatusSeeOther)
	}
	if out.Page.FormAction != "" {
		allowFormAction(c, out.Page.FormAction)
	}
	p := out.Page
	return render(c, fiber.StatusOK, views.OIDCLogoutPage(h.pageBase(c, "Sign out", ""), views.OIDCLogout{
		AppName: p.AppName, SignedIn: p.SignedIn, Problem: messageFor(p.Problem),
		ClientID: p.Confirm.ClientID, PostLogoutRedirectURI: p.Confirm.PostLogoutRedirectURI, State: p.Confirm.State,
	}))
}

// oidcConfirmLogout is the sign-out the user confirmed on the logout page (a form with the CSRF
// token): the session ends, with the application's tokens, and the browser returns to the
// application if it may.
func (h *Handler) oidcConfirmLogout(c *fiber.Ctx) error {
	req := oidc.LogoutRequest{ClientID: c.FormValue("client_id"), PostLogoutRedirectURI: c.FormValue("post_logout_redirect_uri"),
		State: c.FormValue("state")}
	u, idHash := currentUser(c), sessionHash(c)
	to, err := h.oidc.ConfirmLogout(c.UserContext(), req, h.oidcSession(c, nil), h.oidcActor(c))
	if err != nil {
		return err
	}
	h.signedOut(c)
	return h.samlLogoutThen(c, u, idHash, to)
}

// samlLogoutThen ends an RP-initiated logout that ended u's weftid session idHash in this
// browser: the SAML applications that took part in the session are told first, one after another, as when the
// user signs out in weftid, and the last step leads to to (the app's post-logout redirect URI,
// or weftid's signed-out page).
func (h *Handler) samlLogoutThen(c *fiber.Ctx, u *store.User, idHash []byte, to string) error {
	if to == oidc.LoggedOutLanding {
		to = "" // weftid's own page, which the chain's end chooses (it says when it was partial)
	}
	step, err := h.SAML.BeginLogout(c.UserContext(), u, idHash, h.requestOrigin(c), to)
	if err != nil {
		return err
	}
	return h.samlLogoutStep(c, step)
}

// signedOut forgets this browser's session, sign-in in progress and waiting SSO request.
func (h *Handler) signedOut(c *fiber.Ctx) {
	h.sessionEnded(c)
	h.clearCookie(c, signinCookie)
	h.clearCookie(c, returnCookie)
}

// stepUp sends this signed-in browser through a step-up (signin.StepUp) for the application
// whose request continues at returnTo, which the sign-in reaches when it is done. A session that
// ended meanwhile signs in anew, and the request waits for that sign-in.
func (h *Handler) stepUp(c *fiber.Ctx, returnTo string) error {
	r, err := h.SignIn.StepUp(c.UserContext(), h.client(c), returnTo)
	if errors.Is(err, signin.ErrNoSession) {
		h.sessionEnded(c)
		return h.continueAfterSignIn(c, returnTo)
	}
	return h.respond(c, r, err)
}

// signInFormAction runs around the sign-in pages. When the browser's sign-in waits for an
// OpenID Connect application, or for a proxied app (services/proxy.FormActionOrigin), its pages
// allow that application's origin in their CSP form-action: the answer to their last form is a
// chain of redirects that ends there, and Chrome checks each redirect against the form page's
// form-action. Other sign-ins keep 'self' alone.
func (h *Handler) signInFormAction(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		return err
	}
	if !strings.HasPrefix(string(c.Response().Header.ContentType()), fiber.MIMETextHTML) {
		return nil
	}
	ctx, signIn := c.UserContext(), c.Cookies(h.cookieName(signinCookie))
	var origin string
	if h.oidc != nil {
		var err error
		if origin, err = h.OIDC.SignInFormAction(ctx, signIn); err != nil {
			return err
		}
	}
	if origin == "" {
		origin = h.Proxy.FormActionOrigin(ctx, signIn, c.Cookies(h.cookieName(returnCookie)))
	}
	if origin != "" {
		allowFormAction(c, origin)
	}
	return nil
}

// allowFormAction lets this response's forms submit to origin (a checked CSP source) too.
func allowFormAction(c *fiber.Ctx, origin string) {
	c.Set(fiber.HeaderContentSecurityPolicy, strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+origin, 1))
}
