-- Second factors: TOTP with backup codes, and passkeys (WebAuthn credentials).

-- +goose Up
-- One TOTP authenticator a user. secret_enc is the secret sealed with AES-GCM under a key from
-- the secret key file. A row with confirmed_at = 0 is a setup waiting for its first code.
-- last_step is the newest time step accepted, so an accepted code cannot be replayed.
CREATE TABLE totp (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc   BLOB    NOT NULL,
    confirmed_at INTEGER NOT NULL DEFAULT 0,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Single-use backup codes, stored as keyed hashes.
CREATE TABLE backup_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

-- Passkeys. credential is go-webauthn's Credential as JSON (public key, flags, authenticator).
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    credential    TEXT    NOT NULL CHECK (json_valid(credential)),
    sign_count    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user_id ON passkeys (user_id);

-- The random handle WebAuthn knows a user by (never the e-mail address or the row id).
ALTER TABLE users ADD COLUMN webauthn_handle BLOB;
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle) WHERE webauthn_handle IS NOT NULL;

-- A WebAuthn ceremony in progress: the challenge and what it is for, single use.
CREATE TABLE webauthn_challenges (
    id_hash    BLOB    PRIMARY KEY,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data)),
    expires_at INTEGER NOT NULL
);
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP INDEX users_webauthn_handle;
ALTER TABLE users DROP COLUMN webauthn_handle;
DROP INDEX passkeys_user_id;
DROP TABLE passkeys;
DROP TABLE backup_codes;
DROP TABLE totp;
