package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/views"
)

// showDashboard is where a completed sign-in lands.
func (h *Handler) showDashboard(c *fiber.Ctx) error {
	clients, err := h.oidcSvc.HomeApps(c.UserContext())
	if err != nil {
		return err
	}
	samlApps, err := h.dashboardSAMLApps(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.DashboardPage(h.pageBase(c, "Dashboard", "dashboard"), views.OIDCDashboardApps(clients), samlApps))
}
