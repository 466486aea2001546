package handlers

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/limiter"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// passwordPolicy reads the tenant's password settings.
func (h *Handler) passwordPolicy(ctx context.Context) (auth.PasswordPolicy, error) {
	s, err := h.store.Settings(ctx)
	if err != nil {
		return auth.PasswordPolicy{}, err
	}
	return auth.PasswordPolicy{MinLength: s.MinimumPasswordLength, MinScore: s.MinimumStrengthScore}, nil
}

// subjectOf is the password subject for an account.
func subjectOf(u store.User) auth.PasswordSubject {
	return auth.PasswordSubject{Email: u.Email, Name: u.Name, SuperAdmin: u.Role == store.RoleSuperAdmin}
}

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
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return err
	}
	var subject auth.PasswordSubject
	// The invitation page posts its token: its password is for the invited user, even in a
	// browser where someone else is signed in.
	if u, err := h.invitedUser(ctx, c.FormValue("invite")); err == nil {
		subject = subjectOf(u)
	} else if u, err := h.resetLinkUser(ctx, c.FormValue("reset")); err == nil {
		subject = subjectOf(u) // the reset link's page posts its token, as the invitation's does
	} else if u := currentUser(c); u != nil {
		subject = subjectOf(*u)
	} else if _, u, err := h.currentSignIn(c); err == nil {
		subject = subjectOf(u)
	} else if ok, err := h.setupTokenValid(c, c.FormValue("token")); err == nil && ok {
		subject = auth.PasswordSubject{Email: c.FormValue("email"), Name: c.FormValue("name"), SuperAdmin: true}
	}
	return render(c, fiber.StatusOK, views.StrengthMeter(auth.CheckPassword(password, subject, policy)))
}

// showSettingsPasswords is Settings > Security > Passwords (super admins).
func (h *Handler) showSettingsPasswords(c *fiber.Ctx) error {
	s, err := h.store.Settings(c.UserContext())
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
	if f.Weaker, err = h.store.CountWeakerPasswords(c.UserContext(), currentRule(s)); err != nil {
		return err
	}
	if f.Breach, err = h.breachStatus(c); err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SettingsPasswordsPage(h.pageBase(c, "Passwords", "settings"), f))
}

// savePasswordPolicy stores the minimum length and score and logs password_policy_updated with
// the old and new values, in one transaction.
func (h *Handler) savePasswordPolicy(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := currentUser(c)
	length := int(formInt(c.FormValue("minimum_password_length")))
	score := int(formInt(c.FormValue("minimum_strength_score")))
	if !slices.Contains(auth.PasswordLengthOptions, length) || !slices.Contains(auth.StrengthScoreOptions, score) {
		f := views.PasswordSettingsForm{MinLength: length, MinScore: score,
			Error: "Choose a minimum length of 8, 10, 12, 14, 16, 18 or 20 and a score of Strong or Very strong."}
		f.Breach, _ = h.breachStatus(c)
		return render(c, fiber.StatusUnprocessableEntity, views.SettingsPasswordsPage(h.pageBase(c, "Passwords", "settings"), f))
	}
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		if old.MinimumPasswordLength == length && old.MinimumStrengthScore == score {
			return nil // nothing changed, nothing to log
		}
		if err := tx.SetPasswordPolicy(ctx, length, score, h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasswordPolicyUpdated, ptr(u.ID), nil, map[string]any{
			"old": map[string]int{"minimum_password_length": old.MinimumPasswordLength, "minimum_strength_score": old.MinimumStrengthScore},
			"new": map[string]int{"minimum_password_length": length, "minimum_strength_score": score},
		}))
	})
	if err != nil {
		return err
	}
	return redirect(c, "/settings/security/passwords?notice=saved")
}
