package handlers

// Groups (admins): the list, a new group, a group's page with its members, and the user
// detail page's Groups tab, which adds a user to a group. services/groups does the work.

import (
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/views"
)

// groupInput is the name and description form.
func groupInput(c *fiber.Ctx) groups.Input {
	return groups.Input{Name: c.FormValue("name"), Description: c.FormValue("description")}
}

// showGroups lists the groups.
func (h *Handler) showGroups(c *fiber.Ctx) error {
	gs, err := h.Groups.List(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.GroupsPage(h.pageBase(c, "Groups", "groups"),
		views.GroupList{Groups: gs, Notice: views.GroupsNotices.Notice(c.Query("notice"))}))
}

// showNewGroup is the form that makes a group.
func (h *Handler) showNewGroup(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.NewGroupPage(h.pageBase(c, "New group", "groups"), views.GroupForm{}))
}

// createGroup makes a group and opens its page; a refused form comes back with its problems.
func (h *Handler) createGroup(c *fiber.Ctx) error {
	in := groupInput(c)
	g, err := h.Groups.Create(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), in)
	if problems, ok := refusedForm(err); ok {
		f := views.GroupForm{Name: in.Name, Description: in.Description, Errors: problems}
		return render(c, fiber.StatusUnprocessableEntity, views.NewGroupPage(h.pageBase(c, "New group", "groups"), f))
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/groups/%d?notice=created", g.ID))
}

// groupPage renders group :id's page with status; edit fills in what a refused form needs.
func (h *Handler) groupPage(c *fiber.Ctx, status int, edit func(*views.GroupDetail)) error {
	d, err := h.Groups.Detail(c.UserContext(), formInt(c.Params("id")))
	if err != nil {
		return err
	}
	v := views.GroupDetail{Group: d.Group, Members: d.Members, Notice: views.GroupNotices.Notice(c.Query("notice")),
		Form: views.GroupForm{Name: d.Group.Name, Description: d.Group.Description}}
	for _, a := range d.Apps {
		v.Apps = append(v.Apps, views.GroupApp{Ref: a.AppRef, Name: a.Name})
	}
	if edit != nil {
		edit(&v)
	}
	return render(c, status, views.GroupPage(h.pageBase(c, d.Group.Name, "groups"), v))
}

// showGroup is a group's page.
func (h *Handler) showGroup(c *fiber.Ctx) error { return h.groupPage(c, fiber.StatusOK, nil) }

// groupDone is where a change to group :id goes: back to its page, saying what was done; a
// refused form shows the page again with its problems (edit puts them in place).
func (h *Handler) groupDone(c *fiber.Ctx, err error, notice string, edit func(*views.GroupDetail, []string)) error {
	if problems, ok := refusedForm(err); ok {
		return h.groupPage(c, fiber.StatusUnprocessableEntity, func(d *views.GroupDetail) { edit(d, problems) })
	}
	if err != nil {
		return err
	}
	return redirect(c, "/groups/"+c.Params("id")+"?notice="+notice)
}

// updateGroup renames and describes a group.
func (h *Handler) updateGroup(c *fiber.Ctx) error {
	in := groupInput(c)
	err := h.Groups.Update(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), formInt(c.Params("id")), in)
	return h.groupDone(c, err, "saved", func(d *views.GroupDetail, p []string) {
		d.Form = views.GroupForm{Name: in.Name, Description: in.Description, Errors: p}
	})
}

// addGroupMember adds the user with the given address to the group.
func (h *Handler) addGroupMember(c *fiber.Ctx) error {
	email := c.FormValue("email")
	_, err := h.Groups.AddMemberByEmail(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), formInt(c.Params("id")), email)
	return h.groupDone(c, err, "member_added", func(d *views.GroupDetail, p []string) { d.Email, d.MemberErrors = email, p })
}

// removeGroupMember takes a user out of the group, and goes back to the group's page, or to the
// user's Groups tab when the form came from there (from=user).
func (h *Handler) removeGroupMember(c *fiber.Ctx) error {
	userID := formInt(c.Params("user"))
	if err := h.Groups.RemoveMember(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), formInt(c.Params("id")), userID); err != nil {
		return err
	}
	if c.FormValue("from") == "user" {
		return redirect(c, fmt.Sprintf("/users/%d/groups?notice=group_removed", userID))
	}
	return redirect(c, "/groups/"+c.Params("id")+"?notice=member_removed")
}

// deleteGroup deletes the group (its page asked to confirm).
func (h *Handler) deleteGroup(c *fiber.Ctx) error {
	if err := h.Groups.Delete(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), formInt(c.Params("id"))); err != nil {
		return err
	}
	return redirect(c, "/groups?notice=deleted")
}

// showUserGroups is the Groups tab of a user's page: their groups, with Remove, and Add to a group.
func (h *Handler) showUserGroups(c *fiber.Ctx) error { return h.showUserTab(c, views.TabGroups) }

// showUserApps is the Apps tab: every application, whether the user may sign in to it, and why.
func (h *Handler) showUserApps(c *fiber.Ctx) error { return h.showUserTab(c, views.TabApps) }

// addUserToGroup adds the user to the group chosen on their Groups tab.
func (h *Handler) addUserToGroup(c *fiber.Ctx) error {
	id, err := userID(c)
	if err != nil {
		return err
	}
	groupID, err := strconv.ParseInt(c.FormValue("group"), 10, 64)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "choose a group")
	}
	err = h.Groups.AddMember(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), groupID, id)
	if _, refused := refusedForm(err); refused {
		// Only "a member already" (two tabs, or a double submit): the tab shows it.
		return redirect(c, fmt.Sprintf("/users/%d/groups", id))
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/groups?notice=group_added", id))
}
