package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/throttle"
)

// ssoRequestAllowed counts one stored SSO request (throttle.OIDCAuthorizePerIP or
// SAMLHoldPerIP) against this IP and reports whether it is within the limit: each stores a row
// for up to half an hour. A browser with a session is not counted: it is answered at once, and
// a flood from it has a name.
func (h *Handler) ssoRequestAllowed(c *fiber.Ctx, rule throttle.Rule) (bool, error) {
	if currentUser(c) != nil {
		return true, nil
	}
	return h.limiter.Take(c.UserContext(), rule.For(throttle.IPKey(h.clientIP(c))))
}

// oidcAuthorize is op's authorize endpoint behind the per-IP limit.
func (h *Handler) oidcAuthorize(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ok, err := h.ssoRequestAllowed(c, throttle.OIDCAuthorizePerIP)
	if err != nil {
		return err
	}
	if !ok {
		c.Set(fiber.HeaderRetryAfter, "60")
		return fiber.NewError(fiber.StatusTooManyRequests, "Too many sign-in requests from this address. Wait a few minutes and try again.")
	}
	return h.oidc.handler(c)
}

// oidcEndSession is op's RP-initiated logout. When op accepted an id_token_hint naming the
// user signed in in this browser, their weftid session ends too.
func (h *Handler) oidcEndSession(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	var ended int64
	c.Context().SetUserValue(endSessionHook{}, func(uid int64) { ended = uid })
	if err := h.oidc.handler(c); err != nil {
		return err
	}
	if u := currentUser(c); u != nil && ended == u.ID {
		return h.endSessionFor(c, u, "rp_logout")
	}
	return nil
}
