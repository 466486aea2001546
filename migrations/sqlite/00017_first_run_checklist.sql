-- The first-run checklist on a super admin's dashboard (add a second factor, configure mail,
-- invite people, register an application) stays until that super admin dismisses it: when, per
-- user (0: not dismissed).

-- +goose Up
ALTER TABLE users ADD COLUMN checklist_dismissed_at INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN checklist_dismissed_at;
