-- The weekly breach re-check: its schedule and the progress of the run under way, in one row,
-- so a restart neither repeats nor skips a run and an interrupted run resumes where it stopped.

-- +goose Up
CREATE TABLE breach_job (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    -- When the next run starts (or, while a stopped run waits, when it resumes). 0: not
    -- scheduled yet; the job schedules the first run a week after it first starts.
    next_run_at        INTEGER NOT NULL DEFAULT 0,
    state              TEXT    NOT NULL DEFAULT 'idle' CHECK (state IN ('idle', 'running')),
    -- The run under way. Prefixes are checked in order: every prefix up to cursor is done, and
    -- so are those in done_ahead (comma-separated, fewer than the job's concurrency).
    run_started_at     INTEGER NOT NULL DEFAULT 0,
    cursor             TEXT    NOT NULL DEFAULT '',
    done_ahead         TEXT    NOT NULL DEFAULT '',
    run_users_checked  INTEGER NOT NULL DEFAULT 0,
    run_hits           INTEGER NOT NULL DEFAULT 0,
    run_requests       INTEGER NOT NULL DEFAULT 0,
    -- Why the run under way stopped ('' while it goes well); it resumes at next_run_at.
    last_error         TEXT    NOT NULL DEFAULT '',
    -- The last finished run. 0 when there has been none.
    last_started_at    INTEGER NOT NULL DEFAULT 0,
    last_finished_at   INTEGER NOT NULL DEFAULT 0,
    last_users_checked INTEGER NOT NULL DEFAULT 0,
    last_hits          INTEGER NOT NULL DEFAULT 0,
    last_requests      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO breach_job (id) VALUES (1);

-- +goose Down
DROP TABLE breach_job;
