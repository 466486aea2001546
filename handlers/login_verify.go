package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// renderVerify is the second-factor step's page, offering the methods this sign-in may use.
func (h *Handler) renderVerify(c *fiber.Ctx, status int, u store.User, st auth.SignInState, errMsg, notice string) error {
	f := views.VerifyForm{Email: u.Email, Error: errMsg, Notice: notice}
	f.Offer(auth.SecondFactorMethods(st))
	return render(c, status, views.LoginVerifyPage(h.pageBase(c, f.Title(), ""), f))
}

// atStep loads the sign-in in progress if it is at step. ok is false when the response was
// already written: no sign-in (back to /login), or it is at another step (taken there).
func (h *Handler) atStep(c *fiber.Ctx, step auth.Step) (r signin.Result, ok bool, err error) {
	r, err = h.SignIn.Load(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))
	if err == nil && r.Next != step {
		err = signin.ErrNotAtStep
	}
	if err != nil {
		return r, false, h.respond(c, r, err)
	}
	return r, true, nil
}

// showLoginVerify renders the second-factor step of the sign-in in progress with the methods
// this user may use.
func (h *Handler) showLoginVerify(c *fiber.Ctx) error {
	r, ok, err := h.atStep(c, auth.StepSecondFactor)
	if !ok || err != nil {
		return err
	}
	sent := c.Query("sent")
	return h.renderVerify(c, fiber.StatusOK, r.User, r.State, views.VerifyErrors.Notice(sent), views.VerifyNotices.Notice(sent))
}

// submitLoginVerify checks a second-factor code (signin.VerifyCode): an e-mail code, TOTP or a
// backup code, whichever the form's method names.
func (h *Handler) submitLoginVerify(c *fiber.Ctx) error {
	r, err := h.SignIn.VerifyCode(c.UserContext(), h.client(c), auth.Method(c.FormValue("method")), c.FormValue("code"))
	if status, msgs, ok := formProblems(err); ok && !errors.Is(err, signin.ErrNoSignIn) {
		return h.renderVerify(c, status, r.User, r.State, msgs[0], "")
	}
	return h.respond(c, r, err)
}

// resendLoginCode mails a new code: at most 3 times in 5 minutes (throttle.CodeMails).
func (h *Handler) resendLoginCode(c *fiber.Ctx) error {
	r, err := h.SignIn.ResendCode(c.UserContext(), h.client(c))
	if err != nil {
		return h.respond(c, r, err)
	}
	switch r.Mail {
	case signin.MailLimited:
		return h.renderVerify(c, fiber.StatusTooManyRequests, r.User, r.State, views.VerifyErrors.Notice("limited"), "")
	case signin.MailFailed:
		return redirect(c, "/login/verify?sent=0")
	case signin.MailSent:
		return redirect(c, "/login/verify?sent=1")
	}
	return redirect(c, "/login/verify")
}
