package handlers

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showSetup renders the first super admin's form for a valid setup link.
func (h *Handler) showSetup(c *fiber.Ctx) error {
	token := c.Query("token")
	ok, err := h.Account.SetupTokenValid(c.UserContext(), token)
	if err != nil {
		return err
	}
	if !ok {
		return account.ErrInvalidSetupLink // wrong, used or expired
	}
	return render(c, fiber.StatusOK, views.SetupPage(h.pageBase(c, "Set up weftid", ""), h.setupForm(c.UserContext(), token, "", "", nil)))
}

// setupForm fills the setup page, its meter showing the empty verdict of a new or refused form.
func (h *Handler) setupForm(ctx context.Context, token, name, email string, problems []string) views.SetupForm {
	minLen, check, _ := h.Account.EmptyForm(ctx, account.SetupSubject(email, name)) // an unreadable policy shows the zero rule
	return views.SetupForm{Token: token, Name: name, Email: email, Errors: problems, MinLen: minLen, Check: check}
}

// submitSetup creates the first super admin and uses up the link, in one transaction
// (account.CreateFirstSuperAdmin).
func (h *Handler) submitSetup(c *fiber.Ctx) error {
	in := account.FirstSuperAdmin{
		Token:    c.FormValue("token"),
		Email:    c.FormValue("email"),
		Name:     c.FormValue("name"),
		Password: c.FormValue("new_password"),
		Confirm:  c.FormValue("confirm_password"),
	}
	_, err := h.Account.CreateFirstSuperAdmin(c.UserContext(), in, h.requestOrigin(c))
	if problems, ok := refusedForm(err); ok {
		subject := account.SetupSubject(in.Email, in.Name)
		form := h.setupForm(c.UserContext(), in.Token, subject.Name, subject.Email, problems)
		return render(c, fiber.StatusUnprocessableEntity, views.SetupPage(h.pageBase(c, "Set up weftid", ""), form))
	}
	if err != nil {
		return fmt.Errorf("setup: %w", err) // throttled, a link that does not work (answers)
	}
	// /login fills the address in: the first sign-in follows at once.
	h.setCookie(c, setupEmailCookie, url.QueryEscape(store.NormalizeEmail(in.Email)), h.now().Add(10*time.Minute))
	return redirect(c, "/login?notice=setup_done")
}

// setupEmailCookie carries the first super admin's address from setup to the sign-in page.
const setupEmailCookie = "weftid_setup_email"

// setupEmail is the address setup left for /login to fill in ("" when none), used up once read.
func (h *Handler) setupEmail(c *fiber.Ctx) string {
	raw := c.Cookies(h.cookieName(setupEmailCookie))
	if raw != "" {
		h.clearCookie(c, setupEmailCookie)
	}
	email, _ := url.QueryUnescape(raw) // "" when malformed
	return store.NormalizeEmail(email)
}
