package saml

// The service provider registry: admins register, change and remove service providers by their
// metadata; the dashboard lists them to open.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// MaxMetadata bounds the metadata of one service provider (a few kilobytes, usually). A form's
// file is read to at most MaxMetadata+1 bytes: enough to tell that it is too large.
const MaxMetadata = 256 << 10

// maxName bounds an application's name.
const maxName = 100

// ErrNotFound: there is no service provider with that id.
var ErrNotFound = errors.New("saml: no such service provider")

// Problems are what is wrong with what an admin submitted, in words for them.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, " ") }

// msgEntityTaken is the problem of an entity ID that another service provider has.
const msgEntityTaken = "A service provider with this entity ID is registered already."

// MetadataInput is metadata as an admin gave it: pasted text, a chosen file's contents, or the
// URL to fetch it from.
type MetadataInput struct {
	Data []byte
	File bool   // it came as a file (the words for "too large" differ)
	URL  string // fetch it from here
}

// givenData says whether the admin pasted or chose metadata.
func (m MetadataInput) givenData() bool {
	return m.File || len(m.Data) > MaxMetadata || len(bytes.TrimSpace(m.Data)) > 0
}

// given says whether the admin gave any metadata.
func (m MetadataInput) given() bool { return m.givenData() || strings.TrimSpace(m.URL) != "" }

// SPInput is the form an admin submits for a service provider: its name and its metadata
// (optional when changing one: without it the metadata stays).
type SPInput struct {
	Name     string
	Metadata MetadataInput
	// RequiredAuthStrength is auth.AppStrengthTenant ("" too) or auth.AppStrengthEnhanced.
	RequiredAuthStrength string
	Access               groups.Setting // who may sign in ("Who may sign in")
}

// strength is the required authentication strength the form chose.
func (in SPInput) strength() string {
	if in.RequiredAuthStrength == "" {
		return auth.AppStrengthTenant
	}
	return in.RequiredAuthStrength
}

// spMetadata is a service provider's metadata, parsed and checked.
type spMetadata struct {
	entity *crewjam.EntityDescriptor
	acs    string // the first HTTP-POST assertion consumer service
	xml    string // as given, without surrounding space: what is stored
	url    string // where it was fetched from ("" when pasted or uploaded)
}

// postACS returns the SP descriptor and the first assertion consumer service with the HTTP-POST
// binding: where IdP-initiated sign-on sends its response.
func (m spMetadata) postACS() (*crewjam.SPSSODescriptor, *crewjam.IndexedEndpoint) {
	for i := range m.entity.SPSSODescriptors {
		d := &m.entity.SPSSODescriptors[i]
		for j := range d.AssertionConsumerServices {
			if e := d.AssertionConsumerServices[j]; e.Binding == crewjam.HTTPPostBinding {
				return d, &e
			}
		}
	}
	return nil, nil
}

// errMetadata is a problem with pasted or uploaded metadata, in words for the admin.
type errMetadata string

func (e errMetadata) Error() string { return string(e) }

// checkInput checks an admin's form: the name, and the metadata if given or required (fetched
// when given as a URL). Its problems come back together as Problems.
func (s *Service) checkInput(ctx context.Context, adminID int64, in SPInput, required bool) (name string, md spMetadata, given bool, err error) {
	var problems Problems
	name = strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxName {
		problems = append(problems, fmt.Sprintf("Enter a name of at most %d characters.", maxName))
	} else if !auth.PlainText(name) {
		problems = append(problems, auth.MsgNameNotPlain)
	}
	if !auth.ValidAppStrength(in.strength()) {
		problems = append(problems, "Choose the required authentication strength: the tenant's, or Enhanced.")
	}
	given = in.Metadata.given()
	if given || required {
		switch {
		case in.Metadata.givenData() && strings.TrimSpace(in.Metadata.URL) != "":
			err = errMetadata("Give the metadata one way: its URL, the pasted XML or its file, not several.")
		case strings.TrimSpace(in.Metadata.URL) != "":
			md, err = s.fetchMetadata(ctx, adminID, in.Metadata.URL)
		case len(in.Metadata.Data) > MaxMetadata && in.Metadata.File:
			err = errMetadata(fmt.Sprintf("The file is larger than %d KB; choose the metadata of one service provider.", MaxMetadata>>10))
		case len(in.Metadata.Data) > MaxMetadata:
			err = errMetadata(fmt.Sprintf("The metadata is larger than %d KB; paste the metadata of one service provider.", MaxMetadata>>10))
		default:
			md, err = parseMetadata(in.Metadata.Data)
		}
		var em errMetadata
		if errors.As(err, &em) {
			problems = append(problems, string(em))
		} else if err != nil {
			return name, md, given, err
		}
	}
	if len(problems) > 0 {
		return name, md, given, problems
	}
	return name, md, given, nil
}

// parseMetadata reads a service provider's metadata: one EntityDescriptor (alone, or the only
// one in an EntitiesDescriptor, with nothing after it) with an entity ID, an SPSSODescriptor, at
// least one assertion consumer service with the HTTP-POST binding at an https URL (http on
// localhost), single logout services under the same rule, and certificates that parse. Its
// errors (errMetadata) say what is wrong, in words.
func parseMetadata(data []byte) (spMetadata, error) { return readMetadata(data, true) }

// storedMetadata reads metadata weftid stored earlier, under the rules it was accepted by: the
// rules of input (parseMetadata) may have grown since (https endpoints, nothing after the root),
// and a service provider registered before must keep working until an admin replaces its
// metadata.
func storedMetadata(data string) (spMetadata, error) { return readMetadata([]byte(data), false) }

// readMetadata is parseMetadata, or with input false storedMetadata.
func readMetadata(data []byte, input bool) (spMetadata, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return spMetadata{}, errMetadata("Paste the service provider's metadata XML or choose its file.")
	}
	if len(data) > MaxMetadata {
		return spMetadata{}, errMetadata(fmt.Sprintf("The metadata is larger than %d KB; paste the metadata of one service provider.", MaxMetadata>>10))
	}
	if !utf8.Valid(data) {
		return spMetadata{}, errMetadata("The metadata is not UTF-8 text. Is this the right file?")
	}
	root, err := readRoot(data)
	if err != nil && !input {
		root, err = firstElement(data)
	}
	if err != nil {
		return spMetadata{}, err
	}
	entity := &crewjam.EntityDescriptor{}
	switch root {
	case "EntityDescriptor":
		err = xml.Unmarshal(data, entity)
	case "EntitiesDescriptor":
		var all crewjam.EntitiesDescriptor
		if err = xml.Unmarshal(data, &all); err == nil && len(all.EntityDescriptors) != 1 {
			return spMetadata{}, errMetadata(fmt.Sprintf("The metadata describes %d entities; paste the metadata of one service provider.", len(all.EntityDescriptors)))
		} else if err == nil {
			entity = &all.EntityDescriptors[0]
		}
	default:
		return spMetadata{}, errMetadata("The metadata must be a SAML EntityDescriptor; this file starts with <" + truncate(root, 40) + ">.")
	}
	if err != nil {
		return spMetadata{}, unreadable(err)
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
	m := spMetadata{entity: entity, xml: string(data)}
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
		for _, slo := range d.SingleLogoutServices {
			for _, loc := range []string{slo.Location, slo.ResponseLocation} {
				if msg := endpointProblem(loc, input); loc != "" && msg != "" && sloBinding(slo.Binding) {
					return spMetadata{}, errMetadata("The single logout service " + strconv.Quote(truncate(loc, 200)) + msg)
				}
			}
		}
		for _, acs := range d.AssertionConsumerServices {
			if acs.Binding != crewjam.HTTPPostBinding {
				continue
			}
			if msg := endpointProblem(acs.Location, input); msg != "" {
				return spMetadata{}, errMetadata("The assertion consumer service " + strconv.Quote(truncate(acs.Location, 200)) + msg)
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

// endpointProblem says what is wrong with the address of an endpoint weftid sends to ("" when
// nothing is): it must be an absolute https URL, or http on localhost, 127.0.0.1 or [::1] (the
// rule of OpenID Connect redirect URIs), for a response sent over plain http elsewhere can be
// read and replayed on the way. Stored metadata (input false) keeps the http addresses it was
// accepted with.
func endpointProblem(raw string, input bool) string {
	if _, err := originOf(raw); err != nil {
		return " is not an absolute http or https URL."
	}
	if u, _ := url.Parse(raw); input && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		return " must be an https address (http only on localhost, 127.0.0.1 or [::1])."
	}
	return ""
}

// loopbackHost says whether host is localhost, 127.0.0.1 or ::1, where http is allowed.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip == netip.MustParseAddr("127.0.0.1") || ip == netip.IPv6Loopback())
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ServiceProviders lists the registered service providers.
func (s *Service) ServiceProviders(ctx context.Context) ([]store.SAMLServiceProvider, error) {
	return s.store.SAMLServiceProviders(ctx)
}

// ServiceProvider is the registered service provider id, or ErrNotFound.
func (s *Service) ServiceProvider(ctx context.Context, id int64) (store.SAMLServiceProvider, error) {
	sp, err := s.store.SAMLServiceProvider(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sp, ErrNotFound
	}
	return sp, err
}

// CreateServiceProvider registers a service provider from its metadata and records
// saml_sp_created, in one transaction. Problems says what is wrong with the input, including an
// entity ID that is registered already.
func (s *Service) CreateServiceProvider(ctx context.Context, adminID int64, from store.Origin, in SPInput) (store.SAMLServiceProvider, error) {
	name, md, _, err := s.checkInput(ctx, adminID, in, true)
	if err != nil {
		return store.SAMLServiceProvider{}, err
	}
	var sp store.SAMLServiceProvider
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		sp = store.SAMLServiceProvider{Name: name, CreatedAt: s.now()}
		s.setMetadata(&sp, md)
		if sp, err = tx.CreateSAMLServiceProvider(ctx, sp); err != nil {
			return err
		}
		sp.RequiredAuthStrength = in.strength()
		if err := tx.SetSAMLSPRequiredStrength(ctx, sp.ID, sp.RequiredAuthStrength); err != nil {
			return err
		}
		if _, err := in.Access.Save(ctx, tx, groups.SAMLApp(sp.ID), s.now()); err != nil {
			return err
		}
		details := map[string]any{"sp_id": sp.ID, "entity_id": sp.EntityID, "name": sp.Name, "acs": sp.ACSURL,
			"required_auth_strength": sp.RequiredAuthStrength}
		if sp.MetadataURL != "" {
			details["metadata_url"] = sp.MetadataURL
		}
		in.Access.AddDetails(details)
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventSAMLSPCreated, ptr(adminID), nil, details))
	})
	if errors.Is(err, store.ErrConflict) {
		return store.SAMLServiceProvider{}, Problems{msgEntityTaken}
	}
	return sp, err
}

// UpdateServiceProvider saves sp's new name and, if given, its new metadata, and records
// saml_sp_updated (what changed), in one transaction; nothing changed, nothing is written. The
// entity ID may change with the metadata, but not to one another service provider has
// (Problems). ErrNotFound when sp was removed meanwhile.
func (s *Service) UpdateServiceProvider(ctx context.Context, adminID int64, from store.Origin, sp store.SAMLServiceProvider, in SPInput) error {
	name, md, given, err := s.checkInput(ctx, adminID, in, false)
	if err != nil {
		return err
	}
	changed := []string{}
	updated := sp
	updated.Name, updated.UpdatedAt = name, s.now()
	if name != sp.Name {
		changed = append(changed, "name")
	}
	if given {
		s.setMetadata(&updated, md)
		changed = append(changed, "metadata")
	}
	if updated.RequiredAuthStrength = in.strength(); updated.RequiredAuthStrength != sp.RequiredAuthStrength {
		changed = append(changed, "required_auth_strength")
	}
	return s.saveServiceProvider(ctx, adminID, from, sp, updated, changed, in.Access)
}

// setMetadata gives sp the metadata md: its entity ID, its ACS, and where it was fetched from
// (pasted or uploaded metadata has no URL to refresh from).
func (s *Service) setMetadata(sp *store.SAMLServiceProvider, md spMetadata) {
	sp.EntityID, sp.Metadata, sp.ACSURL, sp.MetadataURL = md.entity.EntityID, md.xml, md.acs, md.url
	sp.MetadataFetchedAt = time.Time{}
	if md.url != "" {
		sp.MetadataFetchedAt = s.now()
	}
}

// ErrNoMetadataURL: the service provider's metadata was not fetched from a URL, so there is
// nothing to refresh it from.
var ErrNoMetadataURL = errors.New("saml: the service provider's metadata has no URL")

// RefreshMetadata fetches sp's metadata again from the URL it was fetched from and, when it
// changed, saves it and records saml_sp_updated (as an edit does), in one transaction; changed
// says whether it did. Its problems (the fetch, the metadata) are Problems; ErrNoMetadataURL when
// sp has no URL, ErrNotFound when it was removed meanwhile.
func (s *Service) RefreshMetadata(ctx context.Context, adminID int64, from store.Origin, sp store.SAMLServiceProvider) (changed bool, err error) {
	if sp.MetadataURL == "" {
		return false, ErrNoMetadataURL
	}
	md, err := s.fetchMetadata(ctx, adminID, sp.MetadataURL)
	var em errMetadata
	if errors.As(err, &em) {
		return false, Problems{string(em)}
	}
	if err != nil || md.xml == sp.Metadata {
		return false, err
	}
	updated := sp
	updated.UpdatedAt = s.now()
	s.setMetadata(&updated, md)
	return true, s.saveServiceProvider(ctx, adminID, from, sp, updated, []string{"metadata"}, groups.Setting{})
}

// saveServiceProvider saves updated over sp and access (when chosen) and records saml_sp_updated
// with what changed, in one transaction; nothing changed, nothing is written.
func (s *Service) saveServiceProvider(ctx context.Context, adminID int64, from store.Origin, sp, updated store.SAMLServiceProvider, changed []string, access groups.Setting) error {
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if saved, err := access.Save(ctx, tx, groups.SAMLApp(sp.ID), updated.UpdatedAt); err != nil {
			return err
		} else if saved {
			changed = append(changed, "access")
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateSAMLServiceProvider(ctx, updated); err != nil {
			return err
		}
		if err := tx.SetSAMLSPRequiredStrength(ctx, sp.ID, updated.RequiredAuthStrength); err != nil {
			return err
		}
		details := map[string]any{"sp_id": sp.ID, "entity_id": updated.EntityID, "name": updated.Name, "changed": changed,
			"required_auth_strength": updated.RequiredAuthStrength}
		access.AddDetails(details)
		if updated.EntityID != sp.EntityID {
			details["previous_entity_id"] = sp.EntityID
		}
		if updated.MetadataURL != "" {
			details["metadata_url"] = updated.MetadataURL
		}
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventSAMLSPUpdated, ptr(adminID), nil, details))
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return Problems{msgEntityTaken}
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	}
	return err
}

// DeleteServiceProvider removes a service provider and the requests held for it, and records
// saml_sp_deleted, in one transaction. ErrNotFound when there is none.
func (s *Service) DeleteServiceProvider(ctx context.Context, adminID int64, from store.Origin, id int64) error {
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		sp, err := tx.SAMLServiceProvider(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteSAMLServiceProvider(ctx, sp.ID); err != nil {
			return err
		}
		if err := groups.Forget(ctx, tx, groups.SAMLApp(sp.ID)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventSAMLSPDeleted, ptr(adminID), nil, map[string]any{
			"sp_id": sp.ID, "entity_id": sp.EntityID, "name": sp.Name,
		}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// App is a service provider as the dashboard offers it: its name and the host it lives on.
type App struct {
	ID   int64
	Name string
	Host string
}

// DashboardApps lists the service providers user userID may sign in to, which their dashboard
// offers to open.
func (s *Service) DashboardApps(ctx context.Context, userID int64) ([]App, error) {
	sps, err := s.store.SAMLServiceProviders(ctx)
	if err == nil {
		sps, err = groups.Openable(ctx, s.access, userID, store.AppSAML, sps, func(sp store.SAMLServiceProvider) string { return groups.SAMLApp(sp.ID).ID })
	}
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(sps))
	for _, sp := range sps {
		host := sp.ACSURL
		if u, err := url.Parse(sp.ACSURL); err == nil {
			host = u.Host
		}
		out = append(out, App{ID: sp.ID, Name: sp.Name, Host: host})
	}
	return out, nil
}
