package handlers

// SAML Single Logout (services/saml/logout.go does the work): /saml/slo takes a service
// provider's LogoutRequest or LogoutResponse by HTTP-Redirect (GET) or HTTP-POST, and every step
// of a logout chain is a page that hands the next message on through the browser.
//
// Never a redirect to a service provider: a POST (the sign-out form, or a service provider's
// posted message) whose answer redirects to another site is held to the form-action CSP of the
// page that posted, which weftid's pages and many service providers' restrict. A page of its
// own, whose CSP allows the service provider's origin, posts the message or follows the link.

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/views"
)

// samlSLO is the Single Logout endpoint. POST comes from the service provider's page, so it is
// exempt from our CSRF check: the message's own signature is what is checked.
func (h *Handler) samlSLO(c *fiber.Ctx) error {
	in := saml.LogoutInbound{Binding: saml.BindingRedirect, RawQuery: string(c.Request().URI().QueryString())}
	if c.Method() == fiber.MethodPost {
		in = saml.LogoutInbound{Binding: saml.BindingPost, SAMLRequest: c.FormValue("SAMLRequest"),
			SAMLResponse: c.FormValue("SAMLResponse"), RelayState: c.FormValue("RelayState")}
	}
	step, err := h.SAML.Logout(c.UserContext(), in, h.requestOrigin(c))
	if err != nil {
		if a, ok := answerFor(err); ok && a.msg != "" {
			return render(c, a.status, views.SAMLErrorPage(h.pageBase(c, "Cannot sign out of the application", ""), a.msg))
		}
		return err
	}
	return h.samlLogoutStep(c, step)
}

// samlLogoutStep sends the browser on: to the next service provider with its message, or, at
// the end of a logout that began in weftid, to the signed-out page.
func (h *Handler) samlLogoutStep(c *fiber.Ctx, step saml.LogoutStep) error {
	m := step.Message
	if m == nil {
		if step.Then != "" { // an OpenID Connect app's post-logout redirect URI
			return redirect(c, step.Then)
		}
		if step.Partial {
			return redirect(c, "/login?notice=signed_out_partial")
		}
		return redirect(c, "/login?notice=signed_out")
	}
	if m.Binding == saml.BindingPost {
		c.Set(fiber.HeaderContentSecurityPolicy, strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+m.Origin, 1))
	}
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return render(c, fiber.StatusOK, views.SAMLLogoutPage(views.SAMLLogoutMessage{
		SPName: m.SPName, Post: m.Binding == saml.BindingPost, URL: m.URL, Param: m.Param, Value: m.Value, RelayState: m.RelayState,
	}))
}
