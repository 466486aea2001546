package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/views"
)

// showAccountProfile is Account > Profile: the signed-in user's name, address and role.
func (h *Handler) showAccountProfile(c *fiber.Ctx) error {
	u := *currentUser(c)
	f := views.AccountProfileForm{User: u, Name: u.Name, Notice: views.AccountProfileNotices.Notice(c.Query("notice"))}
	return render(c, fiber.StatusOK, views.AccountProfilePage(h.pageBase(c, "Profile", "account"), f))
}

// saveAccountProfile renames the signed-in user (account.UpdateOwnName); a refused name comes
// back with what is wrong (422).
func (h *Handler) saveAccountProfile(c *fiber.Ctx) error {
	u := *currentUser(c)
	name := c.FormValue("name")
	_, err := h.Account.UpdateOwnName(c.UserContext(), u, name, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		f := views.AccountProfileForm{User: u, Name: name, Errors: problems}
		return render(c, fiber.StatusUnprocessableEntity, views.AccountProfilePage(h.pageBase(c, "Profile", "account"), f))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/profile?notice=saved")
}
