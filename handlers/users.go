package handlers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showUsers lists the users that match the search (name or email, role, status), with their
// factors. An htmx request from the search field gets only the table.
func (h *Handler) showUsers(c *fiber.Ctx) error {
	r, err := h.Account.SearchUsers(c.UserContext(), store.UserFilter{Q: c.Query("q"), Role: store.Role(c.Query("role")), Status: store.Status(c.Query("status"))})
	if err != nil {
		return err
	}
	l := views.UserList{Q: r.Filter.Q, Role: r.Filter.Role, Status: r.Filter.Status, Users: r.Users, Capped: r.Capped,
		Notice: views.UsersNotices.Notice(c.Query("notice")), Error: views.UsersErrors.Notice(c.Query("notice"))}
	return renderPart(c, fiber.StatusOK, views.UsersPage(h.pageBase(c, "Users", "users"), l), views.UserTable(l))
}

// showNewUser is the "Add a user" form (admins).
func (h *Handler) showNewUser(c *fiber.Ctx) error {
	f := views.NewUserForm{Role: store.RoleUser, Roles: account.GrantableRoles(*currentUser(c))}
	return render(c, fiber.StatusOK, views.NewUserPage(h.pageBase(c, "Add a user", "users"), f))
}

// createUser adds a user with no password and mails them an invitation to set one (admins). If
// the mail fails the user stays and the list says the mail was not sent.
func (h *Handler) createUser(c *fiber.Ctx) error {
	actor := *currentUser(c)
	f := views.NewUserForm{
		Name:  strings.TrimSpace(c.FormValue("name")),
		Email: store.NormalizeEmail(c.FormValue("email")),
		Role:  store.Role(c.FormValue("role")),
		Roles: account.GrantableRoles(actor),
	}
	created, err := h.Account.CreateUser(c.UserContext(), account.NewUser{Email: f.Email, Name: f.Name, Role: f.Role, By: &actor}, h.requestOrigin(c))
	problems, refused := refusedForm(err)
	switch {
	case refused:
		f.Errors = problems
		return render(c, fiber.StatusUnprocessableEntity, views.NewUserPage(h.pageBase(c, "Add a user", "users"), f))
	case err != nil:
		return fmt.Errorf("create user: %w", err)
	case created.InviteNotSent:
		return redirect(c, "/users?notice=invite_failed")
	}
	return redirect(c, "/users?notice=invited")
}

// inviteLinkInvalid is the one answer for a link that is wrong, used, expired or whose user was
// deactivated.
func (h *Handler) inviteLinkInvalid(c *fiber.Ctx) error {
	return render(c, fiber.StatusNotFound, views.ErrorPage(h.pageBase(c, "Invitation link not valid", ""), fiber.StatusNotFound,
		"This invitation link does not work: it was used already, it expired, or it is mistyped. Ask an admin for a new invitation."))
}

// renderInvite renders the invitation page, its meter showing the empty verdict for this user.
func (h *Handler) renderInvite(c *fiber.Ctx, status int, token string, u store.User, problems []string) error {
	minLen, check, err := h.Account.EmptyForm(c.UserContext(), account.Subject(u))
	if err != nil {
		return err
	}
	f := views.InviteForm{Token: token, Name: u.Name, Email: u.Email, Errors: problems, MinLen: minLen, Check: check}
	return render(c, status, views.InvitePage(h.pageBase(c, "Set your password", ""), f))
}

// showInvite is the invitation link's page: set your password.
func (h *Handler) showInvite(c *fiber.Ctx) error {
	token := c.Params("token")
	u, err := h.Account.InvitedUser(c.UserContext(), token)
	if errors.Is(err, account.ErrInvalidLink) {
		return h.inviteLinkInvalid(c)
	}
	if err != nil {
		return err
	}
	return h.renderInvite(c, fiber.StatusOK, token, u, nil)
}

// acceptInvite sets the invited user's password under the one password rule for them
// (account.AcceptInvitation). Posting links that do not work is throttled per IP.
func (h *Handler) acceptInvite(c *fiber.Ctx) error {
	token := c.Params("token")
	u, err := h.Account.AcceptInvitation(c.UserContext(), token, c.FormValue("new_password"), c.FormValue("confirm_password"), h.requestOrigin(c))
	problems, refused := refusedForm(err)
	switch {
	case errors.Is(err, account.ErrInvalidLink):
		return h.inviteLinkInvalid(c)
	case refused:
		return h.renderInvite(c, fiber.StatusUnprocessableEntity, token, u, problems)
	case err != nil:
		return fmt.Errorf("accept invitation: %w", err)
	}
	return render(c, fiber.StatusOK, views.InviteDonePage(h.pageBase(c, "Your password is set", ""), u.Email))
}

// userID is the :id of the path; 404 when it is not a number.
func userID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, fiber.ErrNotFound
	}
	return id, nil
}

// targetUser is the user named by the :id of the path; 404 when there is none.
func (h *Handler) targetUser(c *fiber.Ctx) (store.User, error) {
	id, err := userID(c)
	if err != nil {
		return store.User{}, err
	}
	return h.Account.User(c.UserContext(), id)
}

// changeUserRole changes a user's role (admins; super admin only for super admins). Nobody
// changes their own role (409) or takes the role from the last active super admin. Logs
// user_role_changed with old and new.
func (h *Handler) changeUserRole(c *fiber.Ctx) error {
	actor := *currentUser(c)
	target, err := h.targetUser(c)
	if err != nil {
		return err
	}
	role := store.Role(c.FormValue("role"))
	if !role.Valid() {
		return fiber.NewError(fiber.StatusBadRequest, "unknown role")
	}
	if err := h.Account.ChangeRole(c.UserContext(), actor, target.ID, role, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/profile?notice=role_changed", target.ID))
}

// deactivateUser stops a user from signing in and ends their sessions and sign-ins in
// progress, in the transaction of the change. Admins cannot deactivate super admins; nobody can
// deactivate themselves or the last active super admin.
func (h *Handler) deactivateUser(c *fiber.Ctx) error {
	return h.setStatus(c, store.StatusInactive, "deactivated")
}

// reactivateUser lets a deactivated user sign in again (admins; super admins only by super
// admins; not yourself, 409).
func (h *Handler) reactivateUser(c *fiber.Ctx) error {
	return h.setStatus(c, store.StatusActive, "reactivated")
}

func (h *Handler) setStatus(c *fiber.Ctx, status store.Status, notice string) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	if err := h.Account.SetStatus(c.UserContext(), *currentUser(c), id, status, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=%s", id, notice))
}
