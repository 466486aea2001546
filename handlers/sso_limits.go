package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// Every SSO request a browser may send without being signed in (an OIDC authorize, a SAML
// AuthnRequest) stores a row for up to half an hour: each IP address may make only so many.
const (
	attemptOIDCAuthorize = "oidc_authorize"
	attemptSAMLHold      = "saml_hold"
)

var ssoRequestsPerIP = auth.Throttle{Max: 200, Window: 15 * time.Minute}

// ssoRequestAllowed counts one stored SSO request of kind against this IP and reports whether
// it is within ssoRequestsPerIP; the count and the check are one write transaction. A browser
// with a session is not counted: it is answered at once, and a flood from it has a name.
func (h *Handler) ssoRequestAllowed(c *fiber.Ctx, kind string) (bool, error) {
	if currentUser(c) != nil {
		return true, nil
	}
	ctx := c.UserContext()
	ip := ipKey(h.clientIP(c))
	now := h.now()
	allowed := false
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.CountAttempts(ctx, kind, ip, windowStart(now, ssoRequestsPerIP.Window))
		if err != nil || n >= ssoRequestsPerIP.Max {
			return err
		}
		allowed = true
		return tx.RecordAttempt(ctx, kind, []string{ip}, false, now)
	})
	return allowed, err
}

// oidcAuthorize is op's authorize endpoint behind the per-IP limit.
func (h *Handler) oidcAuthorize(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ok, err := h.ssoRequestAllowed(c, attemptOIDCAuthorize)
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
