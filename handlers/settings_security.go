package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showSettingsSecurity shows the tenant's security settings (super admins).
func (h *Handler) showSettingsSecurity(c *fiber.Ctx) error {
	s, err := h.store.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SettingsSecurityPage(h.pageBase(c, "Security settings", "settings"), s))
}

// showSettingsAuthentication is Settings > Security > Authentication (super admins).
func (h *Handler) showSettingsAuthentication(c *fiber.Ctx) error {
	s, err := h.store.Settings(c.UserContext())
	if err != nil {
		return err
	}
	f := views.AuthPolicyForm{Strength: s.RequiredAuthStrength}
	if c.Query("notice") == "saved" {
		f.Notice = "Saved. The policy applies to every new sign-in; existing sessions are not interrupted."
	}
	return render(c, fiber.StatusOK, views.SettingsAuthenticationPage(h.pageBase(c, "Authentication", "settings"), f))
}

// saveAuthPolicy saves the required authentication strength and logs
// tenant_auth_policy_updated with the old and new values, in one transaction.
func (h *Handler) saveAuthPolicy(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	strength := c.FormValue("required_auth_strength")
	if strength != "baseline" && strength != "enhanced" {
		f := views.AuthPolicyForm{Strength: strength, Error: "Choose Baseline or Enhanced."}
		return render(c, fiber.StatusUnprocessableEntity, views.SettingsAuthenticationPage(h.pageBase(c, "Authentication", "settings"), f))
	}
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		if old.RequiredAuthStrength == strength {
			return nil // nothing changed, nothing to log
		}
		if err := tx.SetAuthStrength(ctx, strength, h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventTenantAuthPolicyUpdated, ptr(u.ID), nil, map[string]any{
			"old": map[string]string{"required_auth_strength": old.RequiredAuthStrength},
			"new": map[string]string{"required_auth_strength": strength},
		}))
	})
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/authentication?notice=saved")
}
