package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/views"
)

// showDashboard is where a completed sign-in lands; a super admin also sees the first-run
// checklist (account.FirstRunChecklist) until they dismiss it.
func (h *Handler) showDashboard(c *fiber.Ctx) error {
	ctx := c.UserContext()
	clients, err := h.OIDC.HomeApps(ctx, currentUser(c).ID)
	if err != nil {
		return err
	}
	samlApps, err := h.dashboardSAMLApps(c)
	if err != nil {
		return err
	}
	proxied, err := h.Proxy.DashboardApps(ctx, currentUser(c).ID)
	if err != nil {
		return err
	}
	links := views.OIDCDashboardApps(clients)
	for _, a := range proxied {
		links = append(links, views.DashboardApp(a))
	}
	var checklist *views.FirstRunChecklist
	cl, show, err := h.Account.FirstRunChecklist(ctx, *currentUser(c))
	if err != nil {
		return err
	}
	if show {
		checklist = &views.FirstRunChecklist{SecondFactor: cl.SecondFactor, MailConfigured: cl.MailConfigured, OtherUsers: cl.OtherUsers, Apps: cl.Apps}
	}
	return render(c, fiber.StatusOK, views.DashboardPage(h.pageBase(c, "Dashboard", "dashboard"), links, samlApps, checklist))
}

// dismissChecklist hides the first-run checklist from the super admin's dashboard for good.
func (h *Handler) dismissChecklist(c *fiber.Ctx) error {
	if err := h.Account.DismissChecklist(c.UserContext(), *currentUser(c)); err != nil {
		return err
	}
	return redirect(c, "/dashboard")
}
