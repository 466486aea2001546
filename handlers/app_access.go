package handlers

// "Who may sign in" on the application forms, the page of a user an application refuses, and
// the user detail page's Groups and Apps tabs (services/groups decides).

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// accessSetting reads "Who may sign in" from an application's form (URL-encoded or multipart):
// access, and one groups value per chosen group. Values that are not ids are left out.
func accessSetting(c *fiber.Ctx) groups.Setting {
	st := groups.Setting{Access: groups.Access(c.FormValue("access"))}
	var values []string
	if mf, err := c.MultipartForm(); err == nil {
		values = mf.Value["groups"]
	} else {
		for _, v := range c.Request().PostArgs().PeekMulti("groups") {
			values = append(values, string(v))
		}
	}
	for _, v := range values {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			st.GroupIDs = append(st.GroupIDs, id)
		}
	}
	return st
}

// fillAccess puts "Who may sign in" of app into an application's form: every group, and the
// choice as posted (a form shown again after an error) or else as saved.
func (h *Handler) fillAccess(c *fiber.Ctx, app store.AppRef, f *views.AppAccessForm) error {
	af, err := h.Groups.AccessForm(c.UserContext(), app)
	if err != nil {
		return err
	}
	st := af.Setting
	if c.Method() == fiber.MethodPost && c.FormValue("access") != "" {
		st = accessSetting(c)
	}
	*f = views.AppAccessForm{Groups: af.Groups, OnlyThem: st.Access == groups.AccessGroups, Chosen: st.GroupIDs}
	return nil
}

// oidcApp names an OpenID Connect client for the access forms ("" while registering one).
func oidcApp(clientID string) store.AppRef { return store.AppRef{Kind: store.AppOIDC, ID: clientID} }

// accessDenied answers a sign-in to an application the user may not open: the page that says
// so and whom to ask (403), or for OpenID Connect's prompt=none the redirect that tells the
// application at once.
func (h *Handler) accessDenied(c *fiber.Ctx, d *groups.Denied) error {
	if d.Redirect && d.ReturnURL != "" {
		return c.Redirect(d.ReturnURL, fiber.StatusSeeOther)
	}
	return render(c, fiber.StatusForbidden, views.AccessDeniedPage(h.pageBase(c, "No access to "+d.App.Name, ""),
		views.AccessDenied{App: d.App.Name, Admins: d.Admins, ReturnURL: d.ReturnURL}))
}

// userAccessTab fills in the Groups or the Apps tab of d's user.
func (h *Handler) userAccessTab(ctx context.Context, d *views.UserDetail) error {
	if d.Tab == views.TabGroups {
		ug, err := h.Groups.OfUser(ctx, d.User.ID)
		d.Groups = views.UserGroupsTab{Member: ug.Member, Others: ug.Others}
		return err
	}
	apps, err := h.Groups.UserApps(ctx, d.User.ID)
	for _, a := range apps {
		d.Apps = append(d.Apps, views.UserAppLine{Ref: a.App.AppRef, Name: a.App.Name, Allowed: a.Allowed,
			Everyone: a.Reason.Everyone, Via: a.Reason.Via, Groups: a.Groups})
	}
	return err
}
