package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/views"
)

// showAccountPassword is Account > Password.
func (h *Handler) showAccountPassword(c *fiber.Ctx) error {
	policy, err := h.account.Policy(c.UserContext())
	if err != nil {
		return err
	}
	f := views.AccountPasswordForm{Check: auth.CheckPassword("", account.Subject(*currentUser(c)), policy)}
	if c.Query("notice") == "changed" {
		f.Notice = "Your password was changed. Your other sessions were signed out."
	}
	return render(c, fiber.StatusOK, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
}

// changeAccountPassword checks the current password (throttled like a sign-in), then the new one
// against the one password rule; on success the other sessions of the user end and this one stays.
func (h *Handler) changeAccountPassword(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := *currentUser(c)
	keep, _ := c.Locals(localSession).([]byte)
	err := h.account.ChangePassword(ctx, u, c.FormValue("current_password"), c.FormValue("new_password"), c.FormValue("confirm_password"), keep, h.requestOrigin(c))
	if err == nil {
		return redirect(c, "/account/password?notice=changed")
	}
	// A refused form comes back with empty fields, so its meter shows the empty verdict; the
	// alert lists what was wrong with the refused password, in the meter's words.
	page := func(status int, errs ...string) error {
		policy, err := h.account.Policy(ctx)
		if err != nil {
			return err
		}
		f := views.AccountPasswordForm{Errors: errs, Check: auth.CheckPassword("", account.Subject(u), policy)}
		return render(c, status, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
	}
	if status, msgs, ok := formProblems(err); ok {
		return page(status, msgs...) // throttled, the current password wrong, or the new one refused
	}
	return err
}
