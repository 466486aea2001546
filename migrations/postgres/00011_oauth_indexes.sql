-- Revoking a user's tokens also drops the authorization requests they finished (a code handed
-- out just before must not be exchanged after), and removing an application drops its tokens
-- and requests: both by an index, not a scan.

-- +goose Up
CREATE INDEX oidc_auth_requests_user_id ON oidc_auth_requests (user_id);
CREATE INDEX oidc_auth_requests_client_id ON oidc_auth_requests (client_id);
CREATE INDEX oauth_access_tokens_client_id ON oauth_access_tokens (client_id);
CREATE INDEX oauth_refresh_tokens_client_id ON oauth_refresh_tokens (client_id);

-- +goose Down
DROP INDEX oauth_refresh_tokens_client_id;
DROP INDEX oauth_access_tokens_client_id;
DROP INDEX oidc_auth_requests_client_id;
DROP INDEX oidc_auth_requests_user_id;
