package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/account"
)

// deviceCookie holds the token of this browser's device: set by a finished sign-in, rotated by
// the next, and what makes services/signin count this browser's guesses apart (device trust).
const deviceCookie = "weftid_device"

// deviceToken is the token of this browser's device cookie ("" when none).
func (h *Handler) deviceToken(c *fiber.Ctx) string { return c.Cookies(h.cookieName(deviceCookie)) }

// removeDevice forgets one of the signed-in user's devices (Account > Security).
func (h *Handler) removeDevice(c *fiber.Ctx) error {
	err := h.Account.RemoveDevice(c.UserContext(), *currentUser(c), formInt(c.Params("id")), h.requestOrigin(c))
	if errors.Is(err, account.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(c, "/account/security?notice=device_removed")
}
