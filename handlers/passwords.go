package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// strengthLimits throttle the live meter per browser (its CSRF cookie, which every page gives):
// typing is debounced, so 120 checks a minute is far more than a person needs. A client that
// drops its cookies meets the per-IP backstop, sized for a busy office behind one address.
func (h *Handler) strengthLimits() []fiber.Handler {
	perIP := limiter.New(limiter.Config{
		Max:          1200,
		Expiration:   time.Minute,
		KeyGenerator: h.clientIP,
		LimitReached: func(c *fiber.Ctx) error { return fiber.ErrTooManyRequests },
	})
	perBrowser := limiter.New(limiter.Config{
		Max:        120,
		Expiration: time.Minute,
		KeyGenerator: func(c *fiber.Ctx) string {
			if cookie := c.Cookies(h.cookieName(csrfCookie)); cookie != "" {
				return "csrf:" + cookie
			}
			return "ip:" + h.clientIP(c)
		},
		LimitReached: func(c *fiber.Ctx) error { return fiber.ErrTooManyRequests },
	})
	return []fiber.Handler{perIP, perBrowser}
}

// passwordStrength answers the live meter: the verdict of the one password rule for the person
// the password is for (account.PasswordStrength). The password is neither logged nor stored.
func (h *Handler) passwordStrength(c *fiber.Ctx) error {
	password := c.FormValue("password")
	if password == "" {
		password = c.FormValue("new_password")
	}
	check, err := h.Account.PasswordStrength(c.UserContext(), account.StrengthAsk{
		Password: password, Invite: c.FormValue("invite"), Reset: c.FormValue("reset"),
		SetupToken: c.FormValue("token"), Email: c.FormValue("email"), Name: c.FormValue("name"),
		SignedIn: currentUser(c),
		SigningIn: func() (store.User, bool) {
			_, u, err := h.currentSignIn(c)
			return u, err == nil
		},
	})
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.StrengthMeter(check))
}

// showSettingsPasswords is Settings > Security > Passwords (super admins).
func (h *Handler) showSettingsPasswords(c *fiber.Ctx) error {
	s, err := h.Account.Settings(c.UserContext())
	if err != nil {
		return err
	}
	f := views.PasswordSettingsForm{MinLength: s.MinimumPasswordLength, MinScore: s.MinimumStrengthScore, Notice: views.PasswordSettingsNotices.Notice(c.Query("notice"))}
	if c.Query("notice") == "resets_required" {
		f.Notice = fmt.Sprintf("%d %s must choose a new password at their next sign-in.", formInt(c.Query("n")), views.Plural(int(formInt(c.Query("n"))), "user", "users"))
	}
	if f.Weaker, err = h.Account.WeakerPasswords(c.UserContext(), s); err != nil {
		return err
	}
	return h.renderPasswordSettings(c, fiber.StatusOK, f)
}

// renderPasswordSettings renders Settings > Security > Passwords with the breach check's status.
func (h *Handler) renderPasswordSettings(c *fiber.Ctx, status int, f views.PasswordSettingsForm) error {
	var err error
	if f.Breach, err = h.breachStatus(c); err != nil {
		return err
	}
	return render(c, status, views.SettingsPasswordsPage(h.pageBase(c, "Passwords", "settings"), f))
}

// savePasswordPolicy stores the minimum length and score and logs password_policy_updated with
// the old and new values (account.SavePasswordPolicy). From the page's form (review=yes), a
// stricter rule that some passwords would not meet first shows how many, with a Confirm button
// that posts again with confirm=yes.
func (h *Handler) savePasswordPolicy(c *fiber.Ctx) error {
	length := int(formInt(c.FormValue("minimum_password_length")))
	score := int(formInt(c.FormValue("minimum_strength_score")))
	if c.FormValue("review") == "yes" && c.FormValue("confirm") != "yes" {
		n, err := h.Account.PasswordPolicyPreview(c.UserContext(), length, score)
		if err != nil {
			return err
		}
		if n > 0 {
			preview := &views.PasswordPolicyPreview{MinLength: length, MinScore: score, Weaker: n}
			return h.renderPasswordSettings(c, fiber.StatusOK, views.PasswordSettingsForm{MinLength: length, MinScore: score, Preview: preview})
		}
	}
	err := h.Account.SavePasswordPolicy(c.UserContext(), *currentUser(c), length, score, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		return h.renderPasswordSettings(c, fiber.StatusUnprocessableEntity, views.PasswordSettingsForm{MinLength: length, MinScore: score, Error: problems[0]})
	}
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/passwords?notice=saved")
}
