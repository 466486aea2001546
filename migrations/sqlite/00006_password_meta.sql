-- What is kept beside each password: the rule it was set under (so a stricter policy can tell
-- who set theirs under a weaker one), and, for the weekly breach re-check without the
-- password, the first 5 hex characters of its SHA-1 and a keyed HMAC of the whole SHA-1.
-- Also the self-service reset links.

-- +goose Up
-- 0 means unknown: the password was set before the rule was recorded.
ALTER TABLE users ADD COLUMN password_min_length INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_min_score  INTEGER NOT NULL DEFAULT 0;
-- '' and NULL when there is nothing to check (no password, or cleared after a breach hit).
ALTER TABLE users ADD COLUMN breach_prefix TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN breach_hmac   BLOB;
CREATE INDEX users_breach_prefix ON users (breach_prefix) WHERE breach_prefix <> '';
-- Passwords set before this migration count as set under the rule in force now: which rule
-- they met was not recorded before.
UPDATE users SET
    password_min_length = CASE WHEN role = 'super_admin'
        THEN max(14, (SELECT minimum_password_length FROM settings))
        ELSE (SELECT minimum_password_length FROM settings) END,
    password_min_score = (SELECT minimum_strength_score FROM settings)
WHERE password_hash <> '';

-- A "forgot password" link. token_hash is the keyed hash of the token in the link; using the
-- link deletes every link of its user.
CREATE TABLE password_resets (
    token_hash BLOB    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX password_resets_user_id ON password_resets (user_id);
CREATE INDEX password_resets_expires_at ON password_resets (expires_at);

-- +goose Down
DROP TABLE password_resets;
DROP INDEX users_breach_prefix;
ALTER TABLE users DROP COLUMN breach_hmac;
ALTER TABLE users DROP COLUMN breach_prefix;
ALTER TABLE users DROP COLUMN password_min_score;
ALTER TABLE users DROP COLUMN password_min_length;
