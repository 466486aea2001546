package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/metrics"
)

// observe counts every request by the route pattern it matched (fiber's route, e.g.
// /users/:id<int>/profile, never the path itself, so the series stay few), its method and its
// status, and how long the answer took. A request answered before any route matched is labelled
// metrics.Unmatched when it is a 404 and "middleware" otherwise (a CSRF refusal, say). It is
// the first middleware, so the status is the one sent, error pages included.
func (h *Handler) observe(c *fiber.Ctx) error {
	if h.Metrics == nil {
		return c.Next()
	}
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil { // answered by the app's error handler after this returns
		status = fiber.StatusInternalServerError
		var fe *fiber.Error
		if errors.As(err, &fe) {
			status = fe.Code
		}
	}
	// fiber reports the last route that matched. Every middleware that may answer by itself is
	// mounted at / (routes.go; one at /login calls Next first), so a route of / for another path
	// is a middleware that answered, or the final 404.
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "middleware"
		if status == fiber.StatusNotFound {
			route = metrics.Unmatched
		}
	}
	h.Metrics.HTTP(route, c.Method(), status, time.Since(start))
	return err
}
