package handlers

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// forgotAnswer is the one answer to a "forgot password" request, whether or not an account
// exists for the address.
const forgotAnswer = "If an account exists for that address, we sent a link to choose a new password. It works once, for 30 minutes."

// showForgotPassword is "Forgot password?": ask for the address.
func (h *Handler) showForgotPassword(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.ForgotPasswordPage(h.pageBase(c, "Forgot password", ""), "", "", ""))
}

// requestPasswordReset answers every address the same, at once, and then, for an active
// account, stores a single-use link valid 30 minutes (its token only as a keyed hash), logs
// password_reset_requested and mails the link (sendPasswordReset). Requests are throttled per
// address (known or not) and per IP. Nothing about the account is looked at before the answer,
// so neither its content nor its time says whether the address has one.
func (h *Handler) requestPasswordReset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	email := store.NormalizeEmail(c.FormValue("email"))
	page := func(status int, notice, errMsg string) error {
		return render(c, status, views.ForgotPasswordPage(h.pageBase(c, "Forgot password", ""), email, notice, errMsg))
	}
	if addr, err := netmail.ParseAddress(email); err != nil || addr.Address != email || len(email) > maxEmailLength {
		return page(fiber.StatusUnprocessableEntity, "", "Enter a valid email address.")
	}
	ip := h.clientIP(c)
	defer h.limiter.Lock(throttle.EmailKey(email))()
	allowed, err := h.limiter.Take(ctx, throttle.ResetRequestsPerAccount.For(throttle.EmailKey(email)), throttle.ResetRequestsPerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if !allowed {
		return page(fiber.StatusTooManyRequests, "", throttledMessage)
	}
	// Whether the address has an account is decided after the answer, so the time to answer
	// does not tell (the request's own details are read now: c is not usable afterwards).
	ev := h.event(c, store.EventPasswordResetRequested, nil, nil, nil)
	go h.sendPasswordReset(email, ev)
	return page(fiber.StatusOK, forgotAnswer, "")
}

// sendPasswordReset, after the answer, stores a link for the active account of email, if there
// is one, logs password_reset_requested (ev, with the user filled in) and mails the link.
// Deactivated users get no link.
func (h *Handler) sendPasswordReset(email string, ev store.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u, err := h.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.Active()) {
		return
	}
	if err != nil {
		h.log.Error("password reset request", "err", err)
		return
	}
	token := auth.NewToken()
	now := h.now()
	ev.UserID = ptr(u.ID)
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreatePasswordReset(ctx, h.keys.HashToken("password_reset", token), u.ID, now, now.Add(auth.PasswordResetTTL)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, ev)
	})
	if err != nil {
		h.log.Error("password reset request", "user_id", u.ID, "err", err)
		return
	}
	msg := passwordResetMail(u, strings.TrimRight(h.base.String(), "/")+"/password/reset/"+token)
	if err := h.mailer.Send(ctx, msg); err != nil {
		h.log.Warn("password reset email not sent", "user_id", u.ID, "err", err)
	}
}

// passwordResetMail carries a self-service reset link.
func passwordResetMail(u store.User, link string) mail.Message {
	intro := fmt.Sprintf("Hello %s,\n\n"+
		"Someone, probably you, asked to reset the password of your weftid account (%s). "+
		"Choose a new password with the link below. It works once, for 30 minutes.\n\n"+
		"If you did not ask for this, ignore this email: your password has not changed.",
		views.DisplayName(u), u.Email)
	return mail.Generic(u.Email, "Reset your weftid password", intro, "Choose a new password", link)
}

// resetLinkUser is the active user of a stored, unexpired reset link, or ErrNotFound.
func (h *Handler) resetLinkUser(ctx context.Context, token string) (store.User, error) {
	return h.linkUser(ctx, "password_reset", token, h.store.PasswordResetUser)
}

// resetLinkInvalid answers a link that does not work, and counts it against the IP.
func (h *Handler) resetLinkInvalid(c *fiber.Ctx) error {
	if err := h.store.RecordAttempt(c.UserContext(), store.AttemptResetLink, []string{throttle.IPKey(h.clientIP(c))}, false, h.now()); err != nil {
		return err
	}
	return render(c, fiber.StatusNotFound, views.PasswordResetInvalidPage(h.pageBase(c, "Reset link not valid", "")))
}

// resetLinkThrottled reports whether this IP posted too many links that did not work.
func (h *Handler) resetLinkThrottled(c *fiber.Ctx) (bool, error) {
	n, err := h.store.CountFailures(c.UserContext(), store.AttemptResetLink, throttle.IPKey(h.clientIP(c)),
		throttle.WindowStart(h.now(), throttle.ResetLinkPerIP.Window()), false)
	return n >= throttle.ResetLinkPerIP.Max(), err
}

func (h *Handler) renderResetLink(c *fiber.Ctx, status int, token string, u store.User, errs []string) error {
	policy, err := h.passwordPolicy(c.UserContext())
	if err != nil {
		return err
	}
	f := views.NewPasswordForm{Email: u.Email, Token: token, Errors: errs, MinLen: policy.MinLengthFor(subjectOf(u)),
		Check: auth.CheckPassword("", subjectOf(u), policy)}
	return render(c, status, views.PasswordResetPage(h.pageBase(c, "Choose a new password", ""), f))
}

// showPasswordReset is the reset link's page.
func (h *Handler) showPasswordReset(c *fiber.Ctx) error {
	if limited, err := h.resetLinkThrottled(c); err != nil || limited {
		return errors.Join(err, fiber.ErrTooManyRequests)
	}
	token := c.Params("token")
	u, err := h.resetLinkUser(c.UserContext(), token)
	if errors.Is(err, store.ErrNotFound) {
		return h.resetLinkInvalid(c)
	}
	if err != nil {
		return err
	}
	return h.renderResetLink(c, fiber.StatusOK, token, u, nil)
}

// submitPasswordReset sets the new password under the one rule, uses the link up (and every
// other link of the user), ends the user's other sessions and sign-ins in progress, and logs
// password_self_reset_completed; then the user signs in normally, second factor included.
func (h *Handler) submitPasswordReset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if limited, err := h.resetLinkThrottled(c); err != nil || limited {
		return errors.Join(err, fiber.ErrTooManyRequests)
	}
	token := c.Params("token")
	u, err := h.resetLinkUser(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return h.resetLinkInvalid(c)
	}
	if err != nil {
		return err
	}
	policy, err := h.passwordPolicy(ctx)
	if err != nil {
		return err
	}
	next := c.FormValue("new_password")
	errs := newPasswordProblems(next, c.FormValue("confirm_password"), auth.CheckPassword(next, subjectOf(u), policy))
	if u.PasswordResetRequired {
		// The link clears a forced reset's flag too: it must not keep the password it is about.
		if errs, err = h.unlessSameAsCurrent(c, u, next, errs); err != nil {
			return err
		}
	}
	errs, verdict := h.breach.Screen(ctx, next, errs)
	if len(errs) > 0 {
		return h.renderResetLink(c, fiber.StatusUnprocessableEntity, token, u, errs)
	}
	hash, err := h.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	// This browser's session stays if it is the same user's: "other sessions" end.
	var keep []byte
	if cur := currentUser(c); cur != nil && cur.ID == u.ID {
		keep, _ = c.Locals(localSession).([]byte)
	}
	now := h.now()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		id, err := tx.ConsumePasswordReset(ctx, h.keys.HashToken("password_reset", token), now)
		if err != nil {
			return err
		}
		cur, err := tx.UserByID(ctx, id)
		if err != nil {
			return err
		}
		if cur.ID != u.ID || !cur.Active() {
			return store.ErrNotFound // deactivated since the check: the link does not work
		}
		if err := tx.SetPassword(ctx, id, breach.Record(h.keys, hash, next, subjectOf(cur), policy), now); err != nil {
			return err
		}
		if err := verdict.LogSkipped(ctx, tx, h.event(c, "", ptr(id), ptr(id), nil)); err != nil {
			return err
		}
		ended, err := endUserSessions(ctx, tx, id, keep)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventPasswordSelfResetCompleted, ptr(id), ptr(id), map[string]any{"other_sessions_ended": ended}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return h.resetLinkInvalid(c) // used up by a request that got there first
	}
	if err != nil {
		return fmt.Errorf("password reset: %w", err)
	}
	if keep != nil {
		return redirect(c, "/dashboard")
	}
	return redirect(c, "/login?notice=password_reset")
}
