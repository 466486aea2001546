package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// loginNotices are the fixed messages /login may show; the query names one, never the text.
var loginNotices = map[string]string{
	"signed_out": "You have signed out.",
	"expired":    "Your sign-in expired or was finished elsewhere. Please start again.",
	"setup_done": "Your super admin account is ready. Sign in to continue.",
	// reset_required: the session ended because an admin (or the breach check) requires a new password.
	"reset_required": "You have been signed out: you must choose a new password. Sign in to set it.",
	// password_reset: the self-service reset link set a new password.
	"password_reset": "Your new password is set. Sign in with it.",
}

// maxPasswordInput bounds what a sign-in hashes, whatever was posted.
const maxPasswordInput = 1024

// maxEmailLength is the longest e-mail address (RFC 5321's path limit).
const maxEmailLength = 254

// home sends visitors to their dashboard or to sign in.
func (h *Handler) home(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return redirect(c, "/dashboard")
	}
	return redirect(c, "/login")
}

// showLogin renders the first sign-in step.
func (h *Handler) showLogin(c *fiber.Ctx) error {
	if currentUser(c) != nil {
		return redirect(c, "/dashboard")
	}
	if step := h.pendingStep(c); step != "" {
		return redirect(c, step) // leaving and coming back resumes enrollment or the new password
	}
	return render(c, fiber.StatusOK, views.LoginPage(h.pageBase(c, "Sign in", ""), views.LoginForm{Notice: loginNotices[c.Query("notice")]}))
}

// submitLogin checks the throttle, then the password (an unknown address costs the same time as a
// wrong password), records the attempt, and starts the sign-in's next step.
func (h *Handler) submitLogin(c *fiber.Ctx) error {
	ctx := c.UserContext()
	email := store.NormalizeEmail(c.FormValue("email"))
	password := c.FormValue("password")
	form := views.LoginForm{Email: email}
	fail := func(status int, msg string) error {
		form.Error = msg
		return render(c, status, views.LoginPage(h.pageBase(c, "Sign in", ""), form))
	}
	if email == "" || password == "" {
		return fail(fiber.StatusUnprocessableEntity, "Enter your email and password.")
	}
	if len(email) > maxEmailLength {
		// No address is this long: nothing is hashed, counted or logged for it, so nobody can
		// fill the audit log with megabytes.
		return fail(fiber.StatusUnauthorized, genericFailure)
	}
	ip := h.clientIP(c)
	// Check, verify and count under the account's lock, so concurrent guesses are each counted
	// before the next is checked; released before the code is mailed. The guess is counted as
	// a failure before it is verified, so guesses at other accounts from the same IP, which
	// this lock does not hold back, count against the IP's limit at once too.
	unlock := h.limiter.Lock(throttle.EmailKey(email))
	locked := true
	release := func() {
		if locked {
			locked = false
			unlock()
		}
	}
	defer release()

	reserved, limited, err := h.limiter.Reserve(ctx, throttle.PasswordPerAccount.For(throttle.EmailKey(email)), throttle.PasswordPerIP.For(throttle.IPKey(ip)))
	if err != nil {
		return err
	}
	if limited {
		if err := h.store.AddEvent(ctx, h.event(c, store.EventLoginFailed, nil, nil, map[string]any{"email": email, "reason": "throttled"})); err != nil {
			return err
		}
		return fail(fiber.StatusTooManyRequests, throttledMessage)
	}

	u, err := h.store.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if len(password) > maxPasswordInput {
		password = password[:maxPasswordInput] // still hashed, so it costs the same; it cannot match
		u.PasswordHash = ""
	}
	ok, rehash, err := h.hasher.Verify(ctx, u.PasswordHash, password)
	if err != nil {
		// Not checked (ErrBusy becomes 503 with Retry-After): not a guess either.
		if derr := h.limiter.Drop(ctx, reserved); derr != nil {
			h.log.Warn("drop reserved attempt", "err", derr)
		}
		return err
	}

	reason := ""
	switch {
	case !known:
		reason = "unknown_email"
	case !ok:
		reason = "wrong_password"
	case !u.Active():
		reason = "inactive"
	}
	if reason != "" {
		var subject *int64
		if known {
			subject = ptr(u.ID)
		}
		// The attempt was counted when it was reserved; what is left is its event.
		err := h.store.AddEvent(ctx, h.event(c, store.EventLoginFailed, nil, subject, map[string]any{"email": email, "reason": reason, "step": "password"}))
		if err != nil {
			return err
		}
		return fail(fiber.StatusUnauthorized, genericFailure)
	}

	if err := h.limiter.SettleNow(ctx, reserved); err != nil {
		return err
	}
	release()
	if rehash {
		u.PasswordHash = h.rehashPassword(c, u, password)
	}
	if h.hibp != nil && !u.HasBreachFingerprint {
		// Only for a password set before fingerprints were kept: no write on every sign-in.
		prefix, mac := h.keys.BreachFingerprint(password)
		if err := h.store.BackfillBreachFingerprint(ctx, u.ID, u.PasswordHash, prefix, mac); err != nil {
			h.log.Warn("breach fingerprint not stored", "user_id", u.ID, "err", err)
		}
	}
	si, err := h.startSignIn(c, u, "", auth.StepPassword)
	if err != nil {
		return err
	}
	return h.beginSecondFactor(c, si, u)
}

// rehashPassword replaces a hash made with weaker parameters. It is best effort: a busy pool or a
// failed write leaves the old hash, which still works, for the next sign-in. It returns the hash
// now stored.
func (h *Handler) rehashPassword(c *fiber.Ctx, u store.User, password string) string {
	hash, err := h.hasher.Hash(c.UserContext(), password)
	if err == nil {
		err = h.store.SetPasswordHash(c.UserContext(), u.ID, hash, h.now())
	}
	if err != nil {
		h.log.Warn("password rehash skipped", "user_id", u.ID, "err", err)
		return u.PasswordHash
	}
	return hash
}

// logout ends this browser's session, and any sign-in it has in progress ("Cancel and sign out"
// during enrollment), on the server and not only in the cookies.
func (h *Handler) logout(c *fiber.Ctx) error {
	if token := c.Cookies(h.cookieName(signinCookie)); token != "" {
		err := h.store.DeleteSignIn(c.UserContext(), h.keys.HashToken("signin", token))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	u := currentUser(c)
	idHash, _ := c.Locals(localSession).([]byte)
	if u != nil && idHash != nil {
		ctx := c.UserContext()
		err := h.store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.DeleteSession(ctx, idHash); err != nil {
				return err
			}
			return tx.AddEvent(ctx, h.event(c, store.EventUserSignedOut, ptr(u.ID), ptr(u.ID), nil))
		})
		if err != nil {
			return err
		}
	}
	h.clearCookie(c, sessionCookie)
	h.clearCookie(c, signinCookie)
	h.clearCookie(c, returnCookie) // an application's request waiting for a sign-in is dropped too
	return redirect(c, "/login?notice=signed_out")
}
