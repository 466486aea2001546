// Package handlers is weftid's HTTP layer: thin handlers that ask auth to decide, store to
// persist and views to render. Every route is listed in routes.go.
package handlers

import (
	"context"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/services"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/jobs"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// Config is everything the HTTP layer needs, passed in by main.
type Config struct {
	BaseURL        *url.URL
	Store          *store.Store
	Mailer         account.Mailer // nil: no mail is sent
	Hasher         *auth.Hasher
	Keys           auth.Keys
	Log            *slog.Logger
	Now            func() time.Time
	TrustedProxies []string
	// HIBP checks passwords against breaches (nil: off). Breach is the breach service whose
	// weekly re-check main runs; nil makes one on HIBP that only the pages use.
	HIBP   *breach.Client
	Breach *breach.Service
	// Jobs runs the background work handlers start; main stops it before closing the store.
	Jobs *jobs.Runner
	// BaseContext is the parent of every request's context: main cancels it when a graceful
	// shutdown has run out of time, so requests still running stop (nil: never cancelled).
	BaseContext context.Context
	// SAMLMetadataAllowedHosts may serve SAML metadata from loopback or private addresses.
	SAMLMetadataAllowedHosts []string
	// Metrics counts requests by route, sign-ins and refusals (nil: nothing is counted).
	Metrics *metrics.Metrics
}

// Handler holds the dependencies shared by every handler.
type Handler struct {
	base    *url.URL
	secure  bool // cookies get Secure and the __Host- prefix under https
	store   *store.Store
	keys    auth.Keys
	log     *slog.Logger
	now     func() time.Time
	proxies auth.Proxies // reverse proxies whose X-Forwarded-For entries are believed
	baseCtx context.Context
	oidc    *oidcProvider // nil when the base URL cannot be an OpenID Connect issuer
	// The use cases: Account, SignIn, Breach, Audit, OIDC (the app registry and authorize
	// flow) and SAML (the identity provider and service provider registry).
	*services.Services
}

// New builds the fiber app with every route and middleware.
func New(cfg Config) *fiber.App {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	svc := services.New(services.Config{BaseURL: cfg.BaseURL, Store: cfg.Store, Mailer: cfg.Mailer, Hasher: cfg.Hasher, Keys: cfg.Keys,
		Log: cfg.Log, Now: cfg.Now, HIBP: cfg.HIBP, Breach: cfg.Breach, Jobs: cfg.Jobs, Metrics: cfg.Metrics,
		SAMLMetadataAllowedHosts: cfg.SAMLMetadataAllowedHosts})
	h := &Handler{
		baseCtx:  cfg.BaseContext,
		base:     cfg.BaseURL,
		secure:   cfg.BaseURL.Scheme == "https",
		store:    cfg.Store,
		keys:     cfg.Keys,
		log:      cfg.Log,
		now:      cfg.Now,
		Services: svc,
	}
	fc := fiber.Config{
		AppName:               "weftid",
		ErrorHandler:          h.handleError,
		BodyLimit:             1 << 20,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		// Values from the request outlive the handler (they go into the database and goroutines).
		Immutable:          true,
		EnableIPValidation: true,
	}
	var invalid []string
	h.proxies, invalid = auth.ParseProxies(cfg.TrustedProxies)
	for _, v := range invalid {
		cfg.Log.Error("trusted proxy ignored: neither an IP nor a CIDR", "value", v)
	}
	var err error
	if h.oidc, err = newOIDCProvider(h.OIDC, cfg.BaseURL); err != nil {
		cfg.Log.Warn("OpenID Connect is unavailable", "base_url", cfg.BaseURL.String(), "err", err)
	}
	app := fiber.New(fc)
	h.routes(app)
	return app
}

// Locals keys.
const (
	localUser    = "weftid.user"
	localSession = "weftid.session"
	localCSRF    = "weftid.csrf"
	// localResetEnded marks a request whose session was just ended because its user must
	// choose a new password: the page it wanted sends it to /login saying so.
	localResetEnded = "weftid.reset_ended"
)

// requestTimeout bounds every request's work (below the server's write timeout, so the answer
// can still be written when the work ran out of time).
const requestTimeout = 55 * time.Second

// requestContext gives every request a context with a deadline, derived from the base context
// that shutdown cancels; services get it through c.UserContext(). An error is answered here,
// while that context is still live (the error page renders under it).
func (h *Handler) requestContext(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(h.baseCtx, requestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	if err := c.Next(); err != nil {
		return h.handleError(c, err)
	}
	return nil
}

// currentUser is the signed-in user, or nil.
func currentUser(c *fiber.Ctx) *store.User {
	u, _ := c.Locals(localUser).(*store.User)
	return u
}

// sessionHash is the keyed hash of this request's weftid session (nil without one).
func sessionHash(c *fiber.Ctx) []byte {
	h, _ := c.Locals(localSession).([]byte)
	return h
}

// base builds what the layout needs for this request.
func (h *Handler) pageBase(c *fiber.Ctx, title, active string) views.Base {
	token, _ := c.Locals(localCSRF).(string)
	return views.Base{Title: title, CSRF: token, User: currentUser(c), Active: active}
}

// render writes a component as the response with the given status. Pages are never cached:
// they hold personal data and CSRF tokens.
func render(c *fiber.Ctx, status int, component templ.Component) error {
	c.Status(status)
	if status == fiber.StatusTooManyRequests {
		c.Set(fiber.HeaderRetryAfter, "60")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Vary("HX-Request")
	return component.Render(c.UserContext(), c.Response().BodyWriter())
}

// renderPart renders the whole page, or for htmx's own requests only the fragment it swaps in.
// A boosted link and a history restore (htmx asks with HX-Request too, after a reload emptied
// its cache) get the page.
func renderPart(c *fiber.Ctx, status int, page, fragment templ.Component) error {
	c.Vary("HX-Boosted", "HX-History-Restore-Request")
	if c.Get("HX-Request") == "true" && c.Get("HX-Boosted") != "true" && c.Get("HX-History-Restore-Request") != "true" {
		return render(c, status, fragment)
	}
	return render(c, status, page)
}

// redirect answers a POST (or a GET) with 303 See Other, the post/redirect/get step.
//
// An htmx request gets HX-Redirect instead: its XMLHttpRequest would follow a 303 by itself and
// swap the page it leads to (the sign-in page, when the session has ended) into the part of the
// page it was updating. HX-Redirect makes htmx load the address as a whole page. A history
// restore is left alone: htmx ignores HX-Redirect there, and swaps the page it gets as a whole.
func redirect(c *fiber.Ctx, to string) error {
	if c.Get("HX-Request") == "true" && c.Get("HX-History-Restore-Request") != "true" {
		c.Set("HX-Redirect", to)
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Vary("HX-Request")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(to, fiber.StatusSeeOther)
}

// requestOrigin is where this request came from, for the events a service writes.
func (h *Handler) requestOrigin(c *fiber.Ctx) store.Origin {
	return store.Origin{IP: h.clientIP(c), UserAgent: truncate(c.Get(fiber.HeaderUserAgent), 512)}
}

// clientIP is the address a request came from: behind trusted proxies, the address they say
// they saw (auth.Proxies.ClientIP).
func (h *Handler) clientIP(c *fiber.Ctx) string {
	remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.IP()
	}
	return h.proxies.ClientIP(remote, c.Get(fiber.HeaderXForwardedFor))
}

// healthz answers 200 when the database answers.
func (h *Handler) healthz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.Error("health check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable\n")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.SendString("ok\n")
}

// formInt parses an optional integer form or query value.
func formInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
