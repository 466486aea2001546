package handlers

import (
	"crypto/hmac"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// Messages of the second-factor page.
const (
	codeFailure      = "That code is incorrect or has expired. Check your latest email, or send a new code."
	codeTooManyTries = "Too many wrong codes. Send a new code to try again."
	sendFailure      = "We could not send the code, try again."
	resendLimited    = "You can ask for a new code 3 times in 5 minutes. Wait a few minutes, or use the latest code we sent."
)

func (h *Handler) renderVerify(c *fiber.Ctx, status int, u store.User, errMsg, notice string) error {
	return render(c, status, views.LoginVerifyPage(h.pageBase(c, "Check your email", ""),
		views.VerifyForm{Email: u.Email, Error: errMsg, Notice: notice}))
}

// showLoginVerify renders the second-factor step of the sign-in in progress.
func (h *Handler) showLoginVerify(c *fiber.Ctx) error {
	si, u, err := h.currentSignIn(c)
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	if auth.NextStep(signInState(si)) != auth.StepSecondFactor {
		return h.advance(c, si, u, "")
	}
	errMsg, notice := "", ""
	switch c.Query("sent") {
	case "0":
		errMsg = sendFailure
	case "1":
		notice = "We sent a new code."
	case "limited":
		errMsg = resendLimited
	}
	return h.renderVerify(c, fiber.StatusOK, u, errMsg, notice)
}

// submitLoginVerify checks an e-mail code: throttle first, then the code's hash, expiry and tries;
// a right code is consumed atomically, so it works once.
func (h *Handler) submitLoginVerify(c *fiber.Ctx) error {
	ctx := c.UserContext()
	si, u, err := h.currentSignIn(c)
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	if auth.NextStep(signInState(si)) != auth.StepSecondFactor {
		return h.advance(c, si, u, "")
	}
	ip := h.clientIP(c)
	limited, err := h.throttled(ctx, store.AttemptCode, userKey(u.ID), auth.CodeFailuresPerUser, ipKey(ip), auth.CodeFailuresPerIP)
	if err != nil {
		return err
	}
	if limited {
		if err := h.store.AddEvent(ctx, h.event(c, "login_failed", nil, ptr(u.ID), map[string]any{"step": "email_code", "reason": "throttled"})); err != nil {
			return err
		}
		return h.renderVerify(c, fiber.StatusTooManyRequests, u, throttledMessage, "")
	}

	now := h.now()
	code := auth.NormalizeCode(c.FormValue("code"))
	method := c.FormValue("method")
	keys := []string{userKey(u.ID), ipKey(ip)}

	// fail records the wrong guess against the code, the user and the IP.
	fail := func(reason string, codeID int64) error {
		msg := codeFailure
		err := h.store.InTx(ctx, func(tx *store.Tx) error {
			if codeID != 0 {
				n, err := tx.CountEmailCodeTry(ctx, codeID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if n >= auth.EmailCodeMaxTries {
					msg = codeTooManyTries
				}
			}
			if err := tx.RecordAttempt(ctx, store.AttemptCode, keys, false, now); err != nil {
				return err
			}
			return tx.AddEvent(ctx, h.event(c, "login_failed", nil, ptr(u.ID), map[string]any{"step": "email_code", "reason": reason}))
		})
		if err != nil {
			return err
		}
		return h.renderVerify(c, fiber.StatusUnauthorized, u, msg, "")
	}

	if method != "" && method != string(auth.MethodEmail) {
		return fail("method_not_allowed", 0)
	}
	ec, err := h.store.EmailCodeForSignIn(ctx, si.IDHash)
	if errors.Is(err, store.ErrNotFound) {
		return fail("no_code", 0)
	}
	if err != nil {
		return err
	}
	switch {
	case ec.Attempts >= auth.EmailCodeMaxTries:
		return fail("too_many_tries", ec.ID)
	case !now.Before(ec.ExpiresAt):
		return fail("expired", 0)
	case len(code) != 6 || !hmac.Equal(h.keys.HashToken("email_code", code), ec.CodeHash):
		return fail("wrong_code", ec.ID)
	}

	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ConsumeEmailCode(ctx, ec.ID, now, auth.EmailCodeMaxTries); err != nil {
			return err
		}
		if err := tx.MarkSignInStep(ctx, si.IDHash, string(auth.StepSecondFactor)); err != nil {
			return err
		}
		return tx.RecordAttempt(ctx, store.AttemptCode, []string{userKey(u.ID)}, true, now)
	})
	if errors.Is(err, store.ErrNotFound) {
		return fail("reused", 0) // another request used it first
	}
	if err != nil {
		return err
	}
	si.StepsDone = append(si.StepsDone, string(auth.StepSecondFactor))
	return h.advance(c, si, u, "password+email_code")
}

// resendLoginCode mails a new code: at most 3 times in 5 minutes (auth.CodeMails).
func (h *Handler) resendLoginCode(c *fiber.Ctx) error {
	si, u, err := h.currentSignIn(c)
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	if auth.NextStep(signInState(si)) != auth.StepSecondFactor {
		return h.advance(c, si, u, "")
	}
	err = h.sendLoginCode(c, si, u, true)
	switch {
	case errors.Is(err, errCodeMailsLimited):
		return h.renderVerify(c, fiber.StatusTooManyRequests, u, resendLimited, "")
	case errors.Is(err, errSendFailed):
		return redirect(c, "/login/verify?sent=0")
	case err != nil:
		return err
	}
	return redirect(c, "/login/verify?sent=1")
}
