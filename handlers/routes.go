package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/weftid/weftid/store"
)

// routes registers every route of weftid, top to bottom.
func (h *Handler) routes(app *fiber.App) {
	app.Use(h.observe)
	app.Use(h.requestContext)
	app.Use(recover.New())
	app.Use(h.securityHeaders())

	// No session, no CSRF: static and health.
	app.Get("/assets/*", serveAsset)
	app.Get("/healthz", h.healthz)
	// OpenID Connect, machine to machine: no session, no CSRF (clients authenticate themselves).
	app.Get("/.well-known/openid-configuration", h.oidcOn, h.oidcDiscovery)
	app.Get("/oauth2/keys", h.oidcOn, h.oidcEndpoint)
	app.Post("/oauth2/token", h.oidcOn, h.oidcClientEndpoint)
	app.Post("/oauth2/revoke", h.oidcOn, h.oidcClientEndpoint)
	app.Post("/oauth2/introspect", h.oidcOn, h.oidcClientEndpoint)
	app.Get("/oauth2/userinfo", h.oidcOn, h.oidcUserinfo)
	app.Post("/oauth2/userinfo", h.oidcOn, h.oidcUserinfo)
	// An authorize request or RP-initiated logout by POST comes from the application's page: it
	// only moves to the GET.
	app.Post("/oauth2/authorize", h.oidcOn, h.oidcAuthorizePost)
	app.Post("/oauth2/end_session", h.oidcOn, h.oidcEndSession)
	app.Get("/saml/metadata", h.samlMetadata)
	// The SP's page posts the AuthnRequest (HTTP-POST binding) from its own site: no CSRF token,
	// and nothing changes but a held request (see saml.go).
	app.Post("/saml/sso", h.loadSession, h.samlSSO)
	// Forward authentication: the reverse proxy of a protected app asks about each request (any
	// method: nginx's auth_request keeps the original one). What it answers depends only on the
	// X-Forwarded-* headers and weftid's cookies for the app's host (see forward_auth.go).
	app.All("/forward-auth", h.forwardAuth)
	app.All("/auth-request", h.authRequest)
	// Single Logout: a service provider's signed LogoutRequest or LogoutResponse, from its page
	// (POST) or by redirect (GET); the message's signature is checked, not a CSRF token.
	app.Get("/saml/slo", h.samlSLO)
	app.Post("/saml/slo", h.samlSLO)

	app.Use(h.loadSession, h.csrf)
	// A sign-in that continues to an OpenID Connect app or a proxied app lets its forms lead there.
	app.Use("/login", h.signInFormAction)

	app.Get("/", h.home)
	app.Get("/setup", h.showSetup)
	app.Post("/setup", h.submitSetup)
	app.Get("/invite/:token", h.showInvite)
	app.Post("/invite/:token", h.acceptInvite)

	app.Get("/login", h.showLogin)
	app.Post("/login", h.submitLogin)
	app.Get("/login/verify", h.showLoginVerify)
	app.Post("/login/verify", h.submitLoginVerify)
	app.Post("/login/verify/resend", h.resendLoginCode)
	app.Post("/login/passkey/begin", h.beginPasskeyLogin)
	app.Post("/login/passkey/finish", h.finishPasskeyLogin)
	app.Get("/login/enroll", h.showEnroll)
	app.Get("/login/enroll/totp", h.showEnrollTOTP)
	app.Post("/login/enroll/totp", h.confirmEnrollTOTP)
	app.Post("/login/enroll/passkey/begin", h.beginEnrollPasskey)
	app.Post("/login/enroll/passkey/finish", h.finishEnrollPasskey)
	app.Get("/login/reset-password", h.showResetPassword)
	app.Post("/login/reset-password", h.submitResetPassword)
	app.Get("/password/forgot", h.showForgotPassword)
	app.Post("/password/forgot", h.requestPasswordReset)
	app.Get("/password/reset/:token", h.showPasswordReset)
	app.Post("/password/reset/:token", h.submitPasswordReset)
	app.Post("/logout", h.logout)
	// OpenID Connect in the browser: the request waits for a complete sign-in.
	app.Get("/oauth2/authorize", h.oidcOn, h.oidcAuthorize)
	app.Get("/oauth2/login", h.oidcOn, h.oidcLogin)
	app.Post("/oauth2/login", h.oidcOn, h.oidcReauth)
	app.Get("/oauth2/authorize/callback", h.oidcOn, h.oidcCallback)
	app.Get("/oauth2/end_session", h.oidcOn, h.oidcEndSession)
	app.Post("/oauth2/end_session/confirm", h.oidcOn, h.oidcConfirmLogout)
	app.Get("/saml/sso", h.samlSSO)
	app.Get("/saml/continue/:id", h.samlContinue)
	app.Post("/saml/reauth", h.samlReauth) // ForceAuthn: "Sign in again" confirmed
	app.Get("/proxy/continue", h.proxyContinue)

	user := h.requireRole(store.RoleUser)
	admin := h.requireRole(store.RoleAdmin)
	superAdmin := h.requireRole(store.RoleSuperAdmin)

	app.Post("/password/strength", append(h.strengthLimits(), h.passwordStrength)...)

	app.Get("/dashboard", user, h.showDashboard)
	app.Post("/dashboard/checklist/dismiss", superAdmin, h.dismissChecklist)
	app.Get("/oauth2/continue", user, h.oidcOn, h.oidcContinue)
	app.Get("/account/security", user, h.showAccountSecurity)
	app.Post("/account/security/totp/setup", user, h.beginTOTPSetup)
	app.Get("/account/security/totp", user, h.showTOTPSetup)
	app.Post("/account/security/totp", user, h.confirmTOTP)
	app.Post("/account/security/totp/remove", user, h.removeTOTP)
	app.Post("/account/security/backup-codes", user, h.regenerateBackupCodes)
	app.Post("/account/security/devices/:id<int>/remove", user, h.removeDevice)
	app.Post("/account/passkeys/begin", user, h.beginPasskeyRegistration)
	app.Post("/account/passkeys/finish", user, h.finishPasskeyRegistration)
	app.Post("/account/passkeys/:id/rename", user, h.renamePasskey)
	app.Post("/account/passkeys/:id/delete", user, h.deletePasskey)
	app.Get("/account/profile", user, h.showAccountProfile)
	app.Post("/account/profile", user, h.saveAccountProfile)
	app.Get("/account/password", user, h.showAccountPassword)
	app.Post("/account/password", user, h.changeAccountPassword)

	app.Get("/users", admin, h.showUsers)
	app.Get("/users/new", admin, h.showNewUser)
	app.Post("/users", admin, h.createUser)
	app.Get("/users/:id<int>", admin, h.showUser)
	app.Get("/users/:id<int>/profile", admin, h.showUserProfile)
	app.Get("/users/:id<int>/danger", admin, h.showUserDanger)
	app.Get("/users/:id<int>/events", admin, h.showUserEvents)
	app.Post("/users/:id<int>/role", admin, h.changeUserRole)
	app.Post("/users/:id<int>/deactivate", admin, h.deactivateUser)
	app.Post("/users/:id<int>/reactivate", admin, h.reactivateUser)
	app.Post("/users/:id<int>/reset-mfa", admin, h.resetUserMFA)
	app.Post("/users/:id<int>/force-password-reset", admin, h.forcePasswordReset)
	app.Post("/users/:id<int>/sign-out-everywhere", admin, h.signOutEverywhere)
	app.Post("/users/:id<int>/passkeys/:cred<int>/revoke", admin, h.revokeUserPasskey)
	app.Get("/users/:id<int>/groups", admin, h.showUserGroups)
	app.Post("/users/:id<int>/groups", admin, h.addUserToGroup)
	app.Get("/users/:id<int>/apps", admin, h.showUserApps)
	app.Get("/groups", admin, h.showGroups)
	app.Get("/groups/new", admin, h.showNewGroup)
	app.Post("/groups/new", admin, h.createGroup)
	app.Get("/groups/:id<int>", admin, h.showGroup)
	app.Post("/groups/:id<int>", admin, h.updateGroup)
	app.Post("/groups/:id<int>/members", admin, h.addGroupMember)
	app.Post("/groups/:id<int>/members/:user<int>/remove", admin, h.removeGroupMember)
	app.Post("/groups/:id<int>/delete", admin, h.deleteGroup)
	app.Post("/users/:id<int>/profile", admin, h.updateUserProfile)
	app.Post("/users/:id<int>/resend-invitation", admin, h.resendInvitation)
	app.Post("/users/:id<int>/delete", superAdmin, h.deleteUser)
	app.Post("/saml/idp/:id<int>", user, h.samlIdPInitiated)
	app.Get("/applications/saml", admin, h.showSAMLApps)
	app.Get("/applications/saml/new", admin, h.showNewSAMLApp)
	app.Post("/applications/saml", admin, h.createSAMLApp)
	app.Get("/applications/saml/:id<int>", admin, h.showSAMLApp)
	app.Post("/applications/saml/:id<int>", admin, h.updateSAMLApp)
	app.Post("/applications/saml/:id<int>/delete", admin, h.deleteSAMLApp)
	app.Post("/applications/saml/:id<int>/refresh", admin, h.refreshSAMLApp)
	app.Post("/applications/saml/rotate-key", superAdmin, h.rotateSAMLKey)
	app.Post("/applications/saml/use-next-key", superAdmin, h.useNextSAMLKey)
	app.Get("/events", admin, h.showEvents)
	app.Get("/events.csv", admin, h.exportEvents)
	app.Post("/events/verify", admin, h.verifyEvents)
	app.Get("/applications", admin, h.showApplications)
	app.Get("/applications/oidc/new", admin, h.showNewClient)
	app.Post("/applications/oidc", admin, h.createClient)
	app.Post("/applications/oidc/rotate-key", superAdmin, h.rotateSigningKey)
	app.Get("/applications/oidc/:id", admin, h.showClient)
	app.Post("/applications/oidc/:id", admin, h.updateClient)
	app.Post("/applications/oidc/:id/delete", admin, h.deleteClient)
	app.Post("/applications/oidc/:id/secret", admin, h.regenerateClientSecret)
	app.Get("/applications/proxy/new", admin, h.showNewProxyApp)
	app.Post("/applications/proxy", admin, h.createProxyApp)
	app.Get("/applications/proxy/:id<int>", admin, h.showProxyApp)
	app.Post("/applications/proxy/:id<int>", admin, h.updateProxyApp)
	app.Post("/applications/proxy/:id<int>/delete", admin, h.deleteProxyApp)

	app.Get("/settings/security", superAdmin, h.showSettingsSecurity)
	app.Get("/settings/security/authentication", superAdmin, h.showSettingsAuthentication)
	app.Post("/settings/security/authentication", superAdmin, h.saveAuthPolicy)
	app.Get("/settings/security/passwords", superAdmin, h.showSettingsPasswords)
	app.Post("/settings/security/passwords", superAdmin, h.savePasswordPolicy)
	app.Post("/settings/security/passwords/require-reset", superAdmin, h.requireResetForWeaker)
	app.Post("/settings/security/passwords/breach-check", superAdmin, h.runBreachCheck)
	app.Get("/settings/security/idle-users", superAdmin, h.showSettingsIdle)
	app.Post("/settings/security/idle-users", superAdmin, h.saveIdle)

	app.Use(func(*fiber.Ctx) error { return fiber.ErrNotFound })
}
