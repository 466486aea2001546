-- Invitations: the link an admin's new user gets to set their first password.

-- +goose Up
-- token_hash is the keyed hash of the token in the link; the token itself is never stored.
-- An invitation is single use: accepting it deletes the row.
CREATE TABLE invitations (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX invitations_user_id ON invitations (user_id);
CREATE INDEX invitations_created_by ON invitations (created_by);
CREATE INDEX invitations_expires_at ON invitations (expires_at);

-- +goose Down
DROP TABLE invitations;
