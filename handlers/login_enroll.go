package handlers

import (
	"errors"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/views"
)

// renderEnroll renders a path of the enrollment page: alone for htmx, inside the page otherwise.
// chosen is the path's views.EnrollChoice, which the options mark.
func (h *Handler) renderEnroll(c *fiber.Ctx, status int, chosen string, path templ.Component) error {
	page := views.EnrollPage(h.pageBase(c, "Set up two-step verification", ""), chosen, path)
	if path == nil {
		return render(c, status, page)
	}
	return renderPart(c, status, page, views.EnrollPart(chosen, path))
}

// showEnroll is the enrollment step of a sign-in under Enhanced: "Register a passkey" and
// "Set up TOTP"; ?path=passkey opens the passkey path.
func (h *Handler) showEnroll(c *fiber.Ctx) error {
	_, ok, err := h.atStep(c, auth.StepEnroll)
	if !ok || err != nil {
		return err
	}
	if c.Query("path") == views.EnrollChoicePasskey {
		return h.renderEnroll(c, fiber.StatusOK, views.EnrollChoicePasskey, views.EnrollPasskeyPath(h.pageBase(c, "", "").CSRF))
	}
	return h.renderEnroll(c, fiber.StatusOK, "", nil)
}

// enrollSecret is the TOTP secret this sign-in is enrolling (signin.TOTPSecret). ok is false when
// the response was written: no sign-in, another step, or (without create) no secret yet.
func (h *Handler) enrollSecret(c *fiber.Ctx, create bool) (e signin.Enrollment, ok bool, err error) {
	e, err = h.SignIn.TOTPSecret(c.UserContext(), h.client(c), create)
	if errors.Is(err, signin.ErrNoSecret) {
		return e, false, redirect(c, "/login/enroll/totp")
	}
	if err != nil {
		return e, false, h.respond(c, signin.Result{}, err)
	}
	return e, true, nil
}

// showEnrollTOTP is the TOTP path: the sign-in's secret and the form for its first code.
func (h *Handler) showEnrollTOTP(c *fiber.Ctx) error {
	e, ok, err := h.enrollSecret(c, true)
	if !ok || err != nil {
		return err
	}
	return h.renderEnrollTOTP(c, fiber.StatusOK, e, "")
}

func (h *Handler) renderEnrollTOTP(c *fiber.Ctx, status int, e signin.Enrollment, errMsg string) error {
	return h.renderEnroll(c, status, views.EnrollChoiceTOTP, views.EnrollTOTPPath(h.pageBase(c, "", "").CSRF, e.QR, e.Secret, errMsg))
}

// confirmEnrollTOTP turns the sign-in's secret on with its first code, which enrolls the user
// (user_enhanced_auth_enrolled) and finishes the sign-in; the backup codes are shown once.
func (h *Handler) confirmEnrollTOTP(c *fiber.Ctx) error {
	e, ok, err := h.enrollSecret(c, false)
	if !ok || err != nil {
		return err
	}
	codes, responded, err := h.enableTOTP(c, e.User, e.Secret, true, func(status int, msg string) error {
		return h.renderEnrollTOTP(c, status, e, msg)
	})
	if responded || err != nil {
		return err
	}
	r, err := h.SignIn.Enrolled(c.UserContext(), h.client(c), "totp")
	if err != nil {
		return h.respond(c, r, err)
	}
	return render(c, fiber.StatusOK, views.BackupCodesPage(h.pageBase(c, "Backup codes", ""), codes, h.follow(c, r)))
}

// beginEnrollPasskey starts registering a passkey for the user of the sign-in.
func (h *Handler) beginEnrollPasskey(c *fiber.Ctx) error {
	r, err := h.SignIn.Load(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))
	if err != nil || r.Next != auth.StepEnroll {
		return jsonError(c, fiber.StatusBadRequest, messageFor(signin.ErrNoSignIn))
	}
	return h.beginRegistration(c, r.User)
}

// finishEnrollPasskey stores the new passkey, which enrolls the user
// (user_enhanced_auth_enrolled) and finishes the sign-in.
func (h *Handler) finishEnrollPasskey(c *fiber.Ctx) error {
	if h.passkeysOff(c) {
		return nil
	}
	r, err := h.SignIn.Load(c.UserContext(), c.Cookies(h.cookieName(signinCookie)))
	if err != nil || r.Next != auth.StepEnroll {
		return jsonError(c, fiber.StatusBadRequest, messageFor(signin.ErrNoSignIn))
	}
	if ok, err := h.registerPasskey(c, r.User); !ok || err != nil {
		return err
	}
	r, err = h.SignIn.Enrolled(c.UserContext(), h.client(c), "passkey")
	return h.respondJSON(c, r, err)
}
