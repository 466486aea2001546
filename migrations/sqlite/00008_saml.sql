-- The SAML identity provider: its signing key (one row, the private key sealed with the secret
-- key file), the service providers admins register with their metadata, and the sign-on
-- requests held while their browser signs in.

-- +goose Up
CREATE TABLE saml_idp_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    certificate BLOB    NOT NULL,   -- DER of the self-signed certificate
    private_key BLOB    NOT NULL,   -- PKCS #8 DER, sealed (AES-GCM) with the secret key file
    created_at  INTEGER NOT NULL
);

CREATE TABLE saml_service_providers (
    id         INTEGER PRIMARY KEY,
    entity_id  TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    metadata   TEXT    NOT NULL,    -- the metadata XML as the admin gave it
    acs_url    TEXT    NOT NULL,    -- the first HTTP-POST assertion consumer service, for display
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- An AuthnRequest that arrived before its browser had a complete session. id_hash is the keyed
-- hash of the id in its continuation URL (/saml/continue/{id}); the row is taken (deleted) when
-- the assertion is issued, so it is used once.
CREATE TABLE saml_pending_requests (
    id_hash      BLOB    PRIMARY KEY,
    sp_id        INTEGER NOT NULL REFERENCES saml_service_providers (id) ON DELETE CASCADE,
    binding      TEXT    NOT NULL CHECK (binding IN ('redirect', 'post')),
    saml_request TEXT    NOT NULL,  -- the SAMLRequest parameter as received
    relay_state  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX saml_pending_requests_expires_at ON saml_pending_requests (expires_at);

-- +goose Down
DROP TABLE saml_pending_requests;
DROP TABLE saml_service_providers;
DROP TABLE saml_idp_key;
