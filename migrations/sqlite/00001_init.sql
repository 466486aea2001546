-- Times are Unix seconds (UTC). Secrets (session ids, codes, setup tokens) are stored
-- only as keyed hashes, never as the value the user holds.

-- +goose Up
CREATE TABLE settings (
    id                      INTEGER PRIMARY KEY CHECK (id = 1),
    required_auth_strength  TEXT    NOT NULL DEFAULT 'baseline' CHECK (required_auth_strength IN ('baseline', 'enhanced')),
    minimum_password_length INTEGER NOT NULL DEFAULT 14 CHECK (minimum_password_length IN (8, 10, 12, 14, 16, 18, 20)),
    minimum_strength_score  INTEGER NOT NULL DEFAULT 3 CHECK (minimum_strength_score IN (3, 4)),
    updated_at              INTEGER NOT NULL DEFAULT 0
);
INSERT INTO settings (id) VALUES (1);

CREATE TABLE users (
    id                      INTEGER PRIMARY KEY,
    email                   TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name                    TEXT    NOT NULL,
    role                    TEXT    NOT NULL CHECK (role IN ('super_admin', 'admin', 'user')),
    status                  TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    password_hash           TEXT    NOT NULL DEFAULT '',
    password_reset_required INTEGER NOT NULL DEFAULT 0 CHECK (password_reset_required IN (0, 1)),
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL
);

-- A signed-in browser. id_hash is the keyed hash of the cookie value.
CREATE TABLE sessions (
    id_hash      BLOB    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- A sign-in in progress (the pre-auth session): who, which steps are done, where to go next.
CREATE TABLE signins (
    id_hash    BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    steps_done TEXT    NOT NULL DEFAULT '',
    return_to  TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX signins_user_id ON signins (user_id);
CREATE INDEX signins_expires_at ON signins (expires_at);

-- One-time codes mailed during a sign-in. A new code replaces the old ones of its sign-in.
CREATE TABLE email_codes (
    -- AUTOINCREMENT: ids are never reused, so a replaced or deleted code's id cannot name a newer code.
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    signin_hash BLOB    NOT NULL REFERENCES signins (id_hash) ON DELETE CASCADE,
    code_hash   BLOB    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX email_codes_signin ON email_codes (signin_hash);

-- Every guess (password, code) and every resend, for throttling. key is e.g. 'email:a@b.c' or 'ip:1.2.3.4'.
CREATE TABLE signin_attempts (
    id      INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    at      INTEGER NOT NULL
);
CREATE INDEX signin_attempts_lookup ON signin_attempts (kind, key, success, at);
CREATE INDEX signin_attempts_at ON signin_attempts (at);

-- The one-time link that creates the first super admin.
CREATE TABLE setup_tokens (
    token_hash BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

-- The audit log. Append-only: the triggers refuse updates and deletes.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    type       TEXT    NOT NULL,
    actor_id   INTEGER,
    user_id    INTEGER,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    details    TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details))
);
CREATE INDEX events_user_id ON events (user_id, id);
CREATE INDEX events_type ON events (type, id);
CREATE INDEX events_at ON events (at);

-- +goose StatementBegin
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER events_no_delete;
DROP TRIGGER events_no_update;
DROP TABLE events;
DROP TABLE setup_tokens;
DROP TABLE signin_attempts;
DROP TABLE email_codes;
DROP TABLE signins;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE settings;
