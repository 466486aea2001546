-- SAML: signing keys that rotate, service providers registered from a metadata URL, and Single
-- Logout (which service providers took part in which session, and the logouts under way).

-- +goose Up

-- The identity provider's signing keys. A key is published in /saml/metadata from created_at,
-- signs from activates_at (a rotated-in key waits, so service providers that cache metadata
-- learn it first) and leaves the metadata at retires_at (NULL while no newer key signs). The
-- key of the first start moves here under the kid 'saml_idp_key', still sealed as it was.
CREATE TABLE saml_signing_keys (
    kid          TEXT    PRIMARY KEY,
    certificate  BLOB    NOT NULL,   -- DER of the self-signed certificate
    private_key  BLOB    NOT NULL,   -- PKCS #8 DER, sealed (AES-GCM) with the secret key file
    created_at   INTEGER NOT NULL,
    activates_at INTEGER NOT NULL,
    retires_at   INTEGER
);
INSERT INTO saml_signing_keys (kid, certificate, private_key, created_at, activates_at)
    SELECT 'saml_idp_key', certificate, private_key, created_at, created_at FROM saml_idp_key;
DROP TABLE saml_idp_key;

-- Where the metadata was fetched from ('' when pasted or uploaded), for "Refresh metadata".
ALTER TABLE saml_service_providers ADD COLUMN metadata_url TEXT NOT NULL DEFAULT '';
ALTER TABLE saml_service_providers ADD COLUMN metadata_fetched_at INTEGER NOT NULL DEFAULT 0;

-- A service provider that received an assertion in a weftid session, with the NameID and
-- SessionIndex it was given: whom a logout of that session must tell. session_hash is the
-- session's id_hash, kept (not a foreign key) after the session ends so that the logout can
-- still find them; rows go when a logout takes them or when the session would have expired.
CREATE TABLE saml_session_participants (
    session_hash   BLOB    NOT NULL,
    sp_id          INTEGER NOT NULL REFERENCES saml_service_providers (id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name_id        TEXT    NOT NULL,
    name_id_format TEXT    NOT NULL,
    session_index  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (session_hash, sp_id)
);
CREATE INDEX saml_session_participants_sp ON saml_session_participants (sp_id, name_id);
CREATE INDEX saml_session_participants_expires_at ON saml_session_participants (expires_at);

-- A logout under way through the browser, one step a row in id order: a LogoutRequest to send
-- to a service provider (request_id is set when it is sent, and its LogoutResponse is matched by
-- it); then, last, either the LogoutResponse that answers the service provider that started the
-- logout, or (started in weftid) the way back to weftid's signed-out page.
CREATE TABLE saml_logout_steps (
    id             INTEGER PRIMARY KEY,
    chain          BLOB    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('request', 'response', 'end')),
    sp_id          INTEGER REFERENCES saml_service_providers (id) ON DELETE CASCADE,  -- NULL for 'end'
    user_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name_id        TEXT    NOT NULL DEFAULT '',
    name_id_format TEXT    NOT NULL DEFAULT '',
    session_index  TEXT    NOT NULL DEFAULT '',
    in_response_to TEXT    NOT NULL DEFAULT '',  -- response: the ID of the SP's LogoutRequest
    relay_state    TEXT    NOT NULL DEFAULT '',  -- response: the RelayState it came with
    partial        INTEGER NOT NULL DEFAULT 0,   -- response, end: a participant was not signed out
    request_id     TEXT    UNIQUE,               -- request: the ID of the LogoutRequest sent
    expires_at     INTEGER NOT NULL
);
CREATE INDEX saml_logout_steps_chain ON saml_logout_steps (chain, id);
CREATE INDEX saml_logout_steps_expires_at ON saml_logout_steps (expires_at);

-- +goose Down
DROP TABLE saml_logout_steps;
DROP TABLE saml_session_participants;
ALTER TABLE saml_service_providers DROP COLUMN metadata_fetched_at;
ALTER TABLE saml_service_providers DROP COLUMN metadata_url;
CREATE TABLE saml_idp_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    certificate BLOB    NOT NULL,
    private_key BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
);
-- Back to one key: the first start's, which is sealed as the old code opens it (a key rotated in
-- later is sealed under its own kid and cannot go back).
INSERT INTO saml_idp_key (id, certificate, private_key, created_at)
    SELECT 1, certificate, private_key, created_at FROM saml_signing_keys WHERE kid = 'saml_idp_key';
DROP TABLE saml_signing_keys;
