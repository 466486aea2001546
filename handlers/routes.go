package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/weftid/weftid/store"
)

// routes registers every route of weftid, top to bottom.
func (h *Handler) routes(app *fiber.App) {
	app.Use(recover.New())
	app.Use(securityHeaders())

	// No session, no CSRF: static and health.
	app.Get("/assets/*", serveAsset)
	app.Get("/healthz", h.healthz)

	app.Use(h.loadSession, h.csrf)

	app.Get("/", h.home)
	app.Get("/setup", h.showSetup)
	app.Post("/setup", h.submitSetup)

	app.Get("/login", h.showLogin)
	app.Post("/login", h.submitLogin)
	app.Get("/login/verify", h.showLoginVerify)
	app.Post("/login/verify", h.submitLoginVerify)
	app.Post("/login/verify/resend", h.resendLoginCode)
	app.Post("/logout", h.logout)

	user := requireRole(store.RoleUser)
	admin := requireRole(store.RoleAdmin)
	superAdmin := requireRole(store.RoleSuperAdmin)

	app.Get("/dashboard", user, h.showDashboard)

	app.Get("/users", admin, h.showUsers)
	app.Get("/events", admin, h.showEvents)

	app.Get("/settings/security", superAdmin, h.showSettingsSecurity)

	app.Use(func(*fiber.Ctx) error { return fiber.ErrNotFound })
}
