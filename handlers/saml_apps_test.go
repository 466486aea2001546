package handlers_test

// Tests of Applications > SAML: registering, changing and removing service providers.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/weftid/weftid/store"
)

func TestSAMLServiceProviderPages(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	md := string(sp.metadata)
	acs := sp.m.ServiceProvider.AcsURL.String()

	cases := []struct {
		name, field, metadata, want string
	}{
		{"empty", "Wiki", "", "Paste the service provider's metadata XML or choose its file."},
		{"no name", "", md, "Enter a name of at most 100 characters."},
		{"not xml", "Wiki", "hello", "The metadata is not well-formed XML (line 1): there is text before its first element."},
		{"idp metadata", "Wiki", "", "The metadata has no SPSSODescriptor: it does not describe a SAML service provider."},
		{"no entity id", "Wiki", strings.Replace(md, `entityID="https://sp.example.test/saml/metadata"`, "", 1), "The metadata has no entityID."},
		{"no POST ACS", "Wiki", strings.ReplaceAll(md, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"), "The metadata lists no AssertionConsumerService with the HTTP-POST binding; weftid sends its answers by HTTP-POST."},
		{"relative ACS", "Wiki", strings.ReplaceAll(md, `Location="`+acs+`"`, `Location="/saml/acs"`), "An endpoint in the metadata has a Location that is not an absolute http or https URL."},
		{"two entities", "Wiki", "<EntitiesDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\">" + stripDecl(md) + stripDecl(md) + "</EntitiesDescriptor>", "The metadata describes 2 entities; paste the metadata of one service provider."},
		{"wrong root", "Wiki", "<html></html>", "The metadata must be a SAML EntityDescriptor; this file starts with <html>."},
		{"too large", "Wiki", md + strings.Repeat(" ", 300<<10) + "<!-- -->", "The metadata is larger than 256 KB; paste the metadata of one service provider."},
	}
	idpMD := e.newClient().get("/saml/metadata").Body
	for _, tc := range cases {
		metadata := tc.metadata
		if tc.name == "idp metadata" {
			metadata = idpMD
		}
		r := admin.postMultipart("/applications/saml", map[string]string{"name": tc.field, "metadata": metadata}, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %s, want 422", tc.name, r)
			continue
		}
		got := alerts(r.Body)
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: alerts %q, want %q", tc.name, got, tc.want)
		}
	}
	if n := len(e.eventsOf("saml_sp_created")); n != 0 {
		t.Fatalf("%d saml_sp_created after refusals", n)
	}

	// Uploaded as a file: registered; the same entity ID again (pasted) is refused.
	id := registerSP(t, admin, "Wiki", sp.metadata, true)
	ev := e.lastEvent("saml_sp_created")
	if ev.ActorID == nil || ev.Details["entity_id"] != "https://sp.example.test/saml/metadata" || ev.Details["acs"] != acs {
		t.Errorf("saml_sp_created %v (actor %v)", ev.Details, ev.ActorID)
	}
	r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki again", "metadata": md}, nil)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectAlert(t, r, "Please fix the following: A service provider with this entity ID is registered already.")

	// Applications lists it beside the OpenID Connect clients.
	apps := admin.get("/applications")
	if want := fmt.Sprintf(`<a href="/applications/saml/%d">Wiki</a>`, id); !strings.Contains(apps.Body, want) {
		t.Errorf("/applications does not list the service provider (%s)", want)
	}
	list := admin.get("/applications/saml")
	expectStatus(t, list, http.StatusOK)
	for _, want := range []string{"Wiki", "https://sp.example.test/saml/metadata", acs, samlMetadataURL, samlSSOURL} {
		if !strings.Contains(list.Body, want) {
			t.Errorf("the list does not show %q", want)
		}
	}

	// Rename, keeping the metadata.
	page := admin.get(fmt.Sprintf("/applications/saml/%d", id))
	expectStatus(t, page, http.StatusOK)
	expectRedirect(t, admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki"}, nil), fmt.Sprintf("/applications/saml/%d?notice=saved", id))
	got, err := e.store.SAMLServiceProvider(context.Background(), id)
	if err != nil || got.Name != "Team wiki" || got.Metadata != strings.TrimSpace(md) {
		t.Errorf("after renaming: %+v, %v", got.Name, err)
	}
	if ev := e.lastEvent("saml_sp_updated"); fmt.Sprint(ev.Details["changed"]) != "[name]" {
		t.Errorf("saml_sp_updated %v", ev.Details)
	}
	// Replace the metadata with another SP's: the entity ID follows. Bad metadata is refused.
	other := e.newTestSP("other.example.test")
	r = admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki", "metadata": "<nope"}, nil)
	expectStatus(t, r, http.StatusUnprocessableEntity)
	expectRedirect(t, admin.postMultipart(fmt.Sprintf("/applications/saml/%d", id), map[string]string{"name": "Team wiki"}, other.metadata), fmt.Sprintf("/applications/saml/%d?notice=saved", id))
	got, _ = e.store.SAMLServiceProvider(context.Background(), id)
	if got.EntityID != "https://other.example.test/saml/metadata" {
		t.Errorf("after replacing the metadata the entity ID is %q", got.EntityID)
	}

	// Users and signed-out visitors cannot manage.
	_, user := e.signedIn("grace@example.com", "Grace Hopper", store.RoleUser)
	for _, path := range []string{"/applications/saml", "/applications/saml/new", fmt.Sprintf("/applications/saml/%d", id)} {
		expectStatus(t, user.get(path), http.StatusForbidden)
		expectRedirect(t, e.newClient().get(path), "/login")
	}
	expectStatus(t, user.post(fmt.Sprintf("/applications/saml/%d/delete", id), nil), http.StatusForbidden)

	// Remove.
	expectRedirect(t, admin.post(fmt.Sprintf("/applications/saml/%d/delete", id), nil), "/applications/saml?notice=deleted")
	if _, err := e.store.SAMLServiceProvider(context.Background(), id); err != store.ErrNotFound {
		t.Errorf("after removing: %v", err)
	}
	if ev := e.lastEvent("saml_sp_deleted"); ev.Details["entity_id"] != "https://other.example.test/saml/metadata" {
		t.Errorf("saml_sp_deleted %v", ev.Details)
	}
	expectStatus(t, admin.get(fmt.Sprintf("/applications/saml/%d", id)), http.StatusNotFound)
}

// stripDecl drops an XML declaration, to nest a document in another.
func stripDecl(s string) string {
	if strings.HasPrefix(s, "<?xml") {
		return s[strings.Index(s, "?>")+2:]
	}
	return s
}

// Metadata refused for its endpoints or its XML says why in words, never in a parser's: an
// assertion consumer or single logout service over plain http is refused but on localhost,
// 127.0.0.1 and [::1] (the rule of OpenID Connect redirect URIs), and so is anything after the
// root element.
func TestSAMLMetadataRefusalsInWords(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("ada@example.com", "Ada Lovelace", store.RoleAdmin)
	sp := e.newTestSP("sp.example.test")
	md := string(sp.metadata)
	acs := sp.m.ServiceProvider.AcsURL.String()
	slo := sp.m.ServiceProvider.SloURL.String()
	if !strings.Contains(md, `Location="`+slo+`"`) {
		t.Fatalf("test data: no single logout service %s in\n%s", slo, md)
	}
	httpsOnly := " must be an https address (http only on localhost, 127.0.0.1 or [::1])."
	for _, tc := range []struct{ name, metadata, want string }{
		{"http ACS", strings.ReplaceAll(md, acs, "http://sp.example.test/saml/acs"),
			`The assertion consumer service "http://sp.example.test/saml/acs"` + httpsOnly},
		{"http SLO", strings.ReplaceAll(md, slo, "http://sp.example.test/saml/slo"),
			`The single logout service "http://sp.example.test/saml/slo"` + httpsOnly},
		{"http on a name that only starts with localhost", strings.ReplaceAll(md, acs, "http://localhost.example.test/saml/acs"), httpsOnly},
		{"javascript ACS", strings.ReplaceAll(md, acs, "javascript:alert(1)"),
			"An endpoint in the metadata has a Location that is not an absolute http or https URL."},
		{"second root", md + "\n<EntityDescriptor/>", "The metadata has more after its root element <EntityDescriptor> ends (line "},
		{"text after the root", md + "\ntrailing", "The metadata has more after its root element <EntityDescriptor> ends (line "},
		{"cut short", md[:strings.LastIndex(md, "</")], "): it ends before its elements are closed."},
		{"cut inside a tag", md[:strings.LastIndex(md, "</")+3], "The metadata is not well-formed XML (line "},
		{"unknown entity", "<x>&c;</x>", "The metadata is not well-formed XML (line 1)."},
		{"mismatched tags", "<a>\n<b></a>", "The metadata is not well-formed XML (line 2)."},
		{"no element", "<!-- nothing -->", "The metadata is not XML: it has no element."},
		{"bad index", strings.Replace(md, `index="1"`, `index="one"`, 1), "A number in the metadata (an index, say) is not a number."},
	} {
		r := admin.postMultipart("/applications/saml", map[string]string{"name": "Wiki", "metadata": tc.metadata}, nil)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %s, want 422", tc.name, r)
			continue
		}
		got := alerts(r.Body)
		if len(got) != 1 || !strings.Contains(got[0], tc.want) {
			t.Errorf("%s: alerts %q, want %q", tc.name, got, tc.want)
		}
		for _, raw := range []string{"EOF", "syntax error", "invalid ", "strconv", "&c;"} {
			if len(got) == 1 && strings.Contains(got[0], raw) {
				t.Errorf("%s: the alert shows the parser's own words (%q): %q", tc.name, raw, got[0])
			}
		}
	}
	if n := len(e.eventsOf("saml_sp_created")); n != 0 {
		t.Fatalf("%d saml_sp_created after refusals", n)
	}

	// Plain http on the loopback names is fine, for a service provider under development.
	for i, host := range []string{"localhost:8080", "127.0.0.1", "[::1]:9000"} {
		local := strings.ReplaceAll(md, "https://sp.example.test", "http://"+host)
		local = strings.ReplaceAll(local, `entityID="http://`+host, fmt.Sprintf(`entityID="urn:sp:%d:`, i))
		registerSP(t, admin, "Local "+host, []byte(local), false)
	}
}
