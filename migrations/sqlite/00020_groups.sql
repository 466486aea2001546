-- Groups of users, and who may sign in to each application.
--
-- A group has a name, unique whatever its case (name_key is the name lower-cased by weftid), and
-- a description. Deleting a group or a user removes their memberships.
--
-- Application access is kept once for every kind of application (app_kind: an OpenID Connect
-- client, a SAML service provider, and later a proxied app), the app named by its id as text
-- (the client_id, or the service provider's id). An app without an app_access row lets every
-- active user sign in (the default); an app with one lets in only the members of the groups in
-- app_access_groups, and nobody when none is left. Deleting a group takes it off every app's
-- list; deleting an application deletes its app_access row (the service that deletes the app
-- does so in the same transaction), which takes its groups with it.

-- +goose Up
CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE user_group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_group_members_user_id ON user_group_members (user_id);

CREATE TABLE app_access (
    app_kind   TEXT    NOT NULL CHECK (app_kind IN ('oidc', 'saml', 'proxy')),
    app_id     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app_kind, app_id)
);

CREATE TABLE app_access_groups (
    app_kind TEXT    NOT NULL,
    app_id   TEXT    NOT NULL,
    group_id INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (app_kind, app_id, group_id),
    FOREIGN KEY (app_kind, app_id) REFERENCES app_access (app_kind, app_id) ON DELETE CASCADE
);
CREATE INDEX app_access_groups_group_id ON app_access_groups (group_id);

-- +goose Down
DROP TABLE app_access_groups;
DROP TABLE app_access;
DROP TABLE user_group_members;
DROP TABLE user_groups;
