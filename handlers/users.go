package handlers

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// Invitations: how long the link works, and how many wrong links one IP may post.
const inviteTTL = 7 * 24 * time.Hour

// usersPageSize is the most users the list shows; it says so when more match.
const usersPageSize = 200

// usersNotices and usersErrors are the fixed messages /users may show; the query names one.
var (
	usersNotices = map[string]string{
		"invited": "The user was added. An email with a link to set their password is on its way.",
	}
	usersErrors = map[string]string{
		"invite_failed": "The user was added, but the invitation email could not be sent. The server log says why.",
	}
)

// showUsers lists the users that match the search (name or email, role, status), with their
// factors. An htmx request from the search field gets only the table.
func (h *Handler) showUsers(c *fiber.Ctx) error {
	l := views.UserList{
		Q:      strings.TrimSpace(c.Query("q")),
		Role:   store.Role(c.Query("role")),
		Status: store.Status(c.Query("status")),
		Notice: usersNotices[c.Query("notice")],
		Error:  usersErrors[c.Query("notice")],
	}
	if utf8.RuneCountInString(l.Q) > 200 {
		l.Q = string([]rune(l.Q)[:200])
	}
	if !l.Role.Valid() {
		l.Role = ""
	}
	if l.Status != store.StatusActive && l.Status != store.StatusInactive {
		l.Status = ""
	}
	users, err := h.store.SearchUsers(c.UserContext(), store.UserFilter{Q: l.Q, Role: l.Role, Status: l.Status, Limit: usersPageSize + 1})
	if err != nil {
		return err
	}
	if len(users) > usersPageSize {
		users, l.Capped = users[:usersPageSize], true
	}
	l.Users = users
	return renderPart(c, fiber.StatusOK, views.UsersPage(h.pageBase(c, "Users", "users"), l), views.UserTable(l))
}

// grantableRoles are the roles actor may give: only a super admin makes super admins.
func grantableRoles(actor store.User) []store.Role {
	if actor.Role == store.RoleSuperAdmin {
		return views.AllRoles
	}
	return []store.Role{store.RoleAdmin, store.RoleUser}
}

// mayManage reports whether actor may change target's role or status: admins manage users and
// admins, only super admins manage super admins.
func mayManage(actor, target store.User) bool {
	return target.Role != store.RoleSuperAdmin || actor.Role == store.RoleSuperAdmin
}

// rolesFor are the roles actor may set on target, for views.UserRoleForm on the user's page:
// none when actor may not change target at all.
func rolesFor(actor, target store.User) []store.Role {
	if !mayManage(actor, target) {
		return nil
	}
	return grantableRoles(actor)
}

// showNewUser is the "Add a user" form (admins).
func (h *Handler) showNewUser(c *fiber.Ctx) error {
	f := views.NewUserForm{Role: store.RoleUser, Roles: grantableRoles(*currentUser(c))}
	return render(c, fiber.StatusOK, views.NewUserPage(h.pageBase(c, "Add a user", "users"), f))
}

// newUserProblems checks the fields of a new user, in words.
func newUserProblems(name, email string, role store.Role) []string {
	var problems []string
	if name == "" || utf8.RuneCountInString(name) > 200 {
		problems = append(problems, "Enter a name of at most 200 characters.")
	}
	addr, err := netmail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		problems = append(problems, "Enter a valid email address.")
	}
	if !role.Valid() {
		problems = append(problems, "Choose a role.")
	}
	return problems
}

const msgEmailTaken = "A user with this email address already exists."

// createUser adds a user with no password and mails them an invitation to set one (admins). The
// user, the invitation and the user_created event are written together; the mail goes after,
// and if it fails the user stays and the list says the mail was not sent.
func (h *Handler) createUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := *currentUser(c)
	role := store.Role(c.FormValue("role"))
	if role.Valid() && !slices.Contains(grantableRoles(actor), role) {
		return errForbidden
	}
	f := views.NewUserForm{
		Name:  strings.TrimSpace(c.FormValue("name")),
		Email: store.NormalizeEmail(c.FormValue("email")),
		Role:  role,
		Roles: grantableRoles(actor),
	}
	refuse := func(problems ...string) error {
		f.Errors = problems
		return render(c, fiber.StatusUnprocessableEntity, views.NewUserPage(h.pageBase(c, "Add a user", "users"), f))
	}
	if problems := newUserProblems(f.Name, f.Email, role); len(problems) > 0 {
		return refuse(problems...)
	}
	switch _, err := h.store.UserByEmail(ctx, f.Email); {
	case err == nil:
		return refuse(msgEmailTaken)
	case !errors.Is(err, store.ErrNotFound):
		return err
	}

	token := auth.NewToken()
	now := h.now()
	var u store.User
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.CreateUser(ctx, store.User{Email: f.Email, Name: f.Name, Role: role, Status: store.StatusActive}, now)
		if err != nil {
			return err
		}
		err = tx.CreateInvitation(ctx, store.Invitation{
			TokenHash: h.keys.HashToken("invite", token), UserID: u.ID, CreatedBy: actor.ID,
			ExpiresAt: now.Add(inviteTTL), CreatedAt: now,
		})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserCreated, ptr(actor.ID), ptr(u.ID), map[string]any{"role": string(role), "via": "invite"}))
	})
	if errors.Is(err, store.ErrConflict) {
		return refuse(msgEmailTaken) // taken between the check and the insert
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if err := h.mailer.Send(ctx, h.invitationMail(u, actor, token)); err != nil {
		h.log.Error("invitation email not sent", "user_id", u.ID, "err", err)
		return redirect(c, "/users?notice=invite_failed")
	}
	h.log.Info("user invited", "user_id", u.ID, "by", actor.ID)
	return redirect(c, "/users?notice=invited")
}

// invitationMail is the message that carries the link to set a first password.
func (h *Handler) invitationMail(u, inviter store.User, token string) mail.Message {
	link := strings.TrimRight(h.base.String(), "/") + "/invite/" + token
	intro := fmt.Sprintf("Hello %s,\n\n%s invited you to weftid at %s. Set your password to start: "+
		"the link works once, for 7 days.\n\nIf you did not expect this invitation, you can ignore this message.",
		u.Name, inviter.Name, h.base.Host)
	return mail.Generic(u.Email, "You are invited to weftid", intro, "Set your password", link)
}

// invitedUser is the active user whose unexpired invitation the token is; ErrNotFound otherwise.
func (h *Handler) invitedUser(ctx context.Context, token string) (store.User, error) {
	return h.linkUser(ctx, "invite", token, h.store.InvitationUser)
}

// linkUser is the active user of a stored, unexpired link (an invitation or a reset link) whose
// token, hashed for purpose, lookup finds; ErrNotFound for anything else, a mistyped token
// included (nothing is looked up for one that cannot be ours).
func (h *Handler) linkUser(ctx context.Context, purpose, token string, lookup func(context.Context, []byte, time.Time) (store.User, error)) (store.User, error) {
	if token == "" || len(token) > 128 {
		return store.User{}, store.ErrNotFound
	}
	u, err := lookup(ctx, h.keys.HashToken(purpose, token), h.now())
	if err != nil {
		return store.User{}, err
	}
	if !u.Active() {
		return store.User{}, store.ErrNotFound
	}
	return u, nil
}

// inviteLinkInvalid is the one answer for a link that is wrong, used, expired or whose user was
// deactivated.
func (h *Handler) inviteLinkInvalid(c *fiber.Ctx) error {
	return render(c, fiber.StatusNotFound, views.ErrorPage(h.pageBase(c, "Invitation link not valid", ""), fiber.StatusNotFound,
		"This invitation link does not work: it was used already, it expired, or it is mistyped. Ask an admin for a new invitation."))
}

// inviteForm fills the invitation page, its meter showing the empty verdict for this user.
func (h *Handler) inviteForm(ctx context.Context, token string, u store.User, problems []string) (views.InviteForm, error) {
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return views.InviteForm{}, err
	}
	subject := subjectOf(u)
	return views.InviteForm{Token: token, Name: u.Name, Email: u.Email, Errors: problems,
		MinLen: policy.MinLengthFor(subject), Check: auth.CheckPassword("", subject, policy)}, nil
}

// showInvite is the invitation link's page: set your password.
func (h *Handler) showInvite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	token := c.Params("token")
	u, err := h.invitedUser(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return h.inviteLinkInvalid(c)
	}
	if err != nil {
		return err
	}
	f, err := h.inviteForm(ctx, token, u, nil)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.InvitePage(h.pageBase(c, "Set your password", ""), f))
}

// acceptInvite sets the invited user's password under the one password rule for them. Using up
// the link, setting the password and the user_invitation_accepted event happen together.
// Posting links that do not work is throttled per IP.
func (h *Handler) acceptInvite(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := h.now()
	ip := h.clientIP(c)
	limited, err := h.limiter.Limited(ctx, throttle.InvitePerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if limited {
		return fiber.ErrTooManyRequests
	}
	token := c.Params("token")
	u, err := h.invitedUser(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		if err := h.limiter.FailNow(ctx, throttle.InvitePerIP.For(throttle.IPKey(ip))); err != nil {
			return err
		}
		return h.inviteLinkInvalid(c)
	}
	if err != nil {
		return err
	}

	password := c.FormValue("new_password")
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return err
	}
	var problems []string
	check := auth.CheckPassword(password, subjectOf(u), policy)
	for _, unmet := range check.Unmet() {
		problems = append(problems, "Password: "+unmet+".")
	}
	if check.Warning != "" && !check.OK() {
		problems = append(problems, check.Warning)
	}
	if password != c.FormValue("confirm_password") {
		problems = append(problems, "The two passwords do not match.")
	}
	problems, verdict := h.breach.Screen(ctx, password, problems)
	if len(problems) > 0 {
		f, err := h.inviteForm(ctx, token, u, problems)
		if err != nil {
			return err
		}
		return render(c, fiber.StatusUnprocessableEntity, views.InvitePage(h.pageBase(c, "Set your password", ""), f))
	}

	hash, err := h.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		id, err := tx.ConsumeInvitation(ctx, h.keys.HashToken("invite", token), now)
		if err != nil {
			return err
		}
		cur, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if cur.ID != u.ID || !cur.Active() {
			return store.ErrNotFound // deactivated since the check: the link does not work
		}
		if err := tx.SetPassword(ctx, id, breach.Record(h.keys, hash, password, subjectOf(u), policy), now); err != nil {
			return err
		}
		if err := verdict.LogSkipped(ctx, tx, h.event(c, "", ptr(id), ptr(id), nil)); err != nil {
			return err
		}
		if err := tx.DeleteUserInvitations(ctx, id); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserInvitationAccepted, ptr(id), ptr(id), nil))
	})
	if errors.Is(err, store.ErrNotFound) {
		return h.inviteLinkInvalid(c) // used up by a request that got there first
	}
	if err != nil {
		return fmt.Errorf("accept invitation: %w", err)
	}
	return render(c, fiber.StatusOK, views.InviteDonePage(h.pageBase(c, "Your password is set", ""), u.Email))
}

// targetUser is the user named by the :id of the path; 404 when there is none.
func (h *Handler) targetUser(c *fiber.Ctx) (store.User, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return store.User{}, fiber.ErrNotFound
	}
	u, err := h.store.UserByID(c.UserContext(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, fiber.ErrNotFound
	}
	return u, err
}

// errRefused is a change to a user that the rules forbid whoever asks; its message says why.
type errRefused struct{ title, message string }

func (e errRefused) Error() string { return e.message }

var (
	errLastSuperAdminRole = errRefused{"Role not changed",
		"This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."}
	errLastSuperAdminStatus = errRefused{"User not deactivated",
		"This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."}
	errDeactivateSelf = errRefused{"User not deactivated",
		"You cannot deactivate your own account. Ask another admin to do it."}
)

// refused answers a change the rules forbid: 409 with the reason, and the way back.
func (h *Handler) refused(c *fiber.Ctx, target store.User, err error) error {
	var r errRefused
	if !errors.As(err, &r) {
		return err
	}
	return render(c, fiber.StatusConflict, views.UserActionRefusedPage(h.pageBase(c, r.title, "users"), target.ID, r.message))
}

// wouldLoseLastSuperAdmin reports whether taking away target's super admin role or active status
// would leave nobody active with it. Call it in the transaction of the change.
func wouldLoseLastSuperAdmin(ctx context.Context, tx *store.Tx, target store.User) (bool, error) {
	if target.Role != store.RoleSuperAdmin || !target.Active() {
		return false, nil
	}
	n, err := tx.CountActiveSuperAdmins(ctx)
	return n <= 1, err
}

// changeUserRole changes a user's role (admins; super admin only for super admins). Nobody can
// take the role from the last active super admin. Logs user_role_changed with old and new.
func (h *Handler) changeUserRole(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := *currentUser(c)
	target, err := h.targetUser(c)
	if err != nil {
		return err
	}
	role := store.Role(c.FormValue("role"))
	if !role.Valid() {
		return fiber.NewError(fiber.StatusBadRequest, "unknown role")
	}
	if !mayManage(actor, target) || !slices.Contains(grantableRoles(actor), role) {
		return errForbidden
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, target.ID)
		if err != nil {
			return err
		}
		if cur.Role == role {
			return nil // nothing changed, nothing to log
		}
		if role != store.RoleSuperAdmin {
			last, err := wouldLoseLastSuperAdmin(ctx, tx, cur)
			if err != nil {
				return err
			}
			if last {
				return errLastSuperAdminRole
			}
		}
		if err := tx.SetUserRole(ctx, cur.ID, role, h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserRoleChanged, ptr(actor.ID), ptr(cur.ID), map[string]any{"old": string(cur.Role), "new": string(role)}))
	})
	if err != nil {
		return h.refused(c, target, err)
	}
	if target.ID == actor.ID && role.Rank() < store.RoleAdmin.Rank() {
		return redirect(c, "/dashboard") // they may no longer open the user pages
	}
	return redirect(c, fmt.Sprintf("/users/%d/profile?notice=role_changed", target.ID))
}

// deactivateUser stops a user from signing in and ends their sessions and sign-ins in
// progress, in the transaction of the change. Admins cannot deactivate super admins; nobody can
// deactivate themselves or the last active super admin.
func (h *Handler) deactivateUser(c *fiber.Ctx) error {
	return h.setStatus(c, store.StatusInactive)
}

// reactivateUser lets a deactivated user sign in again (admins; super admins only by super admins).
func (h *Handler) reactivateUser(c *fiber.Ctx) error {
	return h.setStatus(c, store.StatusActive)
}

func (h *Handler) setStatus(c *fiber.Ctx, status store.Status) error {
	ctx := c.UserContext()
	actor := *currentUser(c)
	target, err := h.targetUser(c)
	if err != nil {
		return err
	}
	if !mayManage(actor, target) {
		return errForbidden
	}
	if status == store.StatusInactive && target.ID == actor.ID {
		return h.refused(c, target, errDeactivateSelf)
	}
	typ, notice := store.EventUserReactivated, "reactivated"
	if status == store.StatusInactive {
		typ, notice = store.EventUserDeactivated, "deactivated"
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, target.ID)
		if err != nil {
			return err
		}
		if cur.Status == status {
			return nil // nothing changed, nothing to log
		}
		var details map[string]any
		if status == store.StatusInactive {
			last, err := wouldLoseLastSuperAdmin(ctx, tx, cur)
			if err != nil {
				return err
			}
			if last {
				return errLastSuperAdminStatus
			}
			ended, err := endUserSessions(ctx, tx, cur.ID, nil)
			if err != nil {
				return err
			}
			if err := tx.DeletePasswordResets(ctx, cur.ID); err != nil {
				return err
			}
			details = map[string]any{"sessions_ended": ended}
			if err := oidc.RevokeUserTokens(ctx, tx, h.event(c, "", ptr(actor.ID), ptr(cur.ID), map[string]any{"reason": "user_deactivated"})); err != nil {
				return err
			}
		}
		if err := tx.SetUserStatus(ctx, cur.ID, status, h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, typ, ptr(actor.ID), ptr(cur.ID), details))
	})
	if err != nil {
		return h.refused(c, target, err)
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=%s", target.ID, notice))
}
