package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
)

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
		return h.advance(c, "")
	case err != nil:
		return err
	}
	return redirect(c, h.follow(c, r))
}

// respondJSON answers a passkey call with where the browser goes next.
func (h *Handler) respondJSON(c *fiber.Ctx, r signin.Result, err error) error {
	if a, ok := answerFor(err); ok {
		return jsonError(c, a.status, a.msg)
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
	return h.SignIn.Current(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))
}

// advance takes the browser's sign-in to its next step (or, when done, to where it was going),
// reading it again (signin.Advance).
func (h *Handler) advance(c *fiber.Ctx, method string) error {
	r, err := h.SignIn.Advance(c.UserContext(), h.client(c), method)
	if errors.Is(err, signin.ErrNotAtStep) {
		return err // never from Advance: no loop
	}
	return h.respond(c, r, err)
}

// pendingStep is where a browser whose sign-in waits at a step it cannot leave goes back to:
// Enhanced enrollment, or the new password of a forced reset ("" when there is none). Every page
// that needs a session sends it there, and so does /login ("Cancel and sign out" ends it).
func (h *Handler) pendingStep(c *fiber.Ctx) string {
	return stepPaths[h.SignIn.Pending(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))]
}

// signInExpired sends a browser without a live sign-in back to the start.
func signInExpired(c *fiber.Ctx) error { return redirect(c, "/login?notice=expired") }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
