package handlers

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
)

// signOutEverywhere ends every browser session and sign-in in progress of a user and revokes
// all of their OAuth2 tokens, at once: "Sign out everywhere" on the Danger tab. Same rule as
// resetting two-step verification: admins, and for a super admin only a super admin.
func (h *Handler) signOutEverywhere(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.Account.SignOutEverywhere(c.UserContext(), *currentUser(c), id, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=signed_out_everywhere", id))
}
