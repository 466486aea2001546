package handlers

// Applications > SAML: admins register, edit and remove service providers by their metadata.

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crewjam/saml"
	"github.com/gofiber/fiber/v2"
	xrv "github.com/mattermost/xml-roundtrip-validator"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// maxSPMetadata bounds the metadata of one service provider (a few kilobytes, usually).
const maxSPMetadata = 256 << 10

// maxSPName bounds an application's name.
const maxSPName = 100

// spMetadata is a service provider's metadata, parsed and checked.
type spMetadata struct {
	entity *saml.EntityDescriptor
	acs    string // the first HTTP-POST assertion consumer service
	xml    string // as given, without surrounding space: what is stored
}

// postACS returns the SP descriptor and the first assertion consumer service with the HTTP-POST
// binding: where IdP-initiated sign-on sends its response.
func (m spMetadata) postACS() (*saml.SPSSODescriptor, *saml.IndexedEndpoint) {
	for i := range m.entity.SPSSODescriptors {
		d := &m.entity.SPSSODescriptors[i]
		for j := range d.AssertionConsumerServices {
			if e := d.AssertionConsumerServices[j]; e.Binding == saml.HTTPPostBinding {
				return d, &e
			}
		}
	}
	return nil, nil
}

// errMetadata is a problem with pasted or uploaded metadata, in words for the admin.
type errMetadata string

func (e errMetadata) Error() string { return string(e) }

// parseSPMetadata reads a service provider's metadata: one EntityDescriptor (alone, or the only
// one in an EntitiesDescriptor) with an entity ID, an SPSSODescriptor, at least one assertion
// consumer service with the HTTP-POST binding at an absolute http(s) URL, and certificates that
// parse. Its errors say what is wrong.
func parseSPMetadata(data []byte) (spMetadata, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return spMetadata{}, errMetadata("Paste the service provider's metadata XML or choose its file.")
	}
	if len(data) > maxSPMetadata {
		return spMetadata{}, errMetadata(fmt.Sprintf("The metadata is larger than %d KB; paste the metadata of one service provider.", maxSPMetadata>>10))
	}
	if !utf8.Valid(data) {
		return spMetadata{}, errMetadata("The metadata is not UTF-8 text. Is this the right file?")
	}
	// XML that does not survive a round trip unchanged is the stuff of signature-wrapping
	// attacks: refuse it rather than guess.
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		return spMetadata{}, errMetadata("The metadata is not well-formed XML: " + shortError(err))
	}
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &root); err != nil {
		return spMetadata{}, errMetadata("The metadata is not well-formed XML: " + shortError(err))
	}
	entity := &saml.EntityDescriptor{}
	switch root.XMLName.Local {
	case "EntityDescriptor":
		if err := xml.Unmarshal(data, entity); err != nil {
			return spMetadata{}, errMetadata("The metadata could not be read: " + shortError(err))
		}
	case "EntitiesDescriptor":
		var all saml.EntitiesDescriptor
		if err := xml.Unmarshal(data, &all); err != nil {
			return spMetadata{}, errMetadata("The metadata could not be read: " + shortError(err))
		}
		if len(all.EntityDescriptors) != 1 {
			return spMetadata{}, errMetadata(fmt.Sprintf("The metadata describes %d entities; paste the metadata of one service provider.", len(all.EntityDescriptors)))
		}
		entity = &all.EntityDescriptors[0]
	default:
		return spMetadata{}, errMetadata("The metadata must be a SAML EntityDescriptor; this file starts with <" + truncate(root.XMLName.Local, 40) + ">.")
	}
	entity.EntityID = strings.TrimSpace(entity.EntityID)
	switch {
	case entity.EntityID == "":
		return spMetadata{}, errMetadata("The metadata has no entityID.")
	case len(entity.EntityID) > 1024:
		return spMetadata{}, errMetadata("The metadata's entityID is longer than 1024 characters.")
	case len(entity.SPSSODescriptors) == 0:
		return spMetadata{}, errMetadata("The metadata has no SPSSODescriptor: it does not describe a SAML service provider.")
	}
	m := spMetadata{entity: entity}
	for _, d := range entity.SPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			for _, c := range kd.KeyInfo.X509Data.X509Certificates {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
				if err == nil {
					_, err = x509.ParseCertificate(der)
				}
				if err != nil {
					return spMetadata{}, errMetadata("A certificate in the metadata could not be read.")
				}
			}
		}
		for _, acs := range d.AssertionConsumerServices {
			if acs.Binding != saml.HTTPPostBinding {
				continue
			}
			if _, err := originOf(acs.Location); err != nil {
				return spMetadata{}, errMetadata("The assertion consumer service " + strconv.Quote(truncate(acs.Location, 200)) + " is not an absolute http or https URL.")
			}
			if m.acs == "" {
				m.acs = acs.Location
			}
		}
	}
	if m.acs == "" {
		return spMetadata{}, errMetadata("The metadata lists no AssertionConsumerService with the HTTP-POST binding; weftid sends its answers by HTTP-POST.")
	}
	return m, nil
}

// shortError keeps the first line of a parser's message, bounded.
func shortError(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return truncate(s, 200)
}

// spPath is a service provider's page.
func spPath(id int64) string { return "/applications/saml/" + strconv.FormatInt(id, 10) }

// samlIdPInfo is what an admin gives a service provider: our metadata URL, entity ID and SSO URL.
func (h *Handler) samlIdPInfo() views.SAMLIdPInfo {
	md := h.absURL("/saml/metadata")
	sso := h.absURL("/saml/sso")
	return views.SAMLIdPInfo{MetadataURL: md.String(), EntityID: md.String(), SSOURL: sso.String()}
}

// samlNotices are the fixed messages the list may show; the query names one.
var samlNotices = map[string]string{
	"deleted": "The service provider was removed.",
}

// showSAMLApps lists the registered service providers (admins).
func (h *Handler) showSAMLApps(c *fiber.Ctx) error {
	sps, err := h.store.SAMLServiceProviders(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SAMLAppsPage(h.pageBase(c, "SAML applications", "applications"), views.SAMLAppList{
		IdP: h.samlIdPInfo(), Apps: sps, Notice: samlNotices[c.Query("notice")],
	}))
}

// showNewSAMLApp is the registration form.
func (h *Handler) showNewSAMLApp(c *fiber.Ctx) error {
	return render(c, fiber.StatusOK, views.NewSAMLAppPage(h.pageBase(c, "Register a SAML application", "applications"), views.SAMLAppForm{IdP: h.samlIdPInfo()}))
}

// pathSAMLApp is the service provider the path's :id names; 404 when there is none.
func (h *Handler) pathSAMLApp(c *fiber.Ctx) (store.SAMLServiceProvider, error) {
	sp, err := h.store.SAMLServiceProvider(c.UserContext(), formInt(c.Params("id")))
	if errors.Is(err, store.ErrNotFound) {
		return sp, fiber.ErrNotFound
	}
	return sp, err
}

// submittedMetadata reads and checks the metadata a form gave (a chosen file or pasted text).
// given says whether either was; without it the metadata is checked only when required. A
// problem with the metadata is added to problems, in words; err is anything else.
func submittedMetadata(c *fiber.Ctx, required bool, problems []string) (md spMetadata, given bool, _ []string, err error) {
	data, given, err := metadataInput(c)
	if err == nil && (given || required) {
		md, err = parseSPMetadata(data)
		md.xml = string(bytes.TrimSpace(data))
	}
	var em errMetadata
	if errors.As(err, &em) {
		return md, given, append(problems, string(em)), nil
	}
	return md, given, problems, err
}

// metadataInput is the metadata an admin gave: the uploaded file if one was chosen, else the
// pasted text. given says whether either was.
func metadataInput(c *fiber.Ctx) (data []byte, given bool, err error) {
	if fh, ferr := c.FormFile("metadata_file"); ferr == nil && fh.Size > 0 {
		if fh.Size > maxSPMetadata {
			return nil, true, errMetadata(fmt.Sprintf("The file is larger than %d KB; choose the metadata of one service provider.", maxSPMetadata>>10))
		}
		f, err := fh.Open()
		if err != nil {
			return nil, true, err
		}
		defer f.Close()
		data, err = io.ReadAll(io.LimitReader(f, maxSPMetadata+1))
		return data, true, err
	}
	text := c.FormValue("metadata")
	if len(text) > maxSPMetadata {
		return nil, true, errMetadata(fmt.Sprintf("The metadata is larger than %d KB; paste the metadata of one service provider.", maxSPMetadata>>10))
	}
	return []byte(text), strings.TrimSpace(text) != "", nil
}

// spName checks an application's name.
func spName(name string) (string, string) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > maxSPName {
		return name, fmt.Sprintf("Enter a name of at most %d characters.", maxSPName)
	}
	return name, ""
}

const msgEntityTaken = "A service provider with this entity ID is registered already."

// createSAMLApp registers a service provider from its metadata (admins).
func (h *Handler) createSAMLApp(c *fiber.Ctx) error {
	ctx := c.UserContext()
	f := views.SAMLAppForm{IdP: h.samlIdPInfo(), Metadata: c.FormValue("metadata")}
	var problems []string
	name, problem := spName(c.FormValue("name"))
	f.Name = name
	if problem != "" {
		problems = append(problems, problem)
	}
	md, _, problems, err := submittedMetadata(c, true, problems)
	if err != nil {
		return err
	}
	if len(f.Metadata) > maxSPMetadata {
		f.Metadata = "" // not worth sending back
	}
	refuse := func(problems []string) error {
		f.Errors = problems
		return render(c, fiber.StatusUnprocessableEntity, views.NewSAMLAppPage(h.pageBase(c, "Register a SAML application", "applications"), f))
	}
	if len(problems) > 0 {
		return refuse(problems)
	}
	actor := currentUser(c)
	var sp store.SAMLServiceProvider
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		sp, err = tx.CreateSAMLServiceProvider(ctx, store.SAMLServiceProvider{
			EntityID: md.entity.EntityID, Name: name, Metadata: md.xml, ACSURL: md.acs, CreatedAt: h.now(),
		})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventSAMLSPCreated, ptr(actor.ID), nil, map[string]any{
			"sp_id": sp.ID, "entity_id": sp.EntityID, "name": sp.Name, "acs": sp.ACSURL,
		}))
	})
	if errors.Is(err, store.ErrConflict) {
		return refuse([]string{msgEntityTaken})
	}
	if err != nil {
		return err
	}
	return redirect(c, spPath(sp.ID)+"?notice=created")
}

// spNotices are the fixed messages a service provider's page may show.
var spNotices = map[string]string{
	"created": "The service provider is registered. Give it weftid's metadata URL (below) if it has not got it yet.",
	"saved":   "Saved.",
}

// showSAMLApp is a service provider's page: what it is, and forms to rename it, replace its
// metadata or remove it (admins).
func (h *Handler) showSAMLApp(c *fiber.Ctx) error {
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), views.SAMLAppDetail{
		IdP: h.samlIdPInfo(), App: sp, Name: sp.Name, Notice: spNotices[c.Query("notice")],
	}))
}

// updateSAMLApp saves a new name and, if given, new metadata (admins). The entity ID may change
// with the metadata, but not to one another service provider has.
func (h *Handler) updateSAMLApp(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	d := views.SAMLAppDetail{IdP: h.samlIdPInfo(), App: sp, Metadata: c.FormValue("metadata")}
	var problems []string
	name, problem := spName(c.FormValue("name"))
	d.Name = name
	if problem != "" {
		problems = append(problems, problem)
	}
	md, given, problems, err := submittedMetadata(c, false, problems)
	if err != nil {
		return err
	}
	if len(d.Metadata) > maxSPMetadata {
		d.Metadata = ""
	}
	refuse := func(problems []string) error {
		d.Errors = problems
		return render(c, fiber.StatusUnprocessableEntity, views.SAMLAppPage(h.pageBase(c, sp.Name, "applications"), d))
	}
	if len(problems) > 0 {
		return refuse(problems)
	}
	changed := []string{}
	updated := sp
	updated.Name, updated.UpdatedAt = name, h.now()
	if name != sp.Name {
		changed = append(changed, "name")
	}
	if given {
		updated.EntityID, updated.Metadata, updated.ACSURL = md.entity.EntityID, md.xml, md.acs
		changed = append(changed, "metadata")
	}
	if len(changed) == 0 {
		return redirect(c, spPath(sp.ID)+"?notice=saved")
	}
	actor := currentUser(c)
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateSAMLServiceProvider(ctx, updated); err != nil {
			return err
		}
		details := map[string]any{"sp_id": sp.ID, "entity_id": updated.EntityID, "name": updated.Name, "changed": changed}
		if updated.EntityID != sp.EntityID {
			details["previous_entity_id"] = sp.EntityID
		}
		return tx.AddEvent(ctx, h.event(c, store.EventSAMLSPUpdated, ptr(actor.ID), nil, details))
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return refuse([]string{msgEntityTaken})
	case errors.Is(err, store.ErrNotFound):
		return fiber.ErrNotFound
	case err != nil:
		return err
	}
	return redirect(c, spPath(sp.ID)+"?notice=saved")
}

// deleteSAMLApp removes a service provider and the requests held for it (admins).
func (h *Handler) deleteSAMLApp(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sp, err := h.pathSAMLApp(c)
	if err != nil {
		return err
	}
	actor := currentUser(c)
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSAMLServiceProvider(ctx, sp.ID); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventSAMLSPDeleted, ptr(actor.ID), nil, map[string]any{
			"sp_id": sp.ID, "entity_id": sp.EntityID, "name": sp.Name,
		}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(c, "/applications/saml?notice=deleted")
}

// dashboardSAMLApps lists the service providers the dashboard offers to open.
func (h *Handler) dashboardSAMLApps(c *fiber.Ctx) ([]views.SAMLDashboardApp, error) {
	sps, err := h.store.SAMLServiceProviders(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := make([]views.SAMLDashboardApp, 0, len(sps))
	for _, sp := range sps {
		host := sp.ACSURL
		if u, err := url.Parse(sp.ACSURL); err == nil {
			host = u.Host
		}
		out = append(out, views.SAMLDashboardApp{ID: sp.ID, Name: sp.Name, Host: host})
	}
	return out, nil
}
