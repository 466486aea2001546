package handlers

import (
	"crypto/hmac"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// Messages of the second-factor page.
const (
	codeFailure      = "That code is incorrect or has expired. Check your latest email, or send a new code."
	codeTooManyTries = "Too many wrong codes. Send a new code to try again."
	otpFailure       = "That code is incorrect or was used already. Enter the current code from your authenticator app, or a backup code."
	sendFailure      = "We could not send the code, try again."
	resendLimited    = "You can ask for a new code 3 times in 5 minutes. Wait a few minutes, or use the latest code we sent."
)

func (h *Handler) renderVerify(c *fiber.Ctx, status int, u store.User, st auth.SignInState, errMsg, notice string) error {
	f := views.VerifyForm{Email: u.Email, Error: errMsg, Notice: notice}
	for _, m := range auth.SecondFactorMethods(st) {
		switch m {
		case auth.MethodEmail:
			f.EmailCode = true
		case auth.MethodTOTP:
			f.TOTP = true
		case auth.MethodPasskey:
			f.Passkey = true
		}
	}
	title := "Two-step verification"
	if f.EmailCode {
		title = "Check your email"
	}
	return render(c, status, views.LoginVerifyPage(h.pageBase(c, title, ""), f))
}

// atStep loads the sign-in in progress if it is at step. ok is false when the response was
// already written: no sign-in (back to /login), or it is at another step (taken there).
func (h *Handler) atStep(c *fiber.Ctx, step auth.Step) (si store.SignIn, u store.User, st auth.SignInState, ok bool, err error) {
	si, u, err = h.currentSignIn(c)
	if errors.Is(err, store.ErrNotFound) {
		return si, u, st, false, signInExpired(c)
	}
	if err != nil {
		return si, u, st, false, err
	}
	if st, err = h.signInState(c.UserContext(), si, u); err != nil {
		return si, u, st, false, err
	}
	if auth.NextStep(st) != step {
		return si, u, st, false, h.advance(c, si, u, "")
	}
	return si, u, st, true, nil
}

// showLoginVerify renders the second-factor step of the sign-in in progress with the methods
// this user may use.
func (h *Handler) showLoginVerify(c *fiber.Ctx) error {
	_, u, st, ok, err := h.atStep(c, auth.StepSecondFactor)
	if !ok || err != nil {
		return err
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
	return h.renderVerify(c, fiber.StatusOK, u, st, errMsg, notice)
}

// submitLoginVerify checks a second-factor code: throttle first, then the code for the chosen
// method (e-mail code, TOTP or backup code), which must be one this sign-in allows. A right code
// is used up atomically, so it works once.
func (h *Handler) submitLoginVerify(c *fiber.Ctx) error {
	ctx := c.UserContext()
	si, u, st, ok, err := h.atStep(c, auth.StepSecondFactor)
	if !ok || err != nil {
		return err
	}
	defer h.limiter.Lock(throttle.UserKey(u.ID))() // check, verify and count each guess before the next
	ip := h.clientIP(c)
	method := auth.Method(c.FormValue("method"))
	if method == "" {
		method = auth.MethodEmail
		if st.HasTOTP {
			method = auth.MethodTOTP
		}
	}
	limited, err := h.limiter.Limited(ctx, throttle.CodePerUser.For(throttle.UserKey(u.ID)), throttle.CodePerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if limited {
		if err := h.store.AddEvent(ctx, h.event(c, store.EventLoginFailed, nil, ptr(u.ID), map[string]any{"step": stepName(method), "reason": "throttled"})); err != nil {
			return err
		}
		return h.renderVerify(c, fiber.StatusTooManyRequests, u, st, throttledMessage, "")
	}

	now := h.now()
	keys := []string{throttle.UserKey(u.ID), throttle.IPKey(ip)}
	// fail records the wrong guess against the user and the IP (and, for an e-mail code, the code).
	fail := func(reason string, codeID int64) error {
		msg := codeFailure
		if st.HasTOTP {
			msg = otpFailure
		}
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
			return tx.AddEvent(ctx, h.event(c, store.EventLoginFailed, nil, ptr(u.ID), map[string]any{"step": stepName(method), "reason": reason}))
		})
		if err != nil {
			return err
		}
		return h.renderVerify(c, fiber.StatusUnauthorized, u, st, msg, "")
	}
	// pass marks the second factor done, with use, which consumes the code, in one transaction.
	// When use finds nothing to consume (ErrNotFound), the attempt fails with notFound.
	pass := func(use func(tx *store.Tx) error, details, notFound string) error {
		marker := stepStrongFactor
		if method == auth.MethodEmail {
			marker = stepEmailCode
		}
		err := h.store.InTx(ctx, func(tx *store.Tx) error {
			if err := use(tx); err != nil {
				return err
			}
			if err := tx.MarkSignInStep(ctx, si.IDHash, string(auth.StepSecondFactor)); err != nil {
				return err
			}
			if err := tx.MarkSignInStep(ctx, si.IDHash, marker); err != nil {
				return err
			}
			return tx.RecordAttempt(ctx, store.AttemptCode, []string{throttle.UserKey(u.ID)}, true, now)
		})
		if errors.Is(err, store.ErrNotFound) {
			return fail(notFound, 0)
		}
		if err != nil {
			return err
		}
		si.StepsDone = append(si.StepsDone, string(auth.StepSecondFactor), marker)
		return h.advance(c, si, u, details)
	}

	if method == auth.MethodPasskey || !st.Allows(method) {
		return fail("method_not_allowed", 0)
	}
	switch method {
	case auth.MethodTOTP:
		t, err := h.store.TOTPByUser(ctx, u.ID)
		if err != nil {
			return err
		}
		secret, err := h.keys.Open(t.SecretEnc, totpContext(u.ID))
		if err != nil {
			return err
		}
		step, ok := auth.CheckTOTP(string(secret), c.FormValue("code"), now, t.LastStep)
		if !ok {
			return fail("wrong_code", 0)
		}
		return pass(func(tx *store.Tx) error { return tx.UseTOTPStep(ctx, u.ID, step) }, "password+totp", "reused") // another request used it first

	case auth.MethodBackup:
		code := auth.NormalizeBackupCode(c.FormValue("code"))
		if !auth.LooksLikeBackupCode(code) {
			return fail("wrong_code", 0)
		}
		hash := h.keys.HashToken("backup_code", code)
		return pass(func(tx *store.Tx) error { return tx.ConsumeBackupCode(ctx, u.ID, hash) }, "password+backup_code", "wrong_code") // never issued, replaced or used: the store cannot tell
	}

	code := auth.NormalizeCode(c.FormValue("code"))
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
	return pass(func(tx *store.Tx) error { return tx.ConsumeEmailCode(ctx, ec.ID, now, auth.EmailCodeMaxTries) }, "password+email_code", "reused")
}

// resendLoginCode mails a new code: at most 3 times in 5 minutes (throttle.CodeMails).
func (h *Handler) resendLoginCode(c *fiber.Ctx) error {
	si, u, st, ok, err := h.atStep(c, auth.StepSecondFactor)
	if !ok || err != nil {
		return err
	}
	if !st.Allows(auth.MethodEmail) {
		return redirect(c, "/login/verify")
	}
	err = h.sendLoginCode(c, si, u, true)
	switch {
	case errors.Is(err, errCodeMailsLimited):
		return h.renderVerify(c, fiber.StatusTooManyRequests, u, st, resendLimited, "")
	case errors.Is(err, errSendFailed):
		return redirect(c, "/login/verify?sent=0")
	case err != nil:
		return err
	}
	return redirect(c, "/login/verify?sent=1")
}

// totpContext binds a sealed TOTP secret to its user, so it cannot be moved to another row.
func totpContext(userID int64) string { return "totp:" + throttle.UserKey(userID) }

// stepName names a second-factor method in login_failed events.
func stepName(m auth.Method) string {
	switch m {
	case auth.MethodEmail:
		return "email_code"
	case auth.MethodBackup:
		return "backup_code"
	case auth.MethodTOTP, auth.MethodPasskey:
		return string(m)
	}
	return "unknown" // a client's made-up method is not written into the log
}
