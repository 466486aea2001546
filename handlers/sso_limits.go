package handlers

import (
	"github.com/gofiber/fiber/v2"
)

// oidcAuthorize is op's authorize endpoint behind the per-IP limit of requests without a
// session (oidc.AuthorizeAllowed).
func (h *Handler) oidcAuthorize(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	if err := h.oidcSvc.AuthorizeAllowed(c.UserContext(), h.oidcActor(c)); err != nil {
		return err
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
