package handlers

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// fillLifecycle adds to a Profile or Danger tab what it shows of the user's life: whether the
// viewer may edit or delete them, and their invitation.
func (h *Handler) fillLifecycle(c *fiber.Ctx, d *views.UserDetail) error {
	viewer := currentUser(c)
	d.Life.CanEdit = d.CanManage && !d.Self
	d.Life.CanDelete = viewer.Role == store.RoleSuperAdmin && !d.Self
	inv, err := h.Account.InvitationOf(c.UserContext(), d.User)
	if err != nil {
		return err
	}
	d.Life.InvitePending, d.Life.InviteLive = inv.Pending, inv.Live
	d.Life.InviteSent, d.Life.InviteExpires = inv.Sent, inv.Expires
	return nil
}

// updateUserProfile is the Profile tab's name and email form (account.UpdateProfile): a refused
// form comes back with what is wrong (422), an address another user has with 409.
func (h *Handler) updateUserProfile(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	name, email := c.FormValue("name"), c.FormValue("email")
	ch, err := h.Account.UpdateProfile(c.UserContext(), *currentUser(c), id, name, email, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		status := fiber.StatusUnprocessableEntity
		if errors.Is(err, account.ErrEmailTaken) {
			status = fiber.StatusConflict
		}
		form := &views.ProfileForm{Name: name, Email: email, Errors: problems}
		return h.renderUserTab(c, status, views.TabProfile, views.UserLifecycle{Form: form})
	}
	if err != nil {
		return err
	}
	notice := "profile_saved"
	switch {
	case ch.InvitationVoided:
		notice = "email_changed_invited"
	case ch.EmailChanged:
		notice = "email_changed"
	}
	return redirect(c, fmt.Sprintf("/users/%d/profile?notice=%s", id, notice))
}

// resendInvitation makes a new invitation link and mails it (account.ResendInvitation); the
// Profile tab then shows the link once, to copy.
func (h *Handler) resendInvitation(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	r, err := h.Account.ResendInvitation(c.UserContext(), *currentUser(c), id, h.requestOrigin(c))
	if err != nil {
		return err
	}
	return h.renderUserTab(c, fiber.StatusOK, views.TabProfile, views.UserLifecycle{NewLink: r.Link, NewLinkMailed: r.Mailed})
}

// deleteUser deletes a user for good (super admins, account.DeleteUser): a typed address that is
// not theirs brings the Danger tab back with the confirmation open (422).
func (h *Handler) deleteUser(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	typed := c.FormValue("confirm_email")
	_, err = h.Account.DeleteUser(c.UserContext(), *currentUser(c), id, typed, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		life := views.UserLifecycle{DeleteError: problems[0], DeleteTyped: typed}
		return h.renderUserTab(c, fiber.StatusUnprocessableEntity, views.TabDanger, life)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/users?notice=deleted")
}
