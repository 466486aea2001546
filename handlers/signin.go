package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// genericFailure is the one message for every failed password step: it never says whether the
// address exists, the password was wrong, or the account is inactive.
const genericFailure = "Incorrect email or password, or the account cannot sign in."

// throttledMessage answers a throttled guess. Limits are counted per address whether or not it
// has an account, so this says nothing about which addresses exist.
const throttledMessage = "Too many attempts. Wait a few minutes and try again."

// Messages of the sign-in pages.
const (
	codeFailure      = "That code is incorrect or has expired. Check your latest email, or send a new code."
	codeTooManyTries = "Too many wrong codes. Send a new code to try again."
	otpFailure       = "That code is incorrect or was used already. Enter the current code from your authenticator app, or a backup code."
	sendFailure      = "We could not send the code, try again."
	resendLimited    = "You can ask for a new code 3 times in 5 minutes. Wait a few minutes, or use the latest code we sent."
	passkeyFailure   = "That passkey could not sign you in."
	expiredMessage   = "Your sign-in expired. Please start again."
)

// signInErrors is the status and message of each error of services/signin, in one place.
var signInErrors = []struct {
	err    error
	status int
	msg    string
}{
	{signin.ErrIncomplete, fiber.StatusUnprocessableEntity, "Enter your email and password."},
	{signin.ErrFailed, fiber.StatusUnauthorized, genericFailure},
	{signin.ErrThrottled, fiber.StatusTooManyRequests, throttledMessage},
	{signin.ErrTooManyCeremonies, fiber.StatusTooManyRequests, "Too many passkey sign-ins started from this address. Wait a few minutes and try again."},
	{signin.ErrWrongCode, fiber.StatusUnauthorized, codeFailure},
	{signin.ErrWrongOTP, fiber.StatusUnauthorized, otpFailure},
	{signin.ErrTooManyTries, fiber.StatusUnauthorized, codeTooManyTries},
	{signin.ErrPasskeyFailed, fiber.StatusUnauthorized, passkeyFailure},
	{signin.ErrNoPasskey, fiber.StatusBadRequest, "You have no passkey yet."},
	{signin.ErrNoSignIn, fiber.StatusBadRequest, expiredMessage},
	{signin.ErrInvalidPassword, fiber.StatusUnprocessableEntity, ""},
}

// signInError is the status and message of a sign-in error; ok is false for any other error.
func signInError(err error) (status int, msg string, ok bool) {
	for _, e := range signInErrors {
		if errors.Is(err, e.err) {
			return e.status, e.msg, true
		}
	}
	return 0, "", false
}

// stepPaths are the pages of the steps a sign-in can wait at.
var stepPaths = map[auth.Step]string{
	auth.StepPassword:      "/login",
	auth.StepResetPassword: "/login/reset-password",
	auth.StepSecondFactor:  "/login/verify",
	auth.StepEnroll:        "/login/enroll",
}

// client is this browser as services/signin sees it: the request's origin and its cookies. A
// sign-in that starts takes the SSO request this browser was sent to sign in for.
func (h *Handler) client(c *fiber.Ctx) signin.Client {
	return signin.Client{
		Origin:   h.requestOrigin(c),
		SignIn:   c.Cookies(h.cookieName(signinCookie)),
		Session:  c.Cookies(h.cookieName(sessionCookie)),
		ReturnTo: func() string { return h.pendingReturnTo(c) },
		Device:   h.deviceToken(c),
	}
}

// follow keeps the cookies of a sign-in's result (a sign-in started, or finished with a new
// session) and returns where the browser goes.
func (h *Handler) follow(c *fiber.Ctx, r signin.Result) string {
	if r.Session != nil {
		h.clearCookie(c, signinCookie)
		h.setCookie(c, sessionCookie, r.Session.Value, r.Session.Expires)
		if r.Device != nil {
			h.setCookie(c, deviceCookie, r.Device.Value, r.Device.Expires)
		}
		return r.ReturnTo
	}
	if r.Started != nil {
		h.setCookie(c, signinCookie, r.Started.Value, r.Started.Expires)
	}
	loc := stepPaths[r.Next]
	if r.Next == auth.StepSecondFactor {
		switch r.Mail {
		case signin.MailLimited:
			loc += "?sent=limited"
		case signin.MailFailed:
			loc += "?sent=0"
		}
	}
	return loc
}

// respond redirects to where a sign-in's result goes; a sign-in that is gone starts again, one
// at another step goes there.
func (h *Handler) respond(c *fiber.Ctx, r signin.Result, err error) error {
	switch {
	case errors.Is(err, signin.ErrNoSignIn):
		return signInExpired(c)
	case errors.Is(err, signin.ErrNotAtStep):
		return h.advance(c, r.SignIn, r.User, "")
	case err != nil:
		return err
	}
	return redirect(c, h.follow(c, r))
}

// respondJSON answers a passkey call with where the browser goes next.
func (h *Handler) respondJSON(c *fiber.Ctx, r signin.Result, err error) error {
	if status, msg, ok := signInError(err); ok {
		return jsonError(c, status, msg)
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{"redirect": h.follow(c, r)})
}

// currentSignIn finds the sign-in in progress for this browser and its user, or an error
// matching store.ErrNotFound (no cookie, expired, or the user can no longer sign in).
func (h *Handler) currentSignIn(c *fiber.Ctx) (store.SignIn, store.User, error) {
	return h.signin.Current(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))
}

// advance takes the browser's sign-in to its next step (or, when done, to where it was going).
// The sign-in is read again: si and u name it for the caller.
func (h *Handler) advance(c *fiber.Ctx, _ store.SignIn, _ store.User, method string) error {
	r, err := h.signin.Advance(c.UserContext(), h.client(c), method)
	if errors.Is(err, signin.ErrNotAtStep) {
		return err // never from Advance: no loop
	}
	return h.respond(c, r, err)
}

// pendingEnrollment reports whether this browser has a sign-in waiting at the enrollment step:
// until it enrolls, every page sends it back there.
func (h *Handler) pendingEnrollment(c *fiber.Ctx) bool { return h.pendingStep(c) == "/login/enroll" }

// pendingStep is where a browser whose sign-in waits at a step it cannot leave goes back to:
// Enhanced enrollment, or the new password of a forced reset ("" when there is none). Every page
// that needs a session sends it there, and so does /login ("Cancel and sign out" ends it).
func (h *Handler) pendingStep(c *fiber.Ctx) string {
	return stepPaths[h.signin.Pending(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))]
}

// signInExpired sends a browser without a live sign-in back to the start.
func signInExpired(c *fiber.Ctx) error { return redirect(c, "/login?notice=expired") }

// failedGuess counts a wrong guess against each check and logs its event, in one transaction:
// every guess is throttled and every attempt recorded. (Account and OAuth pages use it.)
func (h *Handler) failedGuess(c *fiber.Ctx, ev store.Event, checks ...throttle.Check) error {
	ctx := c.UserContext()
	return h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := h.limiter.Fail(ctx, tx, checks...); err != nil {
			return err
		}
		return tx.AddEvent(ctx, ev)
	})
}

// totpContext binds a sealed TOTP secret to its user, so it cannot be moved to another row.
func totpContext(userID int64) string { return signin.TOTPContext(userID) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// newSignIn builds the sign-in service over this handler's dependencies; a forced reset's new
// password is the account service's to check, seal and store.
func (h *Handler) newSignIn() *signin.Service {
	return signin.New(signin.Config{
		Store: h.store, Limiter: h.limiter, Keys: h.keys, Hasher: h.hasher, Mailer: h.mailer, Log: h.log, Now: h.now,
		Fingerprints: h.hibp != nil, Accounts: h.account,
	})
}
