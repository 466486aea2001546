package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// userNotices are the fixed messages the user detail page may show; ?notice= names one and is
// never shown itself.
var userNotices = map[string]string{
	"mfa_reset":             "Two-step verification was reset. The user was told by email.",
	"mfa_reset_unmailed":    "Two-step verification was reset, but the email to the user could not be sent. Tell them yourself.",
	"deactivated":           "The user was deactivated. They cannot sign in, and their sessions have ended.",
	"reactivated":           "The user was reactivated. They can sign in again.",
	"role_changed":          "The role was changed.",
	"passkey_revoked":       "The passkey was revoked.",
	"signed_out_everywhere": "The user was signed out everywhere: their sessions ended and their application tokens were revoked.",
	"password_reset_forced": "A password reset is required. The user's sessions end at their next request, their " +
		"OAuth2 tokens were revoked, and they must choose a new password at their next sign-in.",
}

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
	ctx := c.UserContext()
	viewer := *currentUser(c)
	u, err := h.targetUser(c)
	if err != nil {
		return err
	}
	d := views.UserDetail{
		User:      u,
		Tab:       tab,
		CanManage: mayManage(viewer, u),
		Self:      viewer.ID == u.ID,
		Notice:    userNotices[c.Query("notice")],
	}
	switch tab {
	case views.TabProfile:
		d.Roles = rolesFor(viewer, u)
		t, err := h.store.TOTPByUser(ctx, u.ID)
		switch {
		case err == nil:
			d.TOTPOn = t.Confirmed()
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if d.BackupLeft, err = h.store.CountBackupCodes(ctx, u.ID); err != nil {
			return err
		}
		if d.Passkeys, err = h.store.PasskeysByUser(ctx, u.ID); err != nil {
			return err
		}
	case views.TabEvents:
		before := formInt(c.Query("before"))
		f := store.EventFilter{InvolvingUser: u.ID, BeforeID: max(before, 0)}
		next := func(last int64) string { return fmt.Sprintf("/users/%d/events?before=%d", u.ID, last) }
		if d.Events, err = h.eventPage(ctx, f, next); err != nil {
			return err
		}
		if before > 0 {
			// "Load more": the rows take the place of the button.
			return renderPart(c, fiber.StatusOK, h.userPage(c, d), views.EventRows(d.Events))
		}
	}
	return renderPart(c, fiber.StatusOK, h.userPage(c, d), views.UserTabFragment(h.userBase(c, d), d))
}

func (h *Handler) userBase(c *fiber.Ctx, d views.UserDetail) views.Base {
	return h.pageBase(c, views.DisplayName(d.User)+" · "+views.UserTabLabel(d.Tab), "users")
}

func (h *Handler) userPage(c *fiber.Ctx, d views.UserDetail) templ.Component {
	return views.UserDetailPage(h.userBase(c, d), d)
}

// managedUser is the user the path names, when the signed-in admin may change their factors:
// 404 when there is no such user, 403 for an admin acting on a super admin.
func (h *Handler) managedUser(c *fiber.Ctx) (actor, target store.User, err error) {
	actor = *currentUser(c)
	if target, err = h.targetUser(c); err != nil {
		return actor, target, err
	}
	if !mayManage(actor, target) {
		return actor, target, errForbidden
	}
	if actor.ID == target.ID {
		// Your own factors change under Account > Security, which asks for your password or a
		// code first: a stolen admin session must not clear them without it.
		return actor, target, errForbidden
	}
	return actor, target, nil
}

// stillManaged checks mayManage again inside the transaction of the change, against the
// user as they are now (another admin may have made them a super admin meanwhile), and returns
// them so.
func stillManaged(ctx context.Context, tx *store.Tx, actor store.User, userID int64) (store.User, error) {
	cur, err := tx.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, fiber.ErrNotFound
	}
	if err != nil {
		return cur, err
	}
	if !mayManage(actor, cur) {
		return cur, errForbidden
	}
	return cur, nil
}

// endUserSessions signs a user out everywhere: their sessions but keep (nil keeps none), and
// every sign-in in progress (one begun with an old password or factor must not finish). It
// returns how many sessions ended.
func endUserSessions(ctx context.Context, tx *store.Tx, userID int64, keep []byte) (int64, error) {
	ended, err := tx.DeleteUserSessions(ctx, userID, keep)
	if err != nil {
		return 0, err
	}
	return ended, tx.DeleteUserSignIns(ctx, userID)
}

// resetUserMFA clears a user's TOTP secret and backup codes (not their passkeys), logs
// mfa_reset_by_admin and tells the user by email. The reset stands when the mail fails: the page
// then tells the admin to let the user know.
func (h *Handler) resetUserMFA(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor, u, err := h.managedUser(c)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := stillManaged(ctx, tx, actor, u.ID); err != nil {
			return err
		}
		backup, err := tx.CountBackupCodes(ctx, u.ID)
		if err != nil {
			return err
		}
		hadTOTP, err := tx.DeleteTOTP(ctx, u.ID)
		if err != nil {
			return err
		}
		if _, err := endUserSessions(ctx, tx, u.ID, nil); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventMFAResetByAdmin, ptr(actor.ID), ptr(u.ID),
			map[string]any{"totp": hadTOTP, "backup_codes": backup}))
	})
	if err != nil {
		return err
	}
	notice := "mfa_reset"
	mctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := h.mailer.Send(mctx, mfaResetMail(u, actor)); err != nil {
		h.log.Warn("mfa reset email not sent", "user_id", u.ID, "err", err)
		notice = "mfa_reset_unmailed"
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=%s", u.ID, notice))
}

// mfaResetMail tells a user that an admin reset their two-step verification.
func mfaResetMail(u, admin store.User) mail.Message {
	intro := fmt.Sprintf("Hello %s,\n\n"+
		"Your two-step verification for weftid (%s) was reset by an administrator, %s (%s). "+
		"Your authenticator app and your backup codes no longer work; passkeys you registered still do.\n\n"+
		"At your next sign-in you may be asked to set up TOTP or a passkey again.\n\n"+
		"If you did not ask for this, contact them.",
		views.DisplayName(u), u.Email, views.DisplayName(admin), admin.Email)
	return mail.Generic(u.Email, "Your two-step verification was reset", intro, "", "")
}

// revokeUserPasskey deletes one of a user's passkeys at once; the others and TOTP stay. Logs
// passkey_revoked with the admin as actor.
func (h *Handler) revokeUserPasskey(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor, u, err := h.managedUser(c)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("cred"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := stillManaged(ctx, tx, actor, u.ID); err != nil {
			return err
		}
		p, err := tx.DeletePasskey(ctx, u.ID, id)
		if err != nil {
			return err
		}
		// A revoked passkey is a lost laptop or phone: whoever holds it may be signed in.
		if _, err := endUserSessions(ctx, tx, u.ID, nil); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasskeyRevoked, ptr(actor.ID), ptr(u.ID),
			map[string]any{"passkey_id": p.ID, "name": p.Name, "by": "admin"}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound // not this user's passkey
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/profile?notice=passkey_revoked", u.ID))
}
