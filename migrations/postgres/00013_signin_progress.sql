-- A sign-in's progress was a comma-joined list of step names in steps_done, matched as text.
-- Each step it can have done is now a column of its own (0 or 1), read into store.Progress.

-- +goose Up
ALTER TABLE signins ADD COLUMN progress_password       BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_second_factor  BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_reset_password BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_email_code     BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_strong_factor  BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN progress_enrolled       BIGINT NOT NULL DEFAULT 0;
UPDATE signins SET
    progress_password       = CASE WHEN strpos(',' || steps_done || ',', ',password,') > 0 THEN 1 ELSE 0 END,
    progress_second_factor  = CASE WHEN strpos(',' || steps_done || ',', ',second_factor,') > 0 THEN 1 ELSE 0 END,
    progress_reset_password = CASE WHEN strpos(',' || steps_done || ',', ',reset_password,') > 0 THEN 1 ELSE 0 END,
    progress_email_code     = CASE WHEN strpos(',' || steps_done || ',', ',email_code,') > 0 THEN 1 ELSE 0 END,
    progress_strong_factor  = CASE WHEN strpos(',' || steps_done || ',', ',strong_factor,') > 0 THEN 1 ELSE 0 END,
    progress_enrolled       = CASE WHEN strpos(',' || steps_done || ',', ',enrolled,') > 0 THEN 1 ELSE 0 END;
ALTER TABLE signins DROP COLUMN steps_done;

-- +goose Down
ALTER TABLE signins ADD COLUMN steps_done TEXT NOT NULL DEFAULT '';
UPDATE signins SET steps_done = rtrim(
    CASE WHEN progress_password       = 1 THEN 'password,'       ELSE '' END ||
    CASE WHEN progress_reset_password = 1 THEN 'reset_password,' ELSE '' END ||
    CASE WHEN progress_second_factor  = 1 THEN 'second_factor,'  ELSE '' END ||
    CASE WHEN progress_email_code     = 1 THEN 'email_code,'     ELSE '' END ||
    CASE WHEN progress_strong_factor  = 1 THEN 'strong_factor,'  ELSE '' END ||
    CASE WHEN progress_enrolled       = 1 THEN 'enrolled,'       ELSE '' END, ',');
ALTER TABLE signins DROP COLUMN progress_enrolled;
ALTER TABLE signins DROP COLUMN progress_strong_factor;
ALTER TABLE signins DROP COLUMN progress_email_code;
ALTER TABLE signins DROP COLUMN progress_reset_password;
ALTER TABLE signins DROP COLUMN progress_second_factor;
ALTER TABLE signins DROP COLUMN progress_password;
