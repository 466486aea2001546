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
	app.Post("/login/passkey/begin", h.beginPasskeyLogin)
	app.Post("/login/passkey/finish", h.finishPasskeyLogin)
	app.Post("/logout", h.logout)

	user := requireRole(store.RoleUser)
	admin := requireRole(store.RoleAdmin)
	superAdmin := requireRole(store.RoleSuperAdmin)

	app.Post("/password/strength", append(h.strengthLimits(), h.passwordStrength)...)

	app.Get("/dashboard", user, h.showDashboard)
	app.Get("/account/security", user, h.showAccountSecurity)
	app.Post("/account/security/totp/setup", user, h.beginTOTPSetup)
	app.Get("/account/security/totp", user, h.showTOTPSetup)
	app.Post("/account/security/totp", user, h.confirmTOTP)
	app.Post("/account/security/totp/remove", user, h.removeTOTP)
	app.Post("/account/security/backup-codes", user, h.regenerateBackupCodes)
	app.Post("/account/passkeys/begin", user, h.beginPasskeyRegistration)
	app.Post("/account/passkeys/finish", user, h.finishPasskeyRegistration)
	app.Post("/account/passkeys/:id/rename", user, h.renamePasskey)
	app.Post("/account/passkeys/:id/delete", user, h.deletePasskey)
	app.Get("/account/password", user, h.showAccountPassword)
	app.Post("/account/password", user, h.changeAccountPassword)

	app.Get("/users", admin, h.showUsers)
	app.Get("/events", admin, h.showEvents)

	app.Get("/settings/security", superAdmin, h.showSettingsSecurity)
	app.Get("/settings/security/passwords", superAdmin, h.showSettingsPasswords)
	app.Post("/settings/security/passwords", superAdmin, h.savePasswordPolicy)

	app.Use(func(*fiber.Ctx) error { return fiber.ErrNotFound })
}
