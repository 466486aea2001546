package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/helmet"

	"github.com/weftid/weftid/assets"
	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
)

// contentSecurityPolicy allows only our own scripts and styles: no inline script, no eval.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the CSP and the other protective headers on every answer. HSTS follows
// the base URL: helmet would decide by the request's protocol, which X-Forwarded-Proto from
// anyone can claim.
func (h *Handler) securityHeaders() fiber.Handler {
	headers := helmet.New(helmet.Config{
		ContentSecurityPolicy: contentSecurityPolicy,
		XFrameOptions:         "DENY",
		ReferrerPolicy:        "same-origin",
		PermissionPolicy:      "camera=(), microphone=(), geolocation=(), payment=()",
		HSTSMaxAge:            0, // set below
	})
	hsts := h.base.Scheme == "https"
	return func(c *fiber.Ctx) error {
		if hsts {
			c.Set(fiber.HeaderStrictTransportSecurity, "max-age=31536000; includeSubDomains")
		}
		return headers(c)
	}
}

// serveAsset serves an embedded file at its content-hashed URL, cached for a year. Other sites
// may load them (Cross-Origin-Resource-Policy: cross-origin): the refusal pages weftid shows on
// a proxied app's host (forward_auth.go) use its stylesheets, and nothing here is private.
func serveAsset(c *fiber.Ctx) error {
	f, ok := assets.Lookup(c.Path())
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, f.ContentType)
	c.Set(fiber.HeaderCrossOriginResourcePolicy, "cross-origin")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	return c.Send(f.Data)
}

// cookieName gives the __Host- prefix under https, which pins the cookie to this host and path /.
func (h *Handler) cookieName(name string) string {
	if h.secure {
		return "__Host-" + name
	}
	return name
}

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole site; expires zero makes it last
// until the browser closes.
func (h *Handler) setCookie(c *fiber.Ctx, name, value string, expires time.Time) {
	c.Cookie(&fiber.Cookie{
		Name:     h.cookieName(name),
		Value:    value,
		Path:     "/",
		Expires:  expires,
		Secure:   h.secure,
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// clearCookie removes a cookie: empty, and expired long ago.
func (h *Handler) clearCookie(c *fiber.Ctx, name string) { h.setCookie(c, name, "", time.Unix(1, 0)) }

const (
	sessionCookie = "weftid_session"
	signinCookie  = "weftid_signin"
	csrfCookie    = "weftid_csrf"
)

// loadSession finds the signed-in user from the session cookie (signin.Session). An expired
// session, or one whose user was deactivated or flagged for a forced password reset, is ended
// and its cookie cleared; a page that needs a session then says why.
func (h *Handler) loadSession(c *fiber.Ctx) error {
	token := c.Cookies(h.cookieName(sessionCookie))
	if token == "" {
		return c.Next()
	}
	u, idHash, err := h.SignIn.Session(c.UserContext(), token)
	switch {
	case errors.Is(err, signin.ErrResetRequired):
		c.Locals(localResetEnded, true)
		fallthrough
	case errors.Is(err, signin.ErrNoSession), errors.Is(err, signin.ErrSessionEnded):
		h.clearCookie(c, sessionCookie)
		return c.Next()
	case err != nil:
		return err
	}
	c.Locals(localUser, &u)
	c.Locals(localSession, idHash)
	return c.Next()
}

// csrf gives every browser a random CSRF cookie and derives the form token from it with a key
// only the server has (so the token cannot be forged or set by another site), then refuses any
// unsafe request whose _csrf field or X-CSRF-Token header does not match. A request whose Origin
// names another site is refused too. Stateless: a restart or a long-open form does not break it.
func (h *Handler) csrf(c *fiber.Ctx) error {
	cookie := c.Cookies(h.cookieName(csrfCookie))
	if len(cookie) < 32 {
		cookie = auth.NewToken()
		h.setCookie(c, csrfCookie, cookie, time.Time{})
	}
	c.Locals(localCSRF, h.keys.CSRFToken(cookie))
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && origin != auth.Origin(h.base) {
		return fiber.NewError(fiber.StatusForbidden, "cross-origin request")
	}
	token := c.Get("X-CSRF-Token")
	if token == "" {
		token = c.FormValue("_csrf")
	}
	if !h.keys.CheckCSRF(cookie, token) {
		return fiber.NewError(fiber.StatusForbidden, "missing or wrong CSRF token")
	}
	return c.Next()
}

// requireRole lets through a signed-in user of at least role; a signed-in user below it gets
// 403. Anyone else goes to /login, except a browser whose sign-in waits at the enrollment step
// (under Enhanced nothing opens until it enrolls) or at a forced reset's new password: it goes
// back there.
func (h *Handler) requireRole(role store.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u := currentUser(c)
		if u == nil {
			if step := h.pendingStep(c); step != "" {
				return redirect(c, step)
			}
			if c.Locals(localResetEnded) != nil {
				return redirect(c, "/login?notice=reset_required")
			}
			return redirect(c, "/login")
		}
		if u.Role.Rank() < role.Rank() {
			return errForbidden
		}
		return c.Next()
	}
}
