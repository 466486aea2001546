package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
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

// requestPasswordReset answers every address the same, at once (account.RequestReset mails a
// link in the background, for an active account only), so neither the page nor its time says
// whether the address has an account. Requests are throttled per address and per IP.
func (h *Handler) requestPasswordReset(c *fiber.Ctx) error {
	email := store.NormalizeEmail(c.FormValue("email"))
	page := func(status int, notice, errMsg string) error {
		return render(c, status, views.ForgotPasswordPage(h.pageBase(c, "Forgot password", ""), email, notice, errMsg))
	}
	err := h.Account.RequestReset(c.UserContext(), email, h.requestOrigin(c))
	if status, msgs, ok := formProblems(err); ok {
		return page(status, "", msgs[0]) // throttled, or not an address
	}
	if err != nil {
		return err
	}
	return page(fiber.StatusOK, forgotAnswer, "")
}

// resetLinkError answers a reset link that does not work (404 page); an IP that posted too
// many of those gets 429 (answers).
func (h *Handler) resetLinkError(c *fiber.Ctx, err error) error {
	if errors.Is(err, account.ErrInvalidLink) {
		return render(c, fiber.StatusNotFound, views.PasswordResetInvalidPage(h.pageBase(c, "Reset link not valid", "")))
	}
	return err
}

func (h *Handler) renderResetLink(c *fiber.Ctx, status int, token string, u store.User, errs []string) error {
	f, err := h.newPasswordForm(c, u, token, errs)
	if err != nil {
		return err
	}
	return render(c, status, views.PasswordResetPage(h.pageBase(c, "Choose a new password", ""), f))
}

// showPasswordReset is the reset link's page.
func (h *Handler) showPasswordReset(c *fiber.Ctx) error {
	token := c.Params("token")
	u, err := h.Account.OpenResetLink(c.UserContext(), token, h.clientIP(c))
	if err != nil {
		return h.resetLinkError(c, err)
	}
	return h.renderResetLink(c, fiber.StatusOK, token, u, nil)
}

// submitPasswordReset sets the new password with the link (account.ResetWithLink: the link and
// every other of the user is used up, their other sessions and sign-ins end); then the user
// signs in normally, second factor included. This browser's session stays if it is the user's.
func (h *Handler) submitPasswordReset(c *fiber.Ctx) error {
	token := c.Params("token")
	var signedIn int64
	if cur := currentUser(c); cur != nil {
		signedIn = cur.ID
	}
	session := sessionHash(c)
	r, err := h.Account.ResetWithLink(c.UserContext(), token, c.FormValue("new_password"), c.FormValue("confirm_password"), signedIn, session, h.requestOrigin(c))
	problems, refused := refusedForm(err)
	switch {
	case refused:
		return h.renderResetLink(c, fiber.StatusUnprocessableEntity, token, r.User, problems)
	case err != nil:
		return h.resetLinkError(c, err)
	case r.Kept:
		return redirect(c, "/dashboard")
	}
	return redirect(c, "/login?notice=password_reset")
}
