-- Two records that keep weftid truthful under abuse without growing without bound.
--
-- throttle_refusals counts the requests a throttle refused, one row per rule, key and fixed
-- window: the first refusal of a window is logged as an event of its own, the rest only bump
-- count, and when the window closes one login_throttled event carries the count and the row goes.
--
-- oauth_code_grants remembers, for each exchanged authorization code, the authorization (grant)
-- its tokens belong to, until those tokens expire: a second use of the code revokes them
-- (RFC 6749 section 4.1.2). Only the keyed hash of the code is kept.

-- +goose Up
CREATE TABLE throttle_refusals (
    rule         TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    first_at     INTEGER NOT NULL,
    last_at      INTEGER NOT NULL,
    PRIMARY KEY (rule, key, window_start)
);
CREATE INDEX throttle_refusals_window_end ON throttle_refusals (window_end);

CREATE TABLE oauth_code_grants (
    code_hash  BLOB    PRIMARY KEY,
    grant_id   TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_code_grants_expires_at ON oauth_code_grants (expires_at);
CREATE INDEX oauth_code_grants_user_id ON oauth_code_grants (user_id);

-- +goose Down
DROP TABLE oauth_code_grants;
DROP TABLE throttle_refusals;
