package handlers_test

import (
	"html"
	"regexp"
	"testing"
)

// copyValue matches a value shown to paste elsewhere: its text in a <code> with an id (or, for
// the secret, a <data> in a <code>), then its Copy button, hidden until copy.js finds a
// clipboard, and the live region where "Copied" appears.
var copyValue = regexp.MustCompile(`<(?:code|data) id="([a-z-]+)"[^>]*>([^<]+)</(?:code|data)>(?:</code>)?\s*` +
	`<button type="button" class="[^"]*copy-button" data-copy="([a-z-]+)" aria-label="Copy [^"]+" hidden>Copy</button>\s*` +
	`<span class="copy-status" aria-live="polite" data-copy-status></span>`)

// copyValues returns the values with a Copy button on a page, by id.
func copyValues(t *testing.T, body string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range copyValue.FindAllStringSubmatch(body, -1) {
		if m[1] != m[3] {
			t.Errorf("the Copy button of #%s copies #%s", m[1], m[3])
		}
		got[m[1]] = html.UnescapeString(m[2])
	}
	return got
}

// Without JavaScript every value to paste elsewhere is plain text on the page, in full; the Copy
// button beside it is hidden until copy.js runs.
func TestValuesToPasteHaveCopyButtons(t *testing.T) {
	e := newEnv(t)
	admin := e.adminClient()
	registered := admin.post("/applications/oidc", webApp())
	vals := copyValues(t, registered.Body)
	app := oidcApp{ClientID: vals["client-id"], Secret: vals["secret-value"]}
	if m := secretField.FindStringSubmatch(registered.Body); m == nil || app.Secret != html.UnescapeString(m[1]) || len(app.Secret) < 32 || app.ClientID == "" {
		t.Fatalf("after registering, the values with a Copy button are %v, want the client ID and the whole secret", vals)
	}
	for path, want := range map[string]map[string]string{
		"/applications":                      {"oidc-issuer": baseURL, "oidc-discovery": baseURL + "/.well-known/openid-configuration"},
		"/applications/saml":                 {"saml-metadata-url": samlMetadataURL, "saml-entity-id": samlMetadataURL, "saml-sso-url": samlSSOURL},
		"/applications/oidc/" + app.ClientID: {"client-id": app.ClientID},
	} {
		got := copyValues(t, admin.get(path).Body)
		for id, value := range want {
			if got[id] != value {
				t.Errorf("%s: #%s with a Copy button shows %q, want %q", path, id, got[id], value)
			}
		}
	}
}
