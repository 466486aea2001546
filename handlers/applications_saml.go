package handlers

// Applications > SAML: admins register, edit and remove service providers by their metadata
// (services/saml checks the metadata and keeps the registry).

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/saml"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// spPath is a service provider's page.
func spPath(id int64) string { return "/applications/saml/" + strconv.FormatInt(id, 10) }

// samlIdPInfo is what an admin gives a service provider: our metadata URL, entity ID and SSO URL.
func (h *Handler) samlIdPInfo() views.SAMLIdPInfo { return views.SAMLIdPInfo(h.SAML.IdPInfo()) }

// showSAMLApps lists the registered service providers (admins).
func (h *Handler) showSAMLApps(c *fiber.Ctx) error {
	sps, err := h.SAML.ServiceProviders(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SAMLAppsPage(h.pageBase(c, "SAML applications", "applications"), views.SAMLAppList{
		IdP: h.samlIdPInfo(), Apps: sps, Notice: views.SAMLAppsNotices.Notice(c.Query("notice")),
	}))
}

// showNewSAMLApp is the registration form.
func (h *Handler) showNewSAMLApp(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.NewSAMLAppPage(h.pageBase(c, "Register a SAML application", "applications"), views.SAMLAppForm{IdP: h.samlIdPInfo()}))
}

// pathSAMLApp is the service provider the path's :id names; 404 when there is none.
func (h *Handler) pathSAMLApp(c *fiber.Ctx) (store.SAMLServiceProvider, error) {
	return h.SAML.ServiceProvider(c.UserContext(), formInt(c.Params("id")))
}

// spInput is the service provider form: the name, and the metadata as a chosen file (if one
// was) or as pasted text.
func spInput(c *fiber.Ctx) (saml.SPInput, error) {
	in := saml.SPInput{Name: c.FormValue("name"), RequiredAuthStrength: c.FormValue("required_auth_strength")}
	if fh, err := c.FormFile("metadata_file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return in, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, saml.MaxMetadata+1))
		in.Metadata = saml.MetadataInput{Data: data, File: true}
		return in, err
	}
	in.Metadata = saml.MetadataInput{Data: []byte(c.FormValue("metadata"))}
	return in, nil
}

// echoMetadata is the pasted metadata to show again in the form: not when it is too large.
func echoMetadata(c *fiber.Ctx) string {
	if m := c.FormValue("metadata"); len(m) <= saml.MaxMetadata {
		return m
	}
	return ""
}

// createSAMLApp registers a service provider from its metadata (admins).
func (h *Handler) createSAMLApp(c *fiber.Ctx) error {
	in, err := spInput(c)
	if err != nil {
		return err
	}
	sp, err := h.SAML.CreateServiceProvider(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), in)
	if problems, ok := refusedForm(err); ok {
		f := views.SAMLAppForm{IdP: h.samlIdPInfo(), Name: strings.TrimSpace(in.Name), Metadata: echoMetadata(c), Errors: problems, Strength: in.RequiredAuthStrength}
		return render(c, fiber.StatusUnprocessableEntity, views.NewSAMLAppPage(h.pageBase(c, "Register a SAML application", "applications"), f))
	}
	if err != nil {
		return err
	}
	return redirect(c, spPath(sp.ID)+"?notice=created")
}

// showSAMLApp is a service provider's page: what it is, and forms to rename it, replace its
// metadata or remove it (admins).
func (h *Handler) showSAMLApp(c *fiber.Ctx) error {
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), views.SAMLAppDetail{
		IdP: h.samlIdPInfo(), App: sp, Name: sp.Name, Notice: views.SAMLAppNotices.Notice(c.Query("notice")), Strength: sp.RequiredAuthStrength,
	}))
}

// updateSAMLApp saves a new name and, if given, new metadata (admins).
func (h *Handler) updateSAMLApp(c *fiber.Ctx) error {
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	in, err := spInput(c)
	if err != nil {
		return err
	}
	err = h.SAML.UpdateServiceProvider(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), sp, in)
	if problems, ok := refusedForm(err); ok {
		d := views.SAMLAppDetail{IdP: h.samlIdPInfo(), App: sp, Name: strings.TrimSpace(in.Name), Metadata: echoMetadata(c), Errors: problems,
			Strength: in.RequiredAuthStrength}
		return render(c, fiber.StatusUnprocessableEntity, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), d))
	}
	if err != nil {
		return err
	}
	return redirect(c, spPath(sp.ID)+"?notice=saved")
}

// deleteSAMLApp removes a service provider and the requests held for it (admins).
func (h *Handler) deleteSAMLApp(c *fiber.Ctx) error {
	if err := h.SAML.DeleteServiceProvider(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), formInt(c.Params("id"))); err != nil {
		return err
	}
	return redirect(c, "/applications/saml?notice=deleted")
}

// dashboardSAMLApps lists the service providers the dashboard offers to open.
func (h *Handler) dashboardSAMLApps(c *fiber.Ctx) ([]views.SAMLDashboardApp, error) {
	apps, err := h.SAML.DashboardApps(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := make([]views.SAMLDashboardApp, len(apps))
	for i, a := range apps {
		out[i] = views.SAMLDashboardApp(a)
	}
	return out, nil
}
