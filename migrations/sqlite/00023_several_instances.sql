-- Several instances on one database.
--
-- Scheduled jobs that must run once (the weekly breach re-check, the clean-up, the event chain's
-- daily verification) run on one instance at a time when several share a database: the
-- instance that holds a job's lease runs it and renews the lease while it does; when the lease
-- expires (its holder died or lost the database), another instance takes it over.
--
-- Also: e-mail addresses are compared as lower(email) = lower(?) in both dialects (PostgreSQL
-- has no COLLATE NOCASE), which SQLite finds through this index on lower(email).

-- +goose Up
CREATE TABLE job_leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,   -- the instance that holds it: host, process and a random part
    expires_at INTEGER NOT NULL    -- Unix seconds; the lease is free from then on
);

-- The secret key file's fingerprint (a keyed hash of a fixed text), stored by the first instance
-- that starts on a PostgreSQL database: another instance started with a different key file
-- refuses to start instead of failing every session, code and sealed key the first one made.
CREATE TABLE secret_key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    digest     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

-- +goose Down
DROP TABLE secret_key_check;
DROP INDEX users_email_lower;
DROP TABLE job_leases;
