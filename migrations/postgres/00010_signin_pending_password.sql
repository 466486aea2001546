-- The new password of a forced reset is chosen right after the current one, but it must not
-- replace it before the second factor is passed too: whoever knows only the old password (the
-- reason for the reset) must not be able to set a new one. The sign-in keeps it, sealed, until
-- it finishes.

-- +goose Up
ALTER TABLE signins ADD COLUMN pending_password BYTEA;

-- +goose Down
ALTER TABLE signins DROP COLUMN pending_password;
