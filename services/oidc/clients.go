package oidc

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// Errors of the app registry.
var (
	// ErrClientNotFound: no client has that id.
	ErrClientNotFound = errors.New("oidc: no such client")
	// ErrPublicClient: a public client has no secret to regenerate.
	ErrPublicClient = errors.New("a public client has no secret")
)

// FormError is a registration or edit form that cannot be saved; its text says why, in words
// for the admin.
type FormError string

func (e FormError) Error() string { return string(e) }

// The problems of a registration or edit form.
const (
	ErrNameMissing       FormError = "Enter a name."
	ErrNameTooLong       FormError = "The name can be at most 100 characters."
	ErrNameChars         FormError = auth.MsgNameNotPlain
	ErrClientType        FormError = "Choose Confidential or Public."
	ErrPublicService     FormError = "A service client must be confidential: it authenticates with its secret."
	ErrHomeURL           FormError = "The home URL must be an https address (or http on localhost)."
	ErrRedirectURI       FormError = "Each redirect URI must be an https address (or http on localhost, 127.0.0.1 or [::1]) without a #fragment"
	ErrTooManyRedirects  FormError = "At most 20 redirect URIs."
	ErrNoRedirectURI     FormError = "Enter at least one redirect URI."
	ErrPostLogoutURI     FormError = "Each post-logout redirect URI must be an https address (or http on localhost, 127.0.0.1 or [::1]) without a #fragment"
	ErrTooManyLogoutURIs FormError = "At most 20 post-logout redirect URIs."
	ErrStrength          FormError = "Choose the required authentication strength: the tenant's, or Enhanced."
	maxRedirectURIs                = 20
	maxURLLength                   = 2000
	maxClientName                  = 100
	maxQuotedRedirectURI           = 200
)

// ClientInput is what the registration and edit forms say of a client.
type ClientInput struct {
	Name         string
	RedirectURIs string // one per line
	Public       bool
	Type         string // "confidential", "public" or "" (confidential); anything else is refused
	Service      bool   // may use client credentials (confidential only)
	HomeURL      string
	// PostLogoutRedirectURIs are where RP-initiated logout may return to, one per line.
	PostLogoutRedirectURIs string
	// RequiredAuthStrength is auth.AppStrengthTenant ("" too) or auth.AppStrengthEnhanced.
	RequiredAuthStrength string
	Access               groups.Setting // who may sign in ("Who may sign in")
}

// client checks the input and makes the client it describes (without id, times or secret).
func (in ClientInput) client() (store.OAuthClient, error) {
	name, homeURL := strings.TrimSpace(in.Name), strings.TrimSpace(in.HomeURL)
	strength := in.RequiredAuthStrength
	if strength == "" {
		strength = auth.AppStrengthTenant
	}
	cl := store.OAuthClient{Name: name, Confidential: !in.Public, Service: in.Service, HomeURL: homeURL, RequiredAuthStrength: strength}
	var err error
	switch {
	case name == "":
		return cl, ErrNameMissing
	case len(name) > maxClientName:
		return cl, ErrNameTooLong
	case !auth.PlainText(name):
		return cl, ErrNameChars
	case in.Type != "" && in.Type != "confidential" && in.Type != "public":
		return cl, ErrClientType
	case in.Public && in.Service:
		return cl, ErrPublicService
	case homeURL != "" && !allowedAppURL(homeURL):
		return cl, ErrHomeURL
	case !auth.ValidAppStrength(strength):
		return cl, ErrStrength
	}
	if cl.RedirectURIs, err = appURLs(in.RedirectURIs, ErrRedirectURI, ErrTooManyRedirects); err != nil {
		return cl, err
	}
	if len(cl.RedirectURIs) == 0 && !in.Service {
		return cl, ErrNoRedirectURI
	}
	cl.PostLogoutRedirectURIs, err = appURLs(in.PostLogoutRedirectURIs, ErrPostLogoutURI, ErrTooManyLogoutURIs)
	return cl, err
}

// appURLs reads a list of URIs, one per line, each under the rules of redirect URIs (bad names
// the first that breaks them), at most maxRedirectURIs of them (else tooMany).
func appURLs(lines string, bad, tooMany FormError) ([]string, error) {
	var uris []string
	for _, line := range strings.Split(lines, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !allowedAppURL(line) {
			if len(line) > maxQuotedRedirectURI {
				line = line[:maxQuotedRedirectURI]
			}
			return nil, bad + FormError(": "+line)
		}
		uris = append(uris, line)
	}
	if len(uris) > maxRedirectURIs {
		return nil, tooMany
	}
	return uris, nil
}

// allowedAppURL accepts an absolute https URL, or http on a loopback host, without a fragment
// (not even an empty one), whose host is a DNS name or an IP address (no wildcard) and whose
// port, if any, is one.
func allowedAppURL(s string) bool {
	if len(s) > maxURLLength || strings.ContainsAny(s, " \t\r\n\\#") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || !validURLHost(u.Hostname()) {
		return false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return false
		}
	} else if strings.HasSuffix(u.Host, ":") {
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

// validURLHost reports whether host (without brackets or port) is an IP address or a domain
// name (auth.DNSName, with or without its final dot).
func validURLHost(host string) bool {
	return net.ParseIP(host) != nil || len(host) <= 253 && auth.DNSName(strings.TrimSuffix(host, "."))
}

// newClientSecret makes a secret and its keyed hash.
func (s *Service) newClientSecret() (string, []byte) {
	secret := auth.NewToken()
	return secret, s.keys.HashToken(hashClientSecret, secret)
}

func clientDetails(cl store.OAuthClient) map[string]any {
	return map[string]any{
		"client_id": cl.ClientID, "name": cl.Name, "confidential": cl.Confidential, "service": cl.Service,
		"redirect_uris": strings.Join(cl.RedirectURIs, " "), "home_url": cl.HomeURL,
		"post_logout_redirect_uris": strings.Join(cl.PostLogoutRedirectURIs, " "), "required_auth_strength": cl.RequiredAuthStrength,
	}
}

// Clients lists the registered clients.
func (s *Service) Clients(ctx context.Context) ([]store.OAuthClient, error) {
	return s.st.ListOAuthClients(ctx)
}

// Client is the client id, or ErrClientNotFound.
func (s *Service) Client(ctx context.Context, id string) (store.OAuthClient, error) {
	cl, err := s.st.OAuthClientByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return cl, ErrClientNotFound
	}
	return cl, err
}

// CreateClient registers a client (a FormError says what is wrong with in) and logs
// oauth2_client_created. A confidential client gets its secret, returned to be shown once.
func (s *Service) CreateClient(ctx context.Context, in ClientInput, a Actor) (store.OAuthClient, string, error) {
	cl, err := in.client()
	if err != nil {
		return cl, "", err
	}
	now := s.now()
	cl.ClientID = auth.NewToken()[:22]
	cl.CreatedAt, cl.UpdatedAt = now, now
	var secret string
	if cl.Confidential {
		secret, cl.SecretHash = s.newClientSecret()
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateOAuthClient(ctx, cl); err != nil {
			return err
		}
		d := clientDetails(cl)
		if err := saveAccess(ctx, tx, cl.ClientID, in.Access, d, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2ClientCreated, nil, d))
	})
	return cl, secret, err
}

// UpdateClient saves the edit of client id (ErrClientNotFound; a FormError says what is wrong
// with in) and logs oauth2_client_updated. A client turned confidential gets a new secret,
// returned to be shown once; one turned public loses its secret.
func (s *Service) UpdateClient(ctx context.Context, id string, in ClientInput, a Actor) (store.OAuthClient, string, error) {
	old, err := s.Client(ctx, id)
	if err != nil {
		return old, "", err
	}
	cl, err := in.client()
	if err != nil {
		return cl, "", err
	}
	cl.ClientID, cl.CreatedAt, cl.UpdatedAt = old.ClientID, old.CreatedAt, s.now()
	var secret string
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateOAuthClient(ctx, cl); err != nil {
			return err
		}
		if cl.Confidential && old.SecretHash == nil {
			secret, cl.SecretHash = s.newClientSecret()
			if err := tx.SetOAuthClientSecret(ctx, cl.ClientID, cl.SecretHash, cl.UpdatedAt); err != nil {
				return err
			}
		}
		d := clientDetails(cl)
		if err := saveAccess(ctx, tx, cl.ClientID, in.Access, d, cl.UpdatedAt); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2ClientUpdated, nil, d))
	})
	if errors.Is(err, store.ErrNotFound) {
		return cl, "", ErrClientNotFound
	}
	return cl, secret, err
}

// RegenerateSecret replaces a confidential client's secret (ErrClientNotFound,
// ErrPublicClient) and logs oauth2_client_secret_regenerated. The new secret is returned to be
// shown once; the old one stops working.
func (s *Service) RegenerateSecret(ctx context.Context, id string, a Actor) (store.OAuthClient, string, error) {
	cl, err := s.Client(ctx, id)
	if err != nil {
		return cl, "", err
	}
	if !cl.Confidential {
		return cl, "", ErrPublicClient
	}
	secret, hash := s.newClientSecret()
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetOAuthClientSecret(ctx, cl.ClientID, hash, s.now()); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2ClientSecretRegenerated, nil,
			map[string]any{"client_id": cl.ClientID, "name": cl.Name}))
	})
	if err != nil {
		return cl, "", err
	}
	cl.SecretHash = hash
	return cl, secret, nil
}

// DeleteClient removes client id and every token issued to it (ErrClientNotFound), and logs
// oauth2_client_deleted with the number of tokens.
func (s *Service) DeleteClient(ctx context.Context, id string, a Actor) error {
	cl, err := s.Client(ctx, id)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		n, err := tx.DeleteOAuthClient(ctx, cl.ClientID)
		if err != nil {
			return err
		}
		if err := groups.Forget(ctx, tx, clientApp(cl.ClientID)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, s.event(a, store.EventOAuth2ClientDeleted, nil,
			map[string]any{"client_id": cl.ClientID, "name": cl.Name, "tokens": n}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrClientNotFound
	}
	return err
}

// HomeApps are the clients with a home URL that user userID may sign in to, for their dashboard.
func (s *Service) HomeApps(ctx context.Context, userID int64) ([]store.OAuthClient, error) {
	clients, err := s.st.ListOAuthClients(ctx)
	if err == nil {
		clients, err = groups.Openable(ctx, s.access, userID, store.AppOIDC, clients, func(c store.OAuthClient) string { return c.ClientID })
	}
	if err != nil {
		return nil, err
	}
	var apps []store.OAuthClient
	for _, cl := range clients {
		if cl.HomeURL != "" && allowedAppURL(cl.HomeURL) {
			apps = append(apps, cl)
		}
	}
	return apps, nil
}
