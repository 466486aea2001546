-- A device is a browser that finished a sign-in: its long-lived cookie holds a random token,
-- stored here only as a keyed hash and replaced at each sign-in. Guesses from a device at its
-- own user's password are throttled apart from everyone else's (see services/signin/device.go).

-- +goose Up
CREATE TABLE devices (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash      BLOB    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    last_sign_in_at INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ip              TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX devices_user_id ON devices (user_id, last_sign_in_at);
CREATE INDEX devices_expires_at ON devices (expires_at);

-- +goose Down
DROP TABLE devices;
