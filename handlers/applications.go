package handlers

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showApplications lists the OpenID Connect clients (admins); SAML has its own page.
func (h *Handler) showApplications(c *fiber.Ctx) error {
	ctx := c.UserContext()
	clients, err := h.OIDC.Clients(ctx)
	if err != nil {
		return err
	}
	sps, err := h.SAML.ServiceProviders(ctx)
	if err != nil {
		return err
	}
	proxied, err := h.Proxy.Apps(ctx)
	samlKeys, err := h.samlKeys(c)
	if err != nil {
		return err
	}
	l := views.ApplicationList{
		Clients:      clients,
		SAMLApps:     sps,
		ProxyApps:    proxied,
		SAMLKeys:     samlKeys,
		Notice:       views.ApplicationNotices.Notice(c.Query("notice")),
		CanRotateKey: currentUser(c).Role == store.RoleSuperAdmin,
	}
	if h.oidc != nil {
		l.Issuer = h.oidc.Issuer()
		k, err := h.OIDC.ActiveSigningKey(ctx)
		if err != nil {
			return err
		}
		l.KeyID, l.KeySince = k.KID, k.ActivatesAt
	}
	return render(c, fiber.StatusOK, views.ApplicationsPage(h.pageBase(c, "Applications", "applications"), l))
}

func (h *Handler) clientPage(c *fiber.Ctx, status int, f views.ClientForm) error {
	title := "Register an OpenID Connect app"
	if f.ClientID != "" {
		title = f.Name
	}
	if err := h.fillAccess(c, oidcApp(f.ClientID), &f.Access); err != nil {
		return err
	}
	return render(c, status, views.ClientPage(h.pageBase(c, title, "applications"), f))
}

// showNewClient is the registration form.
func (h *Handler) showNewClient(c *fiber.Ctx) error {
	return h.clientPage(c, fiber.StatusOK, views.ClientForm{})
}

// clientForm reads the registration/edit form, as the service takes it and as the page shows it
// again after an error.
func clientForm(c *fiber.Ctx) (oidc.ClientInput, views.ClientForm) {
	f := views.ClientForm{
		Name:         strings.TrimSpace(c.FormValue("name")),
		RedirectURIs: strings.TrimSpace(c.FormValue("redirect_uris")),
		Public:       c.FormValue("type") == "public",
		Service:      c.FormValue("service") == "1",
		HomeURL:      strings.TrimSpace(c.FormValue("home_url")),

		PostLogoutRedirectURIs: strings.TrimSpace(c.FormValue("post_logout_redirect_uris")),
		RequiredAuthStrength:   c.FormValue("required_auth_strength"),
	}
	return oidc.ClientInput{Name: f.Name, RedirectURIs: f.RedirectURIs, Public: f.Public, Type: c.FormValue("type"), Service: f.Service, HomeURL: f.HomeURL,
		PostLogoutRedirectURIs: f.PostLogoutRedirectURIs, RequiredAuthStrength: f.RequiredAuthStrength, Access: accessSetting(c)}, f
}

// clientError answers the registry's errors: the form again with what is wrong (422); the
// others (no such client, a public client's secret) are answers' to map.
func (h *Handler) clientError(c *fiber.Ctx, err error, f views.ClientForm) error {
	if problems, ok := refusedForm(err); ok {
		f.Error = problems[0]
		return h.clientPage(c, fiber.StatusUnprocessableEntity, f)
	}
	return err
}

// createClient registers a client; a confidential one gets its secret, shown once.
func (h *Handler) createClient(c *fiber.Ctx) error {
	in, f := clientForm(c)
	cl, secret, err := h.OIDC.CreateClient(c.UserContext(), in, h.oidcActor(c))
	if err != nil {
		return h.clientError(c, err, f)
	}
	return h.showClientWith(c, cl, views.ApplicationNotices.Notice("created"), secret)
}

func (h *Handler) showClientWith(c *fiber.Ctx, cl store.OAuthClient, notice, secret string) error {
	return h.clientPage(c, fiber.StatusOK, views.ClientForm{
		ClientID: cl.ClientID, Name: cl.Name, RedirectURIs: strings.Join(cl.RedirectURIs, "\n"), Public: !cl.Confidential,
		Service: cl.Service, HomeURL: cl.HomeURL, Notice: notice, Secret: secret, HasSecret: cl.SecretHash != nil,
		PostLogoutRedirectURIs: strings.Join(cl.PostLogoutRedirectURIs, "\n"), RequiredAuthStrength: cl.RequiredAuthStrength,
	})
}

// showClient is a client's page.
func (h *Handler) showClient(c *fiber.Ctx) error {
	cl, err := h.OIDC.Client(c.UserContext(), c.Params("id"))
	if err != nil {
		return h.clientError(c, err, views.ClientForm{})
	}
	return h.showClientWith(c, cl, views.ApplicationNotices.Notice(c.Query("notice")), "")
}

// updateClient saves the edit form. A client turned confidential gets a new secret, shown once;
// one turned public loses its secret.
func (h *Handler) updateClient(c *fiber.Ctx) error {
	in, f := clientForm(c)
	f.ClientID = c.Params("id")
	cl, secret, err := h.OIDC.UpdateClient(c.UserContext(), f.ClientID, in, h.oidcActor(c))
	if err != nil {
		return h.clientError(c, err, f)
	}
	if secret != "" {
		return h.showClientWith(c, cl, views.ApplicationNotices.Notice("saved"), secret)
	}
	return redirect(c, "/applications/oidc/"+cl.ClientID+"?notice=saved")
}

// regenerateClientSecret replaces a confidential client's secret; the new one is shown once.
func (h *Handler) regenerateClientSecret(c *fiber.Ctx) error {
	cl, secret, err := h.OIDC.RegenerateSecret(c.UserContext(), c.Params("id"), h.oidcActor(c))
	if err != nil {
		return h.clientError(c, err, views.ClientForm{})
	}
	return h.showClientWith(c, cl, "A new secret was made. The old one no longer works.", secret)
}

// deleteClient removes a client and every token issued to it.
func (h *Handler) deleteClient(c *fiber.Ctx) error {
	if err := h.OIDC.DeleteClient(c.UserContext(), c.Params("id"), h.oidcActor(c)); err != nil {
		return h.clientError(c, err, views.ClientForm{})
	}
	return redirect(c, "/applications?notice=deleted")
}

// rotateSigningKey (super admins) makes a new ID-token signing key.
func (h *Handler) rotateSigningKey(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	if err := h.OIDC.RotateSigningKey(c.UserContext(), h.oidcActor(c)); err != nil {
		return err
	}
	return redirect(c, "/applications?notice=key_rotated")
}
