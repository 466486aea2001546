-- Invitations: the link an admin's new user gets to set their first password.

-- +goose Up
-- token_hash is the keyed hash of the token in the link; the token itself is never stored.
-- An invitation is single use: accepting it deletes the row.
CREATE TABLE invitations (
    token_hash BYTEA   PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    expires_at BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX invitations_user_id ON invitations (user_id);
CREATE INDEX invitations_created_by ON invitations (created_by);
CREATE INDEX invitations_expires_at ON invitations (expires_at);

-- +goose Down
DROP TABLE invitations;
