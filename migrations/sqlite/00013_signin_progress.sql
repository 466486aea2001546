-- A sign-in's progress was a comma-joined list of step names in steps_done, matched as text.
-- Each step it can have done is now a column of its own (0 or 1), read into store.Progress.

-- +goose Up
ALTER TABLE signins ADD COLUMN progress_password       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_second_factor  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_reset_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_email_code     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_strong_factor  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_enrolled       INTEGER NOT NULL DEFAULT 0;
UPDATE signins SET
    progress_password       = instr(',' || steps_done || ',', ',password,') > 0,
    progress_second_factor  = instr(',' || steps_done || ',', ',second_factor,') > 0,
    progress_reset_password = instr(',' || steps_done || ',', ',reset_password,') > 0,
    progress_email_code     = instr(',' || steps_done || ',', ',email_code,') > 0,
    progress_strong_factor  = instr(',' || steps_done || ',', ',strong_factor,') > 0,
    progress_enrolled       = instr(',' || steps_done || ',', ',enrolled,') > 0;
ALTER TABLE signins DROP COLUMN steps_done;

-- +goose Down
ALTER TABLE signins ADD COLUMN steps_done TEXT NOT NULL DEFAULT '';
UPDATE signins SET steps_done = rtrim(
    CASE WHEN progress_password       THEN 'password,'       ELSE '' END ||
    CASE WHEN progress_reset_password THEN 'reset_password,' ELSE '' END ||
    CASE WHEN progress_second_factor  THEN 'second_factor,'  ELSE '' END ||
    CASE WHEN progress_email_code     THEN 'email_code,'     ELSE '' END ||
    CASE WHEN progress_strong_factor  THEN 'strong_factor,'  ELSE '' END ||
    CASE WHEN progress_enrolled       THEN 'enrolled,'       ELSE '' END, ',');
ALTER TABLE signins DROP COLUMN progress_enrolled;
ALTER TABLE signins DROP COLUMN progress_strong_factor;
ALTER TABLE signins DROP COLUMN progress_email_code;
ALTER TABLE signins DROP COLUMN progress_reset_password;
ALTER TABLE signins DROP COLUMN progress_second_factor;
ALTER TABLE signins DROP COLUMN progress_password;
