-- A refresh token used once is kept (until it expires) as rotated, not deleted, so a second use
-- can be recognised: it means the token was copied, and the whole authorization is revoked.

-- +goose Up
ALTER TABLE oauth_refresh_tokens ADD COLUMN rotated_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE oauth_refresh_tokens DROP COLUMN rotated_at;
