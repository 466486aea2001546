package handlers

// Applications > SAML: admins register, edit and remove service providers by their metadata
// (services/saml checks the metadata and keeps the registry), fetch it again from its URL, and
// super admins rotate the SAML signing key.

import (
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/groups"
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
	f := views.SAMLAppForm{IdP: h.samlIdPInfo()}
	if err := h.fillAccess(c, store.AppRef{Kind: store.AppSAML}, &f.Access); err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.NewSAMLAppPage(h.pageBase(c, "Register a SAML application", "applications"), f))
}

// pathSAMLApp is the service provider the path's :id names; 404 when there is none.
func (h *Handler) pathSAMLApp(c *fiber.Ctx) (store.SAMLServiceProvider, error) {
	return h.SAML.ServiceProvider(c.UserContext(), formInt(c.Params("id")))
}

// spInput is the service provider form: the name, and the metadata as a chosen file (if one
// was), as pasted text, or as the URL to fetch it from.
func spInput(c *fiber.Ctx) (saml.SPInput, error) {
	in := saml.SPInput{Name: c.FormValue("name"), RequiredAuthStrength: c.FormValue("required_auth_strength"), Access: accessSetting(c)}
	url := c.FormValue("metadata_url")
	if fh, err := c.FormFile("metadata_file"); err == nil && fh.Size > 0 {
		f, err := fh.Open()
		if err != nil {
			return in, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, saml.MaxMetadata+1))
		in.Metadata = saml.MetadataInput{Data: data, File: true, URL: url}
		return in, err
	}
	in.Metadata = saml.MetadataInput{Data: []byte(c.FormValue("metadata")), URL: url}
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
		f := views.SAMLAppForm{IdP: h.samlIdPInfo(), Name: strings.TrimSpace(in.Name), Metadata: echoMetadata(c),
			MetadataURL: in.Metadata.URL, Errors: problems, Strength: in.RequiredAuthStrength}
		if err := h.fillAccess(c, store.AppRef{Kind: store.AppSAML}, &f.Access); err != nil {
			return err
		}
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
	d := views.SAMLAppDetail{IdP: h.samlIdPInfo(), App: sp, Name: sp.Name, Notice: views.SAMLAppNotices.Notice(c.Query("notice")), Strength: sp.RequiredAuthStrength}
	if err := h.fillAccess(c, groups.SAMLApp(sp.ID), &d.Access); err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), d))
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
		d := views.SAMLAppDetail{IdP: h.samlIdPInfo(), App: sp, Name: strings.TrimSpace(in.Name), Metadata: echoMetadata(c),
			MetadataURL: in.Metadata.URL, Errors: problems, Strength: in.RequiredAuthStrength}
		if err := h.fillAccess(c, groups.SAMLApp(sp.ID), &d.Access); err != nil {
			return err
		}
		return render(c, fiber.StatusUnprocessableEntity, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), d))
	}
	if err != nil {
		return err
	}
	return redirect(c, spPath(sp.ID)+"?notice=saved")
}

// refreshSAMLApp fetches a service provider's metadata again from the URL it came from (admins).
func (h *Handler) refreshSAMLApp(c *fiber.Ctx) error {
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	changed, err := h.SAML.RefreshMetadata(c.UserContext(), currentUser(c).ID, h.requestOrigin(c), sp)
	if problems, ok := refusedForm(err); ok {
		d := views.SAMLAppDetail{IdP: h.samlIdPInfo(), App: sp, Name: sp.Name, Errors: problems, Strength: sp.RequiredAuthStrength}
		return render(c, fiber.StatusUnprocessableEntity, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), d))
	}
	if err != nil {
		return err
	}
	if !changed {
		return redirect(c, spPath(sp.ID)+"?notice=unchanged")
	}
	return redirect(c, spPath(sp.ID)+"?notice=refreshed")
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
	apps, err := h.SAML.DashboardApps(c.UserContext(), currentUser(c).ID)
	if err != nil {
		return nil, err
	}
	out := make([]views.SAMLDashboardApp, len(apps))
	for i, a := range apps {
		out[i] = views.SAMLDashboardApp(a)
	}
	return out, nil
}

// samlKeys lists the published SAML signing keys for the Applications page.
func (h *Handler) samlKeys(c *fiber.Ctx) ([]views.SAMLKey, error) {
	keys, err := h.SAML.SigningKeys(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := make([]views.SAMLKey, len(keys))
	for i, k := range keys {
		out[i] = views.SAMLKey{KID: k.KID, Fingerprint: k.Fingerprint, State: string(k.State), ActivatesAt: k.ActivatesAt, RetiresAt: k.RetiresAt}
	}
	return out, nil
}

// rotateSAMLKey (super admins) publishes a new SAML signing key, which signs after the overlap.
func (h *Handler) rotateSAMLKey(c *fiber.Ctx) error {
	if _, err := h.SAML.RotateSigningKey(c.UserContext(), currentUser(c).ID, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, "/applications?notice=saml_key_rotated")
}

// useNextSAMLKey (super admins) makes the waiting SAML signing key sign now.
func (h *Handler) useNextSAMLKey(c *fiber.Ctx) error {
	if err := h.SAML.UseNextKeyNow(c.UserContext(), currentUser(c).ID, h.requestOrigin(c)); err != nil {
		return err
	}
	return redirect(c, "/applications?notice=saml_key_now")
}
