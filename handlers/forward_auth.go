package handlers

// Forward authentication (services/proxy decides): /forward-auth for Caddy's forward_auth and
// Traefik's forwardAuth, /auth-request for nginx's auth_request, and weftid's own
// /proxy/continue, where a sign-in for a proxied app goes on once every step is done.
//
// The proxy describes the request it holds in X-Forwarded-Method, -Proto, -Host and -Uri and
// passes on the browser's cookies for the app's host. Those headers and weftid's two cookies
// there are all that is read: a Remote-User (or any other header) a client sent counts for
// nothing. The proxy must set the X-Forwarded-* headers itself from the request it received
// (every configuration in the README does); then anyone may reach these endpoints, since what
// they answer is only what the same request through the proxy would get.

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/views"
)

// The cookies weftid sets on an app's host (host-only; __Host- prefixed under https): the
// proxy session, and the binding of a sign-in to the browser that set out on it. Browsers share
// cookies among the ports of a host, so on a host with a port the names end with it: two apps
// at wiki.example.com:8443 and :9443 keep a session each.
const (
	proxySessionCookie = "weftid_proxy"
	proxyBindingCookie = "weftid_proxy_binding"
)

// proxyPageCSP lets a page shown on an app's host use weftid's stylesheets and nothing else.
func (h *Handler) proxyPageCSP() string {
	return "default-src 'none'; style-src " + h.origin() + "; img-src " + h.origin() + " data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// origin is weftid's own origin.
func (h *Handler) origin() string { return h.base.Scheme + "://" + h.base.Host }

// proxyCookie names a cookie on an app's host (X-Forwarded-Host: host, with its port if any).
func proxyCookie(name string, secure bool, host string) string {
	if u, err := url.Parse("//" + host); err == nil && u.Port() != "" {
		name += "_" + u.Port()
	}
	if secure {
		return "__Host-" + name
	}
	return name
}

// proxyRequest reads the request the proxy describes.
func (h *Handler) proxyRequest(c *fiber.Ctx, authRequest bool) proxy.Request {
	proto, host := c.Get("X-Forwarded-Proto"), c.Get("X-Forwarded-Host")
	secure := strings.EqualFold(proto, "https") || (proto == "" && h.secure)
	return proxy.Request{
		Method: c.Get("X-Forwarded-Method"), Proto: proto, Host: host, URI: c.Get("X-Forwarded-Uri"),
		Session:     c.Cookies(proxyCookie(proxySessionCookie, secure, host)),
		Binding:     c.Cookies(proxyCookie(proxyBindingCookie, secure, host)),
		AuthRequest: authRequest,
		Origin:      h.requestOrigin(c),
	}
}

// forwardAuth is GET /forward-auth: 200 with the Remote-* headers, 302 to sign in (303 for a
// method other than GET and HEAD), 403 with a page, and the callback and sign-out under
// /.weftid/ on the app's host.
func (h *Handler) forwardAuth(c *fiber.Ctx) error {
	r := h.proxyRequest(c, false)
	a, err := h.Proxy.ForwardAuth(c.UserContext(), r)
	if err != nil {
		return err
	}
	return h.answerProxy(c, r, a)
}

// authRequest is GET /auth-request, for nginx's auth_request: 200, 401 (nginx's error_page
// sends the request on to /forward-auth, which redirects) or 403, with no page.
func (h *Handler) authRequest(c *fiber.Ctx) error {
	r := h.proxyRequest(c, true)
	a, err := h.Proxy.ForwardAuth(c.UserContext(), r)
	if err != nil {
		return err
	}
	return h.answerProxy(c, r, a)
}

// answerProxy writes the answer: the cookies of the app's host, then the status, headers or
// page of its outcome. Nothing of it is cached, and it carries no HSTS: the page may show on
// the app's host, which weftid does not speak for.
func (h *Handler) answerProxy(c *fiber.Ctx, r proxy.Request, a proxy.Answer) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Response().Header.Del(fiber.HeaderStrictTransportSecurity)
	if a.Binding != "" {
		h.setProxyCookie(c, proxyBindingCookie, a, &proxy.Cookie{Value: a.Binding})
	}
	if a.ClearSession && a.Session == nil {
		h.setProxyCookie(c, proxySessionCookie, a, nil)
	}
	if a.Session != nil {
		h.setProxyCookie(c, proxySessionCookie, a, a.Session)
	}
	switch {
	case a.Outcome == proxy.Allow:
		c.Set("Remote-User", headerValue(a.Identity.Email))
		c.Set("Remote-Email", headerValue(a.Identity.Email))
		c.Set("Remote-Name", headerValue(a.Identity.Name))
		c.Set("Remote-Groups", headerValue(strings.Join(a.Identity.Groups, ",")))
		return c.SendStatus(fiber.StatusOK)
	case a.Outcome == proxy.SignIn && r.AuthRequest:
		return c.SendStatus(fiber.StatusUnauthorized)
	case r.AuthRequest:
		return c.SendStatus(fiber.StatusForbidden) // nginx shows its own page, or /forward-auth's
	case a.Outcome == proxy.SignIn:
		status := fiber.StatusFound
		if m := strings.ToUpper(r.Method); m != "" && m != fiber.MethodGet && m != fiber.MethodHead {
			status = fiber.StatusSeeOther
		}
		return c.Redirect(a.Location, status)
	case a.Outcome == proxy.Redirect:
		c.Set(fiber.HeaderReferrerPolicy, "no-referrer") // the callback's address held the code
		return c.Redirect(a.Location, fiber.StatusFound)
	}
	p := views.ProxyWords(proxyRefusals[a.Outcome])
	p.Email, p.Admins, p.StyleBase, p.WeftidURL = a.Identity.Email, a.Admins, h.origin(), h.origin()+"/dashboard"
	c.Set(fiber.HeaderContentSecurityPolicy, h.proxyPageCSP())
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return render(c, p.Status, views.ProxyAnswerPage(p))
}

// proxyRefusals are the pages of the outcomes that refuse.
var proxyRefusals = map[proxy.Outcome]views.ProxyRefusal{
	proxy.Denied:      views.ProxyDenied,
	proxy.Unknown:     views.ProxyUnknown,
	proxy.CodeRefused: views.ProxyCodeRefused,
	proxy.Throttled:   views.ProxyThrottled,
	proxy.NotFound:    views.ProxyNotFound,
}

// setProxyCookie sets (or, with nil, removes) a cookie on the app's host: host-only, HttpOnly,
// SameSite=Lax, Secure under https.
func (h *Handler) setProxyCookie(c *fiber.Ctx, name string, a proxy.Answer, v *proxy.Cookie) {
	ck := &fiber.Cookie{Name: proxyCookie(name, a.Secure, a.Host), Path: "/", Secure: a.Secure, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode}
	if v == nil {
		ck.Expires = time.Unix(1, 0)
	} else {
		ck.Value, ck.Expires = v.Value, v.Expires
	}
	c.Cookie(ck)
}

// headerValue keeps a value a header can carry: control characters become spaces.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// proxyContinue is GET /proxy/continue?rd=...&b=...: where the redirect from /forward-auth
// lands on weftid's host. A browser with a complete session gets a code and goes to the app's
// callback; one without signs in first (the continuation waits in its sign-in, like an SSO
// request), and only a sign-in that finished every step comes back here.
func (h *Handler) proxyContinue(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cont := proxy.Continuation{ReturnTo: c.Query("rd"), Binding: c.Query("b")}
	u := currentUser(c)
	if u == nil {
		if err := h.Proxy.CheckContinuation(ctx, cont); err != nil {
			return h.proxyContinueError(c, err)
		}
		return h.continueAfterSignIn(c, cont.Path())
	}
	idHash := sessionHash(c)
	to, err := h.Proxy.Issue(ctx, cont, *u, idHash, h.requestOrigin(c))
	if err != nil {
		return h.proxyContinueError(c, err)
	}
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Redirect(to, fiber.StatusSeeOther)
}

// proxyContinueError answers a continuation that cannot go on with a page that says why: the
// no-access page of a user the app does not let in, or the words of answers; other errors go to
// the error page.
func (h *Handler) proxyContinueError(c *fiber.Ctx, err error) error {
	var d *groups.Denied
	if errors.As(err, &d) {
		return h.accessDenied(c, d)
	}
	a, ok := answerFor(err)
	if !ok || a.msg == "" {
		return err
	}
	_, title, _ := views.ErrorWords(a.status)
	return render(c, a.status, views.ErrorPage(h.pageBase(c, title, ""), a.status, a.msg))
}
