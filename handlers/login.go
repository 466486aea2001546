package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/signin"
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

// maxPasswordInput bounds what a password check hashes, whatever was posted.
const maxPasswordInput = signin.MaxPasswordInput

// maxEmailLength is the longest e-mail address (RFC 5321's path limit).
const maxEmailLength = signin.MaxEmailLength

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

// submitLogin is the password step (signin.Password), then the sign-in's next step.
func (h *Handler) submitLogin(c *fiber.Ctx) error {
	email := c.FormValue("email")
	r, err := h.signin.Password(c.UserContext(), h.client(c), email, c.FormValue("password"))
	if status, msgs, ok := formProblems(err); ok {
		form := views.LoginForm{Email: store.NormalizeEmail(email), Error: msgs[0]}
		return render(c, status, views.LoginPage(h.pageBase(c, "Sign in", ""), form))
	}
	return h.respond(c, r, err)
}

// logout ends this browser's session, and any sign-in it has in progress ("Cancel and sign out"
// during enrollment), on the server and not only in the cookies.
func (h *Handler) logout(c *fiber.Ctx) error {
	idHash, _ := c.Locals(localSession).([]byte)
	if err := h.signin.Logout(c.UserContext(), h.client(c), currentUser(c), idHash); err != nil {
		return err
	}
	h.clearCookie(c, sessionCookie)
	h.clearCookie(c, signinCookie)
	h.clearCookie(c, returnCookie) // an application's request waiting for a sign-in is dropped too
	return redirect(c, "/login?notice=signed_out")
}
