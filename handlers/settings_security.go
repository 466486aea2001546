package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/views"
)

// showSettingsSecurity shows the tenant's security settings (super admins).
func (h *Handler) showSettingsSecurity(c *fiber.Ctx) error {
	s, err := h.Account.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SettingsSecurityPage(h.pageBase(c, "Security settings", "settings"), s))
}

// showSettingsAuthentication is Settings > Security > Authentication (super admins).
func (h *Handler) showSettingsAuthentication(c *fiber.Ctx) error {
	s, err := h.Account.Settings(c.UserContext())
	if err != nil {
		return err
	}
	f := views.AuthPolicyForm{Strength: s.RequiredAuthStrength, Notice: views.AuthenticationNotices.Notice(c.Query("notice"))}
	return render(c, fiber.StatusOK, views.SettingsAuthenticationPage(h.pageBase(c, "Authentication", "settings"), f))
}

// saveAuthPolicy saves the required authentication strength and logs
// tenant_auth_policy_updated with the old and new values (account.SaveAuthPolicy). From the
// page's form (review=yes), switching to Enhanced while some active users have neither TOTP nor
// a passkey first shows who will meet enrollment, with a Confirm button that posts again with
// confirm=yes.
func (h *Handler) saveAuthPolicy(c *fiber.Ctx) error {
	strength := c.FormValue("required_auth_strength")
	if c.FormValue("review") == "yes" && c.FormValue("confirm") != "yes" {
		users, total, err := h.Account.EnrollmentPreview(c.UserContext(), strength)
		if err != nil {
			return err
		}
		if total > 0 {
			f := views.AuthPolicyForm{Strength: strength, Preview: &views.AuthPolicyPreview{Users: users, Total: total}}
			return render(c, fiber.StatusOK, views.SettingsAuthenticationPage(h.pageBase(c, "Authentication", "settings"), f))
		}
	}
	err := h.Account.SaveAuthPolicy(c.UserContext(), *currentUser(c), strength, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		f := views.AuthPolicyForm{Strength: strength, Error: problems[0]}
		return render(c, fiber.StatusUnprocessableEntity, views.SettingsAuthenticationPage(h.pageBase(c, "Authentication", "settings"), f))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/authentication?notice=saved")
}
