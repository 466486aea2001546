-- A user's life after creation: when they last signed in and when their status last changed
-- (the idle-user deactivation counts days without a sign-in from the later of those and their
-- creation), what is kept of a deleted user (their events stay and name them), and the idle-user
-- deactivation's setting and schedule.

-- +goose Up
-- 0: never (or before this migration, with no user_signed_in event to say when).
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET last_sign_in_at = COALESCE(
    (SELECT MAX(at) FROM events WHERE events.user_id = users.id AND events.type = 'user_signed_in'), 0);
-- When an admin (or the idle job) last deactivated or reactivated the user. Before this
-- migration it was not kept: the last change of any kind stands in for it, which can only make
-- the idle clock start later, never earlier.
ALTER TABLE users ADD COLUMN status_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET status_changed_at = updated_at;

-- A deleted user, as the event log names them: the events keep their id (the log is
-- append-only and hash-chained, so it is never rewritten) and this row keeps who that was.
-- Its ids also keep new users from taking a deleted user's id (store.CreateUser), so old events
-- never name a newer user.
CREATE TABLE deleted_users (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    deleted_at INTEGER NOT NULL,
    deleted_by INTEGER               -- a user id; not a foreign key: they may be deleted too
);
CREATE INDEX deleted_users_email ON deleted_users (email);

-- Idle users are deactivated after this many days without a sign-in (0: never).
ALTER TABLE settings ADD COLUMN idle_deactivation_days INTEGER NOT NULL DEFAULT 0
    CHECK (idle_deactivation_days IN (0, 30, 60, 90, 180));

-- The idle-user deactivation's schedule, in one row like the breach check's, so a restart
-- neither repeats nor skips a run.
CREATE TABLE idle_job (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    next_run_at      INTEGER NOT NULL DEFAULT 0,  -- 0: as soon as it is turned on
    last_run_at      INTEGER NOT NULL DEFAULT 0,
    last_deactivated INTEGER NOT NULL DEFAULT 0   -- how many users the last run deactivated
);
INSERT INTO idle_job (id) VALUES (1);

-- +goose Down
DROP TABLE idle_job;
ALTER TABLE settings DROP COLUMN idle_deactivation_days;
DROP TABLE deleted_users;
ALTER TABLE users DROP COLUMN status_changed_at;
ALTER TABLE users DROP COLUMN last_sign_in_at;
