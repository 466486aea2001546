package handlers

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/views"
)

// forcePasswordReset is Danger > Force Password Reset: admins, and for a super admin only a
// super admin; not on yourself, and only for a user who has a password
// (account.ForcePasswordReset: the flag, password_reset_forced and the OAuth2 tokens revoked).
func (h *Handler) forcePasswordReset(c *fiber.Ctx) error {
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	err = h.Account.ForcePasswordReset(c.UserContext(), *currentUser(c), u.ID, h.requestOrigin(c))
	if errors.Is(err, account.ErrNoPassword) {
		return render(c, fiber.StatusConflict, views.UserActionRefusedPage(h.pageBase(c, "Force Password Reset", "users"), u.ID,
			views.DisplayName(u)+" has no password yet, so there is nothing to reset."))
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=password_reset_forced", u.ID))
}

// requireResetForWeaker is the Passwords page's "Require a reset for these users": every user
// whose password was set under a weaker rule than the current one is flagged
// (account.RequireResetForWeaker).
func (h *Handler) requireResetForWeaker(c *fiber.Ctx) error {
	n, err := h.Account.RequireResetForWeaker(c.UserContext(), *currentUser(c), h.requestOrigin(c))
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/settings/security/passwords?notice=resets_required&n=%d", n))
}
