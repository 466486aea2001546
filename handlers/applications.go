package handlers

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// applicationNotices are the fixed messages the Applications pages may show (?notice= names one).
var applicationNotices = map[string]string{
	"created":     "The app is registered.",
	"saved":       "The changes are saved.",
	"deleted":     "The app was removed. Every token issued to it stopped working.",
	"key_rotated": "A new signing key signs ID tokens from now on. The old one stays published until its tokens expire.",
}

const (
	maxRedirectURIs = 20
	maxURLLength    = 2000
	maxClientName   = 100
)

// showApplications lists the OpenID Connect clients (admins); SAML has its own page.
func (h *Handler) showApplications(c *fiber.Ctx) error {
	ctx := c.UserContext()
	clients, err := h.store.ListOAuthClients(ctx)
	if err != nil {
		return err
	}
	sps, err := h.store.SAMLServiceProviders(ctx)
	if err != nil {
		return err
	}
	l := views.ApplicationList{
		Clients:      clients,
		SAMLApps:     sps,
		Notice:       applicationNotices[c.Query("notice")],
		CanRotateKey: currentUser(c).Role == store.RoleSuperAdmin,
	}
	if h.oidc != nil {
		l.Issuer = h.oidc.issuer
		keys, err := h.store.OIDCSigningKeys(ctx, h.now())
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !k.ActivatesAt.After(h.now()) {
				l.KeyID, l.KeySince = k.KID, k.ActivatesAt
				break
			}
		}
	}
	return render(c, fiber.StatusOK, views.ApplicationsPage(h.pageBase(c, "Applications", "applications"), l))
}

func (h *Handler) clientPage(c *fiber.Ctx, status int, f views.ClientForm) error {
	title := "Register an OpenID Connect app"
	if f.ClientID != "" {
		title = f.Name
	}
	return render(c, status, views.ClientPage(h.pageBase(c, title, "applications"), f))
}

// showNewClient is the registration form.
func (h *Handler) showNewClient(c *fiber.Ctx) error {
	return h.clientPage(c, fiber.StatusOK, views.ClientForm{})
}

// clientFromForm reads and checks the registration/edit form.
func clientFromForm(c *fiber.Ctx) (store.OAuthClient, views.ClientForm, string) {
	f := views.ClientForm{
		Name:         strings.TrimSpace(c.FormValue("name")),
		RedirectURIs: strings.TrimSpace(c.FormValue("redirect_uris")),
		Public:       c.FormValue("type") == "public",
		Service:      c.FormValue("service") == "1",
		HomeURL:      strings.TrimSpace(c.FormValue("home_url")),
	}
	cl := store.OAuthClient{Name: f.Name, Confidential: !f.Public, Service: f.Service, HomeURL: f.HomeURL}
	switch {
	case f.Name == "":
		return cl, f, "Enter a name."
	case len(f.Name) > maxClientName:
		return cl, f, "The name can be at most 100 characters."
	case f.Public && f.Service:
		return cl, f, "A service client must be confidential: it authenticates with its secret."
	case f.HomeURL != "" && !allowedAppURL(f.HomeURL):
		return cl, f, "The home URL must be an https address (or http on localhost)."
	}
	for _, line := range strings.Split(f.RedirectURIs, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !allowedAppURL(line) {
			return cl, f, "Each redirect URI must be an https address (or http on localhost, 127.0.0.1 or [::1]) without a #fragment: " + truncate(line, 200)
		}
		cl.RedirectURIs = append(cl.RedirectURIs, line)
	}
	switch {
	case len(cl.RedirectURIs) > maxRedirectURIs:
		return cl, f, "At most 20 redirect URIs."
	case len(cl.RedirectURIs) == 0 && !f.Service:
		return cl, f, "Enter at least one redirect URI."
	}
	f.RedirectURIs = strings.Join(cl.RedirectURIs, "\n")
	return cl, f, ""
}

// allowedAppURL accepts an absolute https URL, or http on a loopback host, without a fragment.
func allowedAppURL(s string) bool {
	if len(s) > maxURLLength || strings.ContainsAny(s, " \t\r\n\\") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Fragment != "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopbackHost(u.Hostname())
	}
	return false
}

// newClientSecret makes a secret and its keyed hash.
func (h *Handler) newClientSecret() (string, []byte) {
	secret := auth.NewToken()
	return secret, h.keys.HashToken(hashClientSecret, secret)
}

// createClient registers a client; a confidential one gets its secret, shown once.
func (h *Handler) createClient(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := currentUser(c)
	cl, f, problem := clientFromForm(c)
	if problem != "" {
		f.Error = problem
		return h.clientPage(c, fiber.StatusUnprocessableEntity, f)
	}
	now := h.now()
	cl.ClientID = auth.NewToken()[:22]
	cl.CreatedAt, cl.UpdatedAt = now, now
	var secret string
	if cl.Confidential {
		secret, cl.SecretHash = h.newClientSecret()
	}
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOAuthClient(ctx, cl); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOAuth2ClientCreated, ptr(actor.ID), nil, clientDetails(cl)))
	})
	if err != nil {
		return err
	}
	return h.showClientWith(c, cl, applicationNotices["created"], secret)
}

func clientDetails(cl store.OAuthClient) map[string]any {
	return map[string]any{
		"client_id": cl.ClientID, "name": cl.Name, "confidential": cl.Confidential, "service": cl.Service,
		"redirect_uris": strings.Join(cl.RedirectURIs, " "), "home_url": cl.HomeURL,
	}
}

func (h *Handler) showClientWith(c *fiber.Ctx, cl store.OAuthClient, notice, secret string) error {
	return h.clientPage(c, fiber.StatusOK, views.ClientForm{
		ClientID: cl.ClientID, Name: cl.Name, RedirectURIs: strings.Join(cl.RedirectURIs, "\n"), Public: !cl.Confidential,
		Service: cl.Service, HomeURL: cl.HomeURL, Notice: notice, Secret: secret, HasSecret: cl.SecretHash != nil,
	})
}

func (h *Handler) pathClient(c *fiber.Ctx) (store.OAuthClient, error) {
	cl, err := h.store.OAuthClientByID(c.UserContext(), c.Params("id"))
	if errors.Is(err, store.ErrNotFound) {
		return cl, fiber.ErrNotFound
	}
	return cl, err
}

// showClient is a client's page.
func (h *Handler) showClient(c *fiber.Ctx) error {
	cl, err := h.pathClient(c)
	if err != nil {
		return err
	}
	return h.showClientWith(c, cl, applicationNotices[c.Query("notice")], "")
}

// updateClient saves the edit form. A client turned confidential gets a new secret, shown once;
// one turned public loses its secret.
func (h *Handler) updateClient(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := currentUser(c)
	old, err := h.pathClient(c)
	if err != nil {
		return err
	}
	cl, f, problem := clientFromForm(c)
	if problem != "" {
		f.ClientID, f.Error = old.ClientID, problem
		return h.clientPage(c, fiber.StatusUnprocessableEntity, f)
	}
	cl.ClientID, cl.CreatedAt, cl.UpdatedAt = old.ClientID, old.CreatedAt, h.now()
	var secret string
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateOAuthClient(ctx, cl); err != nil {
			return err
		}
		if cl.Confidential && old.SecretHash == nil {
			secret, cl.SecretHash = h.newClientSecret()
			if err := tx.SetOAuthClientSecret(ctx, cl.ClientID, cl.SecretHash, cl.UpdatedAt); err != nil {
				return err
			}
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOAuth2ClientUpdated, ptr(actor.ID), nil, clientDetails(cl)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	if secret != "" {
		return h.showClientWith(c, cl, applicationNotices["saved"], secret)
	}
	return redirect(c, string(clientURL(cl.ClientID))+"?notice=saved")
}

func clientURL(id string) string { return "/applications/oidc/" + id }

// regenerateClientSecret replaces a confidential client's secret; the new one is shown once.
func (h *Handler) regenerateClientSecret(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := currentUser(c)
	cl, err := h.pathClient(c)
	if err != nil {
		return err
	}
	if !cl.Confidential {
		return fiber.NewError(fiber.StatusBadRequest, "a public client has no secret")
	}
	secret, hash := h.newClientSecret()
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetOAuthClientSecret(ctx, cl.ClientID, hash, h.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOAuth2ClientSecretRegenerated, ptr(actor.ID), nil,
			map[string]any{"client_id": cl.ClientID, "name": cl.Name}))
	})
	if err != nil {
		return err
	}
	cl.SecretHash = hash
	return h.showClientWith(c, cl, "A new secret was made. The old one no longer works.", secret)
}

// deleteClient removes a client and every token issued to it.
func (h *Handler) deleteClient(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := currentUser(c)
	cl, err := h.pathClient(c)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.DeleteOAuthClient(ctx, cl.ClientID)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOAuth2ClientDeleted, ptr(actor.ID), nil,
			map[string]any{"client_id": cl.ClientID, "name": cl.Name, "tokens": n}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	return redirect(c, "/applications?notice=deleted")
}

// rotateSigningKey (super admins) makes a new ID-token signing key.
func (h *Handler) rotateSigningKey(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	actor := currentUser(c)
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		kid, err := h.oidc.storage.rotateSigningKey(ctx, tx)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOIDCSigningKeyRotated, ptr(actor.ID), nil, map[string]any{"kid": kid}))
	})
	if err != nil {
		return err
	}
	return redirect(c, "/applications?notice=key_rotated")
}

// dashboardApps are the OIDC apps with a home URL, for the dashboard.
func (h *Handler) dashboardApps(ctx context.Context) ([]views.DashboardApp, error) {
	clients, err := h.store.ListOAuthClients(ctx)
	if err != nil {
		return nil, err
	}
	var apps []views.DashboardApp
	for _, cl := range clients {
		if cl.HomeURL != "" && allowedAppURL(cl.HomeURL) {
			apps = append(apps, views.DashboardApp{Name: cl.Name, URL: cl.HomeURL})
		}
	}
	return apps, nil
}
