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

-- Registered OpenID Connect clients. client_id is random and public; the secret of a
-- confidential client is kept only as a keyed hash (shown once when made or regenerated).
CREATE TABLE oauth_clients (
    client_id     TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    secret_hash   BLOB,                          -- NULL for a public client
    confidential  INTEGER NOT NULL DEFAULT 1,
    service       INTEGER NOT NULL DEFAULT 0,    -- may use the client_credentials grant
    redirect_uris TEXT    NOT NULL DEFAULT '',   -- one per line
    home_url      TEXT    NOT NULL DEFAULT '',   -- where the dashboard's link opens the app
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- An /oauth2/authorize request waiting for its sign-in. It is bound to the browser that
-- opened it (browser_hash) and, once every sign-in step is done, to the user and the session
-- that completed it (done = 1); only that session may take the code, and only one code.
CREATE TABLE oidc_auth_requests (
    id              TEXT    PRIMARY KEY,
    client_id       TEXT    NOT NULL,
    redirect_uri    TEXT    NOT NULL,
    scopes          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    nonce           TEXT    NOT NULL,
    response_type   TEXT    NOT NULL,
    response_mode   TEXT    NOT NULL,
    code_challenge  TEXT    NOT NULL,
    code_method     TEXT    NOT NULL,
    prompt          TEXT    NOT NULL DEFAULT '',
    max_age         INTEGER,                     -- seconds; NULL when the RP did not ask
    browser_hash    BLOB,
    session_hash    BLOB,
    user_id         INTEGER REFERENCES users (id) ON DELETE CASCADE,
    auth_time       INTEGER NOT NULL DEFAULT 0,
    amr             TEXT    NOT NULL DEFAULT '',
    done            INTEGER NOT NULL DEFAULT 0,
    code_hash       BLOB    UNIQUE,              -- keyed hash of the one code issued
    code_expires_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX oidc_auth_requests_expires_at ON oidc_auth_requests (expires_at);

-- RS256 keys that sign ID tokens. The private key is sealed with the secret key file's seal
-- key. A key signs from activates_at; after a rotation the old key stays in the JWKS until
-- retires_at, when the ID tokens it signed have expired.
CREATE TABLE oidc_signing_keys (
    kid            TEXT    PRIMARY KEY,
    alg            TEXT    NOT NULL,
    private_sealed BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    activates_at   INTEGER NOT NULL,
    retires_at     INTEGER
);

-- +goose Down
DROP TABLE oidc_signing_keys;
DROP TABLE oidc_auth_requests;
DROP TABLE oauth_clients;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
