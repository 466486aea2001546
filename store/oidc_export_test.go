package store

// OIDCLookups are the SQL of every OAuth2 lookup by a secret the client holds, and of the
// revocations, with sample arguments, for the query-plan test.
var OIDCLookups = map[string][]any{
	sqlAuthRequestByID:    {"id", 0},
	sqlAuthRequestByCode:  {[]byte("h"), 0},
	sqlAccessTokenByHash:  {[]byte("h"), 0},
	sqlRefreshTokenByHash: {[]byte("h"), 0},
	`SELECT ` + oauthClientCols + ` FROM oauth_clients WHERE client_id = ?`: {"c"},
	`DELETE FROM oauth_access_tokens WHERE user_id = ?`:                     {1},
	`DELETE FROM oauth_refresh_tokens WHERE user_id = ?`:                    {1},
	`DELETE FROM oauth_access_tokens WHERE grant_id = ?`:                    {"g"},
	`DELETE FROM oauth_refresh_tokens WHERE grant_id = ?`:                   {"g"},
	`DELETE FROM oauth_refresh_tokens WHERE token_hash = ?`:                 {[]byte("h")},
	`DELETE FROM oauth_access_tokens WHERE id_hash = ?`:                     {[]byte("h")},
	`DELETE FROM oauth_access_tokens WHERE expires_at <= ?`:                 {0},
	`DELETE FROM oauth_refresh_tokens WHERE expires_at <= ?`:                {0},
	`DELETE FROM oidc_auth_requests WHERE user_id = ?`:                      {1},
	`DELETE FROM oidc_auth_requests WHERE client_id = ?`:                    {"c"},
	`DELETE FROM oauth_access_tokens WHERE client_id = ?`:                   {"c"},
	`DELETE FROM oauth_refresh_tokens WHERE client_id = ?`:                  {"c"},
}
