-- A TOTP secret being set up during enrollment belongs to that sign-in, not to the user: another
-- sign-in of the same user (someone who knows the password and reads the mailbox) must not see or
-- plant the secret the real user confirms.

-- +goose Up
ALTER TABLE signins ADD COLUMN totp_pending BYTEA;

-- +goose Down
ALTER TABLE signins DROP COLUMN totp_pending;
