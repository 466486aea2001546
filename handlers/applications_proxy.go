package handlers

// Applications > Proxied applications: admins register, edit and remove the apps a reverse proxy
// protects with forward authentication (services/proxy keeps the registry).

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/proxy"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// proxyAppForm reads the form, as the service takes it and as the page shows it again.
func proxyAppForm(c *fiber.Ctx) (proxy.AppInput, views.ProxyAppForm) {
	in := proxy.AppInput{Name: c.FormValue("name"), Host: c.FormValue("host"), PathPrefix: c.FormValue("path_prefix"), Access: accessSetting(c)}
	return in, views.ProxyAppForm{Name: strings.TrimSpace(in.Name), Host: strings.TrimSpace(in.Host), PathPrefix: strings.TrimSpace(in.PathPrefix)}
}

// proxyAppPage renders the form, with weftid's endpoints for the proxy's configuration.
func (h *Handler) proxyAppPage(c *fiber.Ctx, status int, f views.ProxyAppForm) error {
	title := "Register a proxied application"
	if f.ID != 0 {
		title = f.Name
	}
	f.ForwardAuthURL, f.AuthRequestURL = h.origin()+"/forward-auth", h.origin()+"/auth-request"
	app := store.AppRef{Kind: store.AppProxy}
	if f.ID != 0 {
		app = groups.ProxyApp(f.ID)
	}
	if err := h.fillAccess(c, app, &f.Access); err != nil {
		return err
	}
	return render(c, status, views.ProxyAppPage(h.pageBase(c, title, "applications"), f))
}

// proxyActor is the admin making a change, for the events.
func (h *Handler) proxyActor(c *fiber.Ctx) proxy.Actor {
	return proxy.Actor{UserID: currentUser(c).ID, Origin: h.requestOrigin(c)}
}

// proxyAppError shows the form again with what is wrong (422); other errors are answers'.
func (h *Handler) proxyAppError(c *fiber.Ctx, err error, f views.ProxyAppForm) error {
	if problems, ok := refusedForm(err); ok {
		f.Errors = problems
		return h.proxyAppPage(c, fiber.StatusUnprocessableEntity, f)
	}
	return err
}

// showNewProxyApp is the registration form.
func (h *Handler) showNewProxyApp(c *fiber.Ctx) error {
	return h.proxyAppPage(c, fiber.StatusOK, views.ProxyAppForm{})
}

// createProxyApp registers a proxied app.
func (h *Handler) createProxyApp(c *fiber.Ctx) error {
	in, f := proxyAppForm(c)
	a, err := h.Proxy.CreateApp(c.UserContext(), in, h.proxyActor(c))
	if err != nil {
		return h.proxyAppError(c, err, f)
	}
	return redirect(c, proxyAppURL(a.ID)+"?notice=proxy_created")
}

// showProxyApp is a proxied app's page and edit form.
func (h *Handler) showProxyApp(c *fiber.Ctx) error {
	a, err := h.Proxy.App(c.UserContext(), formInt(c.Params("id")))
	if err != nil {
		return err
	}
	return h.proxyAppPage(c, fiber.StatusOK, proxyAppShown(a, views.ApplicationNotices.Notice(c.Query("notice"))))
}

// updateProxyApp saves the edit form.
func (h *Handler) updateProxyApp(c *fiber.Ctx) error {
	in, f := proxyAppForm(c)
	f.ID = formInt(c.Params("id"))
	a, err := h.Proxy.UpdateApp(c.UserContext(), f.ID, in, h.proxyActor(c))
	if err != nil {
		return h.proxyAppError(c, err, f)
	}
	return redirect(c, proxyAppURL(a.ID)+"?notice=saved")
}

// deleteProxyApp removes a proxied app.
func (h *Handler) deleteProxyApp(c *fiber.Ctx) error {
	if err := h.Proxy.DeleteApp(c.UserContext(), formInt(c.Params("id")), h.proxyActor(c)); err != nil {
		return err
	}
	return redirect(c, "/applications?notice=proxy_deleted")
}

// proxyAppURL is a proxied app's page.
func proxyAppURL(id int64) string { return "/applications/proxy/" + strconv.FormatInt(id, 10) }

// proxyAppShown is the form of a stored app.
func proxyAppShown(a store.ProxyApp, notice string) views.ProxyAppForm {
	return views.ProxyAppForm{ID: a.ID, Name: a.Name, Host: a.Host, PathPrefix: a.PathPrefix, Notice: notice}
}
