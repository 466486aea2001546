package handlers

import (
	"fmt"
	"strconv"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/views"
)

// showUser opens a user's detail page on its first tab.
func (h *Handler) showUser(c *fiber.Ctx) error {
	return redirect(c, "/users/"+c.Params("id")+"/profile")
}

// showUserProfile is the Profile tab: details, TOTP, passkeys with Revoke.
func (h *Handler) showUserProfile(c *fiber.Ctx) error { return h.showUserTab(c, views.TabProfile) }

// showUserDanger is the Danger tab: reset two-step verification, deactivate/reactivate, force password reset.
func (h *Handler) showUserDanger(c *fiber.Ctx) error { return h.showUserTab(c, views.TabDanger) }

// showUserEvents is the Events tab: what the user did and what was done to their account.
func (h *Handler) showUserEvents(c *fiber.Ctx) error { return h.showUserTab(c, views.TabEvents) }

// showUserTab renders one tab of a user's page: the whole page, or for a tab link that htmx
// followed only the panel (and the tab bar, out of band). "Load more" on the Events tab gets
// only the next rows.
func (h *Handler) showUserTab(c *fiber.Ctx, tab string) error {
	return h.renderUserTab(c, fiber.StatusOK, tab, views.UserLifecycle{})
}

// renderUserTab is showUserTab with a status, and life's form state (a refused form, a new
// invitation link) on the Profile and Danger tabs.
func (h *Handler) renderUserTab(c *fiber.Ctx, status int, tab string, life views.UserLifecycle) error {
	ctx := c.UserContext()
	viewer := *currentUser(c)
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	d := views.UserDetail{
		User:      u,
		Tab:       tab,
		CanManage: account.MayManage(viewer, u),
		Self:      viewer.ID == u.ID,
		Notice:    views.UserNotices.Notice(c.Query("notice")),
		Life:      life,
	}
	switch tab {
	case views.TabProfile, views.TabDanger:
		if tab == views.TabProfile {
			d.Roles = account.RolesFor(viewer, u)
		}
		f, err := h.Account.Factors(ctx, u.ID)
		if err != nil {
			return err
		}
		d.TOTPOn, d.BackupLeft, d.Passkeys = f.TOTPOn, f.BackupLeft, f.Passkeys
		if err := h.fillLifecycle(c, &d); err != nil {
			return err
		}
	case views.TabGroups, views.TabApps:
		if err := h.userAccessTab(ctx, &d); err != nil {
			return err
		}
	case views.TabEvents:
		before := formInt(c.Query("before"))
		p, err := h.Audit.Events(ctx, audit.Filter{UserID: u.ID, Before: before})
		if err != nil {
			return err
		}
		d.Events = eventList(p, func(last int64) string { return fmt.Sprintf("/users/%d/events?before=%d", u.ID, last) })
		if before > 0 {
			// "Load more": the rows take the place of the button.
			return renderPart(c, fiber.StatusOK, h.userPage(c, d), views.EventRows(d.Events))
		}
	}
	return renderPart(c, status, h.userPage(c, d), views.UserTabFragment(h.userBase(c, d), d))
}

func (h *Handler) userBase(c *fiber.Ctx, d views.UserDetail) views.Base {
	return h.pageBase(c, views.DisplayName(d.User)+" · "+views.UserTabLabel(d.Tab), "users")
}

func (h *Handler) userPage(c *fiber.Ctx, d views.UserDetail) templ.Component {
	return views.UserDetailPage(h.userBase(c, d), d)
}

// resetUserMFA clears a user's TOTP secret and backup codes (not their passkeys) and tells the
// user by email (account.ResetMFA). The reset stands when the mail fails: the page then tells
// the admin to let the user know.
func (h *Handler) resetUserMFA(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	mailed, err := h.Account.ResetMFA(c.UserContext(), *currentUser(c), id, h.requestOrigin(c))
	if err != nil {
		return err
	}
	notice := "mfa_reset"
	if !mailed {
		notice = "mfa_reset_unmailed"
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=%s", id, notice))
}

// revokeUserPasskey deletes one of a user's passkeys at once; the others and TOTP stay
// (account.RevokePasskey, which logs passkey_revoked with the admin as actor).
func (h *Handler) revokeUserPasskey(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	cred, err := strconv.ParseInt(c.Params("cred"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	if err := h.Account.RevokePasskey(c.UserContext(), *currentUser(c), id, cred, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/profile?notice=passkey_revoked", id))
}
