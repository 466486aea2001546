package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showAccountPassword is Account > Password.
func (h *Handler) showAccountPassword(c *fiber.Ctx) error {
	policy, err := h.passwordPolicy(c.UserContext())
	if err != nil {
		return err
	}
	f := views.AccountPasswordForm{Check: auth.CheckPassword("", subjectOf(*currentUser(c)), policy)}
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
	current := c.FormValue("current_password")
	next := c.FormValue("new_password")
	confirm := c.FormValue("confirm_password")
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return err
	}
	check := auth.CheckPassword(next, subjectOf(u), policy)
	// A refused form comes back with empty fields, so its meter shows the empty verdict; the
	// alert lists what was wrong with the refused password, in the meter's words.
	page := func(status int, errs ...string) error {
		f := views.AccountPasswordForm{Errors: errs, Check: auth.CheckPassword("", subjectOf(u), policy)}
		return render(c, status, views.AccountPasswordPage(h.pageBase(c, "Password", "account"), f))
	}

	defer h.limiter.Lock(throttle.EmailKey(u.Email))() // check, verify and count each guess before the next
	ip := h.clientIP(c)
	limited, err := h.limiter.Limited(ctx, throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email)), throttle.PasswordPerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if limited {
		return page(fiber.StatusTooManyRequests, throttledMessage)
	}
	if len(current) > maxPasswordInput {
		current = ""
	}
	ok, _, err := h.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	now := h.now()
	if !ok {
		err := h.failedGuess(c, h.event(c, store.EventPasswordChangeFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "wrong_current_password"}), throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email)), throttle.PasswordPerIP.For(throttle.IPKey(ip)))
		if err != nil {
			return err
		}
		return page(fiber.StatusUnprocessableEntity, "Your current password is not correct.")
	}
	// The owner proved themselves: the account's count of wrong passwords restarts, as after a sign-in.
	if err := h.store.RecordAttempt(ctx, store.AttemptPassword, []string{throttle.EmailKey(u.Email), throttle.IPKey(ip)}, true, now); err != nil {
		return err
	}

	var errs []string
	if next == current {
		errs = append(errs, msgSameAsCurrent)
	}
	errs = append(errs, newPasswordProblems(next, confirm, check)...)
	errs, verdict := h.breach.Screen(ctx, next, errs)
	if len(errs) > 0 {
		return page(fiber.StatusUnprocessableEntity, errs...)
	}

	hash, err := h.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	keep, _ := c.Locals(localSession).([]byte)
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetPassword(ctx, u.ID, breach.Record(h.keys, hash, next, subjectOf(u), policy), now); err != nil {
			return err
		}
		if err := verdict.LogSkipped(ctx, tx, h.event(c, "", ptr(u.ID), ptr(u.ID), nil)); err != nil {
			return err
		}
		// A sign-in that passed the password step with the old password must not finish either.
		ended, err := endUserSessions(ctx, tx, u.ID, keep)
		if err != nil {
			return err
		}
		if err := tx.DeletePasswordResets(ctx, u.ID); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasswordChanged, ptr(u.ID), ptr(u.ID), map[string]any{"other_sessions_ended": ended}))
	})
	if err != nil {
		return err
	}
	return redirect(c, "/account/password?notice=changed")
}
