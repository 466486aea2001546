package handlers

import (
	"github.com/gofiber/fiber/v2"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/views"
)

// breachStatus fills the breach check's part of Settings > Security > Passwords.
func (h *Handler) breachStatus(c *fiber.Ctx) (views.BreachStatus, error) {
	s := views.BreachStatus{Notice: views.BreachNotices.Notice(c.Query("breach"))}
	if !h.Breach.Enabled() {
		return s, nil
	}
	j, err := h.Breach.Status(c.UserContext())
	if err != nil {
		return s, err
	}
	s.Service = h.Breach.String()
	s.Running, s.UsersChecked, s.Hits, s.LastError = j.Running, j.UsersChecked, j.Hits, j.LastError
	s.LastFinished, s.LastUsersChecked, s.LastHits = j.LastFinishedAt, j.LastUsersChecked, j.LastHits
	s.NextRun = j.NextRunAt
	return s, nil
}

// runBreachCheck is "Run now" (super admins): the weekly breach check starts at once (or a run
// stopped by an error resumes), and password_breach_check_requested is logged.
func (h *Handler) runBreachCheck(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if !h.Breach.Enabled() {
		return redirect(c, "/settings/security/passwords?breach=off#breach-check")
	}
	o := h.requestOrigin(c)
	if err := h.Breach.RunNow(ctx, breach.Actor{UserID: currentUser(c).ID, IP: o.IP, UserAgent: o.UserAgent}); err != nil {
		return err
	}
	return redirect(c, "/settings/security/passwords?breach=requested#breach-check")
}
