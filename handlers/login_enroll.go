package handlers

import (
	"errors"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// renderEnroll renders a path of the enrollment page: alone for htmx, inside the page otherwise.
func (h *Handler) renderEnroll(c *fiber.Ctx, status int, path templ.Component) error {
	page := views.EnrollPage(h.pageBase(c, "Set up two-step verification", ""), path)
	if path == nil {
		return render(c, status, page)
	}
	return renderPart(c, status, page, path)
}

// showEnroll is the enrollment step of a sign-in under Enhanced: "Register a passkey" and
// "Set up TOTP"; ?path=passkey opens the passkey path.
func (h *Handler) showEnroll(c *fiber.Ctx) error {
	_, _, _, ok, err := h.atStep(c, auth.StepEnroll)
	if !ok || err != nil {
		return err
	}
	var path templ.Component
	if c.Query("path") == "passkey" {
		path = views.EnrollPasskeyPath(h.pageBase(c, "", "").CSRF)
	}
	return h.renderEnroll(c, fiber.StatusOK, path)
}

// enrollSecret is the TOTP secret this sign-in is enrolling: made and sealed on its first visit
// and kept on the sign-in (never on the user, where another sign-in could read or plant it), so a
// reload shows the same QR code.
func (h *Handler) enrollSecret(c *fiber.Ctx, si store.SignIn, u store.User) (string, error) {
	context := totpContext(u.ID) + ":signin"
	if len(si.TOTPPending) > 0 {
		secret, err := h.keys.Open(si.TOTPPending, context)
		return string(secret), err
	}
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		return "", err
	}
	sealed, err := h.keys.Seal([]byte(secret), context)
	if err != nil {
		return "", err
	}
	if err := h.store.SetSignInTOTP(c.UserContext(), si.IDHash, sealed); err != nil {
		return "", err
	}
	return secret, nil
}

// showEnrollTOTP is the TOTP path: the sign-in's secret and the form for its first code.
func (h *Handler) showEnrollTOTP(c *fiber.Ctx) error {
	si, u, _, ok, err := h.atStep(c, auth.StepEnroll)
	if !ok || err != nil {
		return err
	}
	secret, err := h.enrollSecret(c, si, u)
	if err != nil {
		return err
	}
	return h.renderEnrollTOTP(c, fiber.StatusOK, u, secret, "")
}

func (h *Handler) renderEnrollTOTP(c *fiber.Ctx, status int, u store.User, secret, errMsg string) error {
	_, qr, err := auth.TOTPQRCode(auth.ProductName, u.Email, secret)
	if err != nil {
		return err
	}
	return h.renderEnroll(c, status, views.EnrollTOTPPath(h.pageBase(c, "", "").CSRF, qr, secret, errMsg))
}

// confirmEnrollTOTP turns the sign-in's secret on with its first code, which enrolls the user
// (user_enhanced_auth_enrolled) and finishes the sign-in; the backup codes are shown once.
func (h *Handler) confirmEnrollTOTP(c *fiber.Ctx) error {
	si, u, _, ok, err := h.atStep(c, auth.StepEnroll)
	if !ok || err != nil {
		return err
	}
	if len(si.TOTPPending) == 0 {
		return redirect(c, "/login/enroll/totp")
	}
	secret, err := h.enrollSecret(c, si, u)
	if err != nil {
		return err
	}
	codes, responded, err := h.enableTOTP(c, u, secret, true, func(status int, msg string) error {
		return h.renderEnrollTOTP(c, status, u, secret, msg)
	})
	if responded || err != nil {
		return err
	}
	if err := h.store.MarkSignInStep(c.UserContext(), si.IDHash, stepEnrolled); err != nil {
		return err
	}
	si.StepsDone = append(si.StepsDone, stepEnrolled)
	next, err := h.nextLocation(c, si, u, "password+email_code+enrolled_totp")
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", ""), codes, next))
}

// beginEnrollPasskey starts registering a passkey for the user of the sign-in.
func (h *Handler) beginEnrollPasskey(c *fiber.Ctx) error {
	_, u, err := h.currentSignIn(c)
	if err != nil || !h.pendingEnrollment(c) {
		return jsonError(c, fiber.StatusBadRequest, "Your sign-in expired. Please start again.")
	}
	return h.beginRegistration(c, u)
}

// finishEnrollPasskey stores the new passkey, which enrolls the user
// (user_enhanced_auth_enrolled) and finishes the sign-in.
func (h *Handler) finishEnrollPasskey(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	si, u, err := h.currentSignIn(c)
	if err != nil || !h.pendingEnrollment(c) {
		return jsonError(c, fiber.StatusBadRequest, "Your sign-in expired. Please start again.")
	}
	if ok, err := h.registerPasskey(c, u); !ok || err != nil {
		return err
	}
	if err := h.store.AddEvent(c.UserContext(), h.event(c, store.EventUserEnhancedAuthEnrolled, ptr(u.ID), ptr(u.ID), map[string]any{"method": "passkey"})); err != nil {
		return err
	}
	if err := h.store.MarkSignInStep(c.UserContext(), si.IDHash, stepEnrolled); err != nil {
		return err
	}
	si.StepsDone = append(si.StepsDone, stepEnrolled)
	next, err := h.nextLocation(c, si, u, "password+email_code+enrolled_passkey")
	if errors.Is(err, store.ErrNotFound) {
		return jsonError(c, fiber.StatusBadRequest, "Your sign-in expired. Please start again.")
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"redirect": next})
}
