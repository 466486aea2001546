-- OAuth2 / OpenID Connect tokens. Tokens are stored only as keyed hashes of what the client
-- holds, and each is found by one indexed lookup; every token of a user is revoked at once by
-- user_id (forced reset, breach, "Sign out everywhere").

-- +goose Up
CREATE TABLE oauth_access_tokens (
    id_hash    BLOB    PRIMARY KEY,   -- keyed hash of the token id inside the opaque token
    grant_id   TEXT    NOT NULL,      -- the authorization this token came from; refresh rotates within it
    client_id  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,      -- the user id, or the client id for client credentials
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE, -- NULL for client credentials
    scopes     TEXT    NOT NULL,
    audience   TEXT    NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_access_tokens_user_id ON oauth_access_tokens (user_id);
CREATE INDEX oauth_access_tokens_grant_id ON oauth_access_tokens (grant_id);
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);

CREATE TABLE oauth_refresh_tokens (
    token_hash BLOB    PRIMARY KEY,   -- keyed hash of the refresh token
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT    NOT NULL,
    amr        TEXT    NOT NULL DEFAULT '',
    auth_time  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_refresh_tokens_user_id ON oauth_refresh_tokens (user_id);
CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);

-- +goose Down
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
