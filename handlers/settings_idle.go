package handlers

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/views"
)

// showSettingsIdle is Settings > Security > Idle users (super admins).
func (h *Handler) showSettingsIdle(c *fiber.Ctx) error {
	return h.renderSettingsIdle(c, fiber.StatusOK, views.IdleNotices.Notice(c.Query("notice")), "", 0, nil)
}

// renderSettingsIdle renders the page: the setting as saved (or days, after a refusal), the
// job's schedule, and a preview to confirm when preview is set.
func (h *Handler) renderSettingsIdle(c *fiber.Ctx, status int, notice, problem string, days int, preview *views.IdlePreview) error {
	st, err := h.Account.IdleStatus(c.UserContext(), 0)
	if err != nil {
		return err
	}
	f := views.IdleForm{Days: st.Days, Options: account.IdleDayOptions, Job: st.Job, Notice: notice, Error: problem, Preview: preview}
	if problem != "" {
		f.Days = days
	}
	return render(c, status, views.SettingsIdlePage(h.pageBase(c, "Idle users", "settings"), f))
}

// saveIdle saves the days without a sign-in that deactivate a user (account.SaveIdleDeactivation,
// which logs idle_deactivation_policy_updated). From the page's form (review=yes) a setting that
// would deactivate someone at the next check first shows who, with a Confirm button that posts
// again with confirm=yes.
func (h *Handler) saveIdle(c *fiber.Ctx) error {
	days, err := strconv.Atoi(c.FormValue("idle_deactivation_days"))
	if err != nil {
		days = -1 // refused below, as any value that is not an option
	}
	if c.FormValue("review") == "yes" && c.FormValue("confirm") != "yes" && days > 0 {
		st, err := h.Account.IdleStatus(c.UserContext(), days)
		if err != nil {
			return err
		}
		if st.Total > 0 && st.Days != days {
			return h.renderSettingsIdle(c, fiber.StatusOK, "", "", days, &views.IdlePreview{Days: days, Users: st.Users, Total: st.Total})
		}
	}
	err = h.Account.SaveIdleDeactivation(c.UserContext(), *currentUser(c), days, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		return h.renderSettingsIdle(c, fiber.StatusUnprocessableEntity, "", problems[0], days, nil)
	}
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/idle-users?notice=saved")
}
