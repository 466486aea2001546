package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OAuthClient is a registered OpenID Connect client (an application). A confidential client
// has a secret, kept only as a keyed hash; a public one (a native or single-page app) has none
// and must use PKCE. A service client may also use the client_credentials grant.
type OAuthClient struct {
	ClientID     string
	Name         string
	SecretHash   []byte
	Confidential bool
	Service      bool
	RedirectURIs []string
	HomeURL      string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the browser back to.
	PostLogoutRedirectURIs []string
	// RequiredAuthStrength is auth.AppStrengthTenant or auth.AppStrengthEnhanced.
	RequiredAuthStrength string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

const oauthClientCols = `client_id, name, secret_hash, confidential, service, redirect_uris, home_url, created_at, updated_at,
	post_logout_redirect_uris, required_auth_strength`

func scanOAuthClient(row interface{ Scan(...any) error }) (OAuthClient, error) {
	var c OAuthClient
	var uris, logoutURIs string
	var created, updated int64
	err := row.Scan(&c.ClientID, &c.Name, &c.SecretHash, &c.Confidential, &c.Service, &uris, &c.HomeURL, &created, &updated,
		&logoutURIs, &c.RequiredAuthStrength)
	if errors.Is(err, sql.ErrNoRows) {
		return OAuthClient{}, ErrNotFound
	}
	if err != nil {
		return OAuthClient{}, fmt.Errorf("store: oauth client: %w", err)
	}
	if uris != "" {
		c.RedirectURIs = strings.Split(uris, "\n")
	}
	if logoutURIs != "" {
		c.PostLogoutRedirectURIs = strings.Split(logoutURIs, "\n")
	}
	c.CreatedAt, c.UpdatedAt = fromUnix(created), fromUnix(updated)
	return c, nil
}

// CreateOAuthClient stores a new client; ErrConflict when the client id is taken.
func (q q) CreateOAuthClient(ctx context.Context, c OAuthClient) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO oauth_clients (`+oauthClientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ClientID, c.Name, c.SecretHash, c.Confidential, c.Service, strings.Join(c.RedirectURIs, "\n"), c.HomeURL,
		unix(c.CreatedAt), unix(c.UpdatedAt), strings.Join(c.PostLogoutRedirectURIs, "\n"), c.strength())
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: create oauth client: %w", err)
	}
	return nil
}

// OAuthClientByID returns one client, or ErrNotFound.
func (q q) OAuthClientByID(ctx context.Context, clientID string) (OAuthClient, error) {
	return scanOAuthClient(q.db.QueryRowContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients WHERE client_id = ?`, clientID))
}

// ListOAuthClients returns every client by name.
func (q q) ListOAuthClients(ctx context.Context) ([]OAuthClient, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+oauthClientCols+` FROM oauth_clients ORDER BY lower(name), client_id`)
	if err != nil {
		return nil, fmt.Errorf("store: list oauth clients: %w", err)
	}
	defer rows.Close()
	var out []OAuthClient
	for rows.Next() {
		c, err := scanOAuthClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// strength is the client's required authentication strength as stored: "tenant" unless set.
func (c OAuthClient) strength() string {
	if c.RequiredAuthStrength == "" {
		return "tenant"
	}
	return c.RequiredAuthStrength
}

// UpdateOAuthClient saves a client's name, type, redirect URIs, home URL, post-logout redirect
// URIs and required strength (not its secret).
// A client made public loses its secret.
func (q q) UpdateOAuthClient(ctx context.Context, c OAuthClient) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oauth_clients SET name = ?, confidential = ?, service = ?, redirect_uris = ?,
		home_url = ?, updated_at = ?, secret_hash = CASE WHEN ? = 1 THEN secret_hash ELSE NULL END,
		post_logout_redirect_uris = ?, required_auth_strength = ? WHERE client_id = ?`,
		c.Name, c.Confidential, c.Service, strings.Join(c.RedirectURIs, "\n"), c.HomeURL, unix(c.UpdatedAt), c.Confidential,
		strings.Join(c.PostLogoutRedirectURIs, "\n"), c.strength(), c.ClientID)
	if err != nil {
		return fmt.Errorf("store: update oauth client: %w", err)
	}
	return mustAffect(res)
}

// SetOAuthClientSecret replaces a client's secret hash.
func (q q) SetOAuthClientSecret(ctx context.Context, clientID string, secretHash []byte, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oauth_clients SET secret_hash = ?, updated_at = ? WHERE client_id = ?`,
		secretHash, unix(now), clientID)
	if err != nil {
		return fmt.Errorf("store: oauth client secret: %w", err)
	}
	return mustAffect(res)
}

// DeleteOAuthClient removes a client with its pending requests and every token issued to it,
// and reports how many tokens went.
func (q q) DeleteOAuthClient(ctx context.Context, clientID string) (int64, error) {
	var tokens int64
	for _, stmt := range []string{
		`DELETE FROM oauth_access_tokens WHERE client_id = ?`,
		`DELETE FROM oauth_refresh_tokens WHERE client_id = ?`,
		`DELETE FROM oidc_auth_requests WHERE client_id = ?`,
	} {
		res, err := q.db.ExecContext(ctx, stmt, clientID)
		if err != nil {
			return 0, fmt.Errorf("store: delete oauth client: %w", err)
		}
		if !strings.Contains(stmt, "oidc_auth_requests") {
			n, _ := res.RowsAffected()
			tokens += n
		}
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM oauth_clients WHERE client_id = ?`, clientID)
	if err != nil {
		return 0, fmt.Errorf("store: delete oauth client: %w", err)
	}
	return tokens, mustAffect(res)
}
