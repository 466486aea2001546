package handlers

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/account"
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
// the password is for. That is the invited user on an invitation's page, else the signed-in
// user, else the user of the sign-in in progress, else (on the setup page) a super admin with
// the posted address and name. The password is neither logged nor stored.
func (h *Handler) passwordStrength(c *fiber.Ctx) error {
	ctx := c.UserContext()
	password := c.FormValue("password")
	if password == "" {
		password = c.FormValue("new_password")
	}
	policy, err := h.account.Policy(ctx)
	if err != nil {
		return err
	}
	var subject auth.PasswordSubject
	// The invitation page posts its token: its password is for the invited user, even in a
	// browser where someone else is signed in.
	if u, err := h.account.InvitedUser(ctx, c.FormValue("invite")); err == nil {
		subject = account.Subject(u)
	} else if u, err := h.account.ResetLinkUser(ctx, c.FormValue("reset")); err == nil {
		subject = account.Subject(u) // the reset link's page posts its token, as the invitation's does
	} else if u := currentUser(c); u != nil {
		subject = account.Subject(*u)
	} else if _, u, err := h.currentSignIn(c); err == nil {
		subject = account.Subject(u)
	} else if ok, err := h.account.SetupTokenValid(ctx, c.FormValue("token")); err == nil && ok {
		subject = auth.PasswordSubject{Email: c.FormValue("email"), Name: c.FormValue("name"), SuperAdmin: true}
	}
	return render(c, fiber.StatusOK, views.StrengthMeter(auth.CheckPassword(password, subject, policy)))
}

// showSettingsPasswords is Settings > Security > Passwords (super admins).
func (h *Handler) showSettingsPasswords(c *fiber.Ctx) error {
	s, err := h.account.Settings(c.UserContext())
	if err != nil {
		return err
	}
	f := views.PasswordSettingsForm{MinLength: s.MinimumPasswordLength, MinScore: s.MinimumStrengthScore}
	switch c.Query("notice") {
	case "saved":
		f.Notice = "Saved. The new requirements apply to every password set from now on."
	case "resets_required":
		f.Notice = fmt.Sprintf("%d %s must choose a new password at their next sign-in.", formInt(c.Query("n")), views.Plural(int(formInt(c.Query("n"))), "user", "users"))
	}
	if f.Weaker, err = h.account.WeakerPasswords(c.UserContext(), s); err != nil {
		return err
	}
	if f.Breach, err = h.breachStatus(c); err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SettingsPasswordsPage(h.pageBase(c, "Passwords", "settings"), f))
}

// savePasswordPolicy stores the minimum length and score and logs password_policy_updated with
// the old and new values (account.SavePasswordPolicy).
func (h *Handler) savePasswordPolicy(c *fiber.Ctx) error {
	length := int(formInt(c.FormValue("minimum_password_length")))
	score := int(formInt(c.FormValue("minimum_strength_score")))
	err := h.account.SavePasswordPolicy(c.UserContext(), *currentUser(c), length, score, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		f := views.PasswordSettingsForm{MinLength: length, MinScore: score, Error: problems[0]}
		f.Breach, _ = h.breachStatus(c)
		return render(c, fiber.StatusUnprocessableEntity, views.SettingsPasswordsPage(h.pageBase(c, "Passwords", "settings"), f))
	}
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/passwords?notice=saved")
}
