package handlers

import (
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

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
	return render(c, fiber.StatusOK, views.LoginPage(h.pageBase(c, "Sign in", ""), views.LoginForm{Notice: views.LoginNotices.Notice(c.Query("notice")), Email: h.setupEmail(c)}))
}

// submitLogin is the password step (signin.Password), then the sign-in's next step.
func (h *Handler) submitLogin(c *fiber.Ctx) error {
	email := c.FormValue("email")
	r, err := h.SignIn.Password(c.UserContext(), h.client(c), email, c.FormValue("password"))
	if status, msgs, ok := formProblems(err); ok {
		form := views.LoginForm{Email: store.NormalizeEmail(email), Error: msgs[0]}
		return render(c, status, views.LoginPage(h.pageBase(c, "Sign in", ""), form))
	}
	return h.respond(c, r, err)
}

// logout ends this browser's session, and any sign-in it has in progress ("Cancel and sign out"
// during enrollment), on the server and not only in the cookies.
func (h *Handler) logout(c *fiber.Ctx) error {
	idHash := sessionHash(c)
	if err := h.SignIn.Logout(c.UserContext(), h.client(c), currentUser(c), idHash); err != nil {
		return err
	}
	h.clearCookie(c, sessionCookie)
	h.clearCookie(c, signinCookie)
	h.clearCookie(c, returnCookie) // an application's request waiting for a sign-in is dropped too
	// The SAML applications that took part in the session are told, one after another.
	step, err := h.SAML.BeginLogout(c.UserContext(), currentUser(c), idHash, h.requestOrigin(c), "")
	if err != nil {
		return err
	}
	return h.samlLogoutStep(c, step)
}
