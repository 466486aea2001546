-- Forward authentication (services/proxy): applications without single sign-on behind a
-- reverse proxy that asks weftid about every request.
--
-- proxy_apps: an application by its exact host (lower case, with its port if it has one, as the
-- proxy forwards it) and an optional path prefix ('' for the whole host; otherwise it starts with
-- '/' and has no trailing '/'). The same host with different prefixes are different apps. Who may
-- sign in is kept in app_access like every application's (app_kind 'proxy').
--
-- proxy_codes: the single-use code that carries a finished sign-in from weftid's host to the
-- app's (/.weftid/callback?code=...): a keyed hash, valid for a minute, bound to the app's host,
-- to the weftid session it was made from, and to the browser (binding: the keyed hash of a random
-- value in a host-only cookie the app's host set before it sent the browser to sign in).
--
-- proxy_sessions: a browser signed in to an app's host: its host-only cookie names the row by
-- a keyed hash. It belongs to the weftid session it came from, so signing out of weftid (or
-- anything else that ends that session) ends it too.

-- +goose Up
CREATE TABLE proxy_apps (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    path_prefix TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (host, path_prefix)
);

CREATE TABLE proxy_codes (
    code_hash    BLOB    PRIMARY KEY,
    session_hash BLOB    NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    host         TEXT    NOT NULL,
    binding      BLOB    NOT NULL,
    return_url   TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX proxy_codes_session_hash ON proxy_codes (session_hash);
CREATE INDEX proxy_codes_expires_at ON proxy_codes (expires_at);

CREATE TABLE proxy_sessions (
    id_hash      BLOB    PRIMARY KEY,
    session_hash BLOB    NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    host         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX proxy_sessions_session_host ON proxy_sessions (session_hash, host);
CREATE INDEX proxy_sessions_expires_at ON proxy_sessions (expires_at);

-- +goose Down
DROP TABLE proxy_sessions;
DROP TABLE proxy_codes;
DROP TABLE proxy_apps;
