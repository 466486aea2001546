-- A user's Events tab lists what they did as well as what was done to them.

-- +goose Up
CREATE INDEX events_actor_id ON events (actor_id, id);

-- +goose Down
DROP INDEX events_actor_id;
