package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
)

// signOutEverywhere ends every browser session and sign-in in progress of a user and revokes
// all of their OAuth2 tokens, at once: "Sign out everywhere" on the Danger tab. Same rule as
// resetting two-step verification: admins, and for a super admin only a super admin.
func (h *Handler) signOutEverywhere(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor, u, err := h.managedUser(c)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := stillManaged(ctx, tx, actor, u.ID); err != nil {
			return err
		}
		sessions, err := endUserSessions(ctx, tx, u.ID, nil)
		if err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, h.event(c, store.EventUserSignedOutEverywhere, ptr(actor.ID), ptr(u.ID),
			map[string]any{"sessions": sessions})); err != nil {
			return err
		}
		return oidc.RevokeUserTokens(ctx, tx, h.event(c, "", ptr(actor.ID), ptr(u.ID), map[string]any{"reason": "sign_out_everywhere"}))
	})
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", u.ID))
}
