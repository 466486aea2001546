-- Which factors a sign-in used, and what applications require of it.
--
-- signins.factors and sessions.factors are a bit set (auth.Factors: 1 password, 2 email code,
-- 4 TOTP or backup code, 8 device-bound passkey, 16 synced passkey), added to with a bitwise OR
-- as each step passes and copied to the session the sign-in makes: ID tokens, introspection and
-- SAML assertions say how the user signed in (amr, acr, AuthnContextClassRef), and an
-- application that requires Enhanced sends a session with only an email code through a step-up.
-- signins.step_up marks a sign-in that steps up an existing session.
--
-- Applications: required_auth_strength is 'tenant' (whatever the tenant's policy asks) or
-- 'enhanced' (TOTP or a passkey, even while the tenant is Baseline). OpenID Connect apps also
-- get their post-logout redirect URIs (one per line). The authorize request keeps the acr_values
-- the app asked for and the acr it was answered with; tokens keep amr, acr and auth_time for
-- introspection and refreshed ID tokens.

-- +goose Up
ALTER TABLE signins ADD COLUMN factors BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signins ADD COLUMN step_up BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN factors BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oauth_clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_clients ADD COLUMN required_auth_strength TEXT NOT NULL DEFAULT 'tenant';
ALTER TABLE saml_service_providers ADD COLUMN required_auth_strength TEXT NOT NULL DEFAULT 'tenant';
ALTER TABLE oidc_auth_requests ADD COLUMN acr_values TEXT NOT NULL DEFAULT '';
ALTER TABLE oidc_auth_requests ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_access_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_access_tokens ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_access_tokens ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oauth_refresh_tokens ADD COLUMN acr TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE oauth_refresh_tokens DROP COLUMN acr;
ALTER TABLE oauth_access_tokens DROP COLUMN auth_time;
ALTER TABLE oauth_access_tokens DROP COLUMN acr;
ALTER TABLE oauth_access_tokens DROP COLUMN amr;
ALTER TABLE oidc_auth_requests DROP COLUMN acr;
ALTER TABLE oidc_auth_requests DROP COLUMN acr_values;
ALTER TABLE saml_service_providers DROP COLUMN required_auth_strength;
ALTER TABLE oauth_clients DROP COLUMN required_auth_strength;
ALTER TABLE oauth_clients DROP COLUMN post_logout_redirect_uris;
ALTER TABLE sessions DROP COLUMN factors;
ALTER TABLE signins DROP COLUMN step_up;
ALTER TABLE signins DROP COLUMN factors;
