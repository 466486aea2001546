package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OIDCAuthRequest is an /oauth2/authorize request waiting for (or done with) its sign-in.
type OIDCAuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	Scopes        []string
	State         string
	Nonce         string
	ResponseType  string
	ResponseMode  string
	CodeChallenge string
	CodeMethod    string
	Prompt        []string
	MaxAge        *int64 // seconds the user's sign-in may be old, when the RP said
	BrowserHash   []byte
	SessionHash   []byte
	UserID        int64
	AuthTime      time.Time
	AMR           []string
	// ACRValues are the acr_values the request asked for; ACR the class it was answered with.
	ACRValues []string
	ACR       string
	Done      bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

func joinSpace(s []string) string { return strings.Join(s, " ") }

func splitSpace(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// CreateOIDCAuthRequest stores a validated authorize request, and drops expired ones.
func (q q) CreateOIDCAuthRequest(ctx context.Context, r OIDCAuthRequest) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE expires_at <= ?`, unix(r.CreatedAt)); err != nil {
		return fmt.Errorf("store: expire auth requests: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_auth_requests (id, client_id, redirect_uri, scopes, state, nonce,
		response_type, response_mode, code_challenge, code_method, prompt, max_age, created_at, expires_at, acr_values)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.ClientID, r.RedirectURI, joinSpace(r.Scopes), r.State, r.Nonce, r.ResponseType, r.ResponseMode,
		r.CodeChallenge, r.CodeMethod, joinSpace(r.Prompt), r.MaxAge, unix(r.CreatedAt), unix(r.ExpiresAt), joinSpace(r.ACRValues))
	if err != nil {
		return fmt.Errorf("store: create auth request: %w", err)
	}
	return nil
}

const authRequestCols = `id, client_id, redirect_uri, scopes, state, nonce, response_type, response_mode,
	code_challenge, code_method, prompt, max_age, browser_hash, session_hash, COALESCE(user_id, 0), auth_time, amr, done, created_at, expires_at,
	acr_values, acr`

// The lookups behind the token, userinfo, introspection and revocation endpoints: each is one
// search on a primary or unique key (a test checks SQLite's query plans).
const (
	sqlAuthRequestByID    = `SELECT ` + authRequestCols + ` FROM oidc_auth_requests WHERE id = ? AND expires_at > ?`
	sqlAuthRequestByCode  = `SELECT ` + authRequestCols + ` FROM oidc_auth_requests WHERE code_hash = ? AND code_expires_at > ? AND done = 1`
	sqlAccessTokenByHash  = `SELECT grant_id, client_id, subject, user_id, scopes, audience, issued_at, expires_at, amr, acr, auth_time FROM oauth_access_tokens WHERE id_hash = ? AND expires_at > ?`
	sqlRefreshTokenByHash = `SELECT grant_id, client_id, user_id, scopes, amr, auth_time, expires_at, rotated_at, acr FROM oauth_refresh_tokens WHERE token_hash = ? AND expires_at > ?`
)

func scanAuthRequest(row *sql.Row) (OIDCAuthRequest, error) {
	var r OIDCAuthRequest
	var scopes, prompt, amr, acrValues string
	var authTime, created, expires int64
	err := row.Scan(&r.ID, &r.ClientID, &r.RedirectURI, &scopes, &r.State, &r.Nonce, &r.ResponseType, &r.ResponseMode,
		&r.CodeChallenge, &r.CodeMethod, &prompt, &r.MaxAge, &r.BrowserHash, &r.SessionHash, &r.UserID, &authTime, &amr, &r.Done, &created, &expires,
		&acrValues, &r.ACR)
	if errors.Is(err, sql.ErrNoRows) {
		return OIDCAuthRequest{}, ErrNotFound
	}
	if err != nil {
		return OIDCAuthRequest{}, fmt.Errorf("store: auth request: %w", err)
	}
	r.Scopes, r.Prompt, r.AMR, r.ACRValues = splitSpace(scopes), splitSpace(prompt), splitSpace(amr), splitSpace(acrValues)
	if authTime != 0 {
		r.AuthTime = fromUnix(authTime)
	}
	r.CreatedAt, r.ExpiresAt = fromUnix(created), fromUnix(expires)
	return r, nil
}

// OIDCAuthRequestByID returns an unexpired authorize request, or ErrNotFound.
func (q q) OIDCAuthRequestByID(ctx context.Context, id string, now time.Time) (OIDCAuthRequest, error) {
	return scanAuthRequest(q.db.QueryRowContext(ctx, sqlAuthRequestByID, id, unix(now)))
}

// ClaimOIDCAuthRequest binds an unfinished request to the browser that first opened its
// sign-in; ErrNotFound when it is gone, finished, or another browser holds it.
func (q q) ClaimOIDCAuthRequest(ctx context.Context, id string, browserHash []byte, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oidc_auth_requests SET browser_hash = ?1
		WHERE id = ?2 AND expires_at > ?3 AND done = 0 AND (browser_hash IS NULL OR browser_hash = ?1)`,
		browserHash, id, unix(now))
	if err != nil {
		return fmt.Errorf("store: claim auth request: %w", err)
	}
	return mustAffect(res)
}

// CompleteOIDCAuthRequest marks a request done by the user whose session finished every
// sign-in step, in the browser that holds it, with how that session signed in (authTime, amr,
// acr); ErrNotFound when that does not fit.
func (q q) CompleteOIDCAuthRequest(ctx context.Context, id string, browserHash, sessionHash []byte, userID int64,
	authTime time.Time, amr []string, acr string, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oidc_auth_requests SET session_hash = ?, user_id = ?, auth_time = ?, amr = ?, acr = ?, done = 1
		WHERE id = ? AND browser_hash = ? AND done = 0 AND expires_at > ?`,
		sessionHash, userID, unix(authTime), joinSpace(amr), acr, id, browserHash, unix(now))
	if err != nil {
		return fmt.Errorf("store: complete auth request: %w", err)
	}
	return mustAffect(res)
}

// SaveOIDCAuthCode keeps the keyed hash of the code issued for a done request, once:
// ErrConflict when the request has a code already (or is not done).
func (q q) SaveOIDCAuthCode(ctx context.Context, id string, codeHash []byte, expires time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oidc_auth_requests SET code_hash = ?, code_expires_at = ?
		WHERE id = ? AND done = 1 AND code_hash IS NULL`, codeHash, unix(expires), id)
	if err != nil {
		return fmt.Errorf("store: save auth code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrConflict
	}
	return nil
}

// OIDCAuthRequestByCode finds the done request a code was issued for: one indexed lookup.
func (q q) OIDCAuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (OIDCAuthRequest, error) {
	return scanAuthRequest(q.db.QueryRowContext(ctx, sqlAuthRequestByCode, codeHash, unix(now)))
}

// DeleteOIDCAuthRequest removes a request (after its code was exchanged: codes are single-use).
func (q q) DeleteOIDCAuthRequest(ctx context.Context, id string) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM oidc_auth_requests WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete auth request: %w", err)
	}
	return nil
}

// OAuthGrant is what every token of one authorization shares.
type OAuthGrant struct {
	GrantID  string
	ClientID string
	Subject  string // the user id, or the client id for client credentials
	UserID   int64  // 0 for client credentials
	Scopes   []string
	AMR      []string
	ACR      string
	AuthTime time.Time
}

// OAuthAccessToken is a stored access token, found by the keyed hash of its id.
type OAuthAccessToken struct {
	OAuthGrant
	Audience  []string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// CreateOAuthAccessToken stores an access token.
func (q q) CreateOAuthAccessToken(ctx context.Context, idHash []byte, t OAuthAccessToken) error {
	var uid any
	if t.UserID != 0 {
		uid = t.UserID
	}
	var authTime int64
	if !t.AuthTime.IsZero() {
		authTime = unix(t.AuthTime)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO oauth_access_tokens (id_hash, grant_id, client_id, subject, user_id, scopes, audience, issued_at, expires_at, amr, acr, auth_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, idHash, t.GrantID, t.ClientID, t.Subject, uid, joinSpace(t.Scopes),
		joinSpace(t.Audience), unix(t.IssuedAt), unix(t.ExpiresAt), joinSpace(t.AMR), t.ACR, authTime)
	if err != nil {
		return fmt.Errorf("store: create access token: %w", err)
	}
	return nil
}

// OAuthAccessTokenByHash returns a live access token: one lookup on the primary key.
func (q q) OAuthAccessTokenByHash(ctx context.Context, idHash []byte, now time.Time) (OAuthAccessToken, error) {
	var t OAuthAccessToken
	var uid sql.NullInt64
	var scopes, aud, amr string
	var issued, expires, authTime int64
	err := q.db.QueryRowContext(ctx, sqlAccessTokenByHash, idHash, unix(now)).
		Scan(&t.GrantID, &t.ClientID, &t.Subject, &uid, &scopes, &aud, &issued, &expires, &amr, &t.ACR, &authTime)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: access token: %w", err)
	}
	t.UserID, t.Scopes, t.Audience = uid.Int64, splitSpace(scopes), splitSpace(aud)
	t.IssuedAt, t.ExpiresAt, t.AMR = fromUnix(issued), fromUnix(expires), splitSpace(amr)
	if authTime != 0 {
		t.AuthTime = fromUnix(authTime)
	}
	return t, nil
}

// DeleteOAuthAccessToken revokes one access token of a client.
func (q q) DeleteOAuthAccessToken(ctx context.Context, idHash []byte) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM oauth_access_tokens WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete access token: %w", err)
	}
	return nil
}

// OAuthRefreshToken is a stored refresh token.
type OAuthRefreshToken struct {
	OAuthGrant
	ExpiresAt time.Time
	// Rotated says the token was used for a refresh already: it no longer works, and a second
	// use means it was copied.
	Rotated bool
}

// CreateOAuthRefreshToken stores a refresh token under the keyed hash of its value.
func (q q) CreateOAuthRefreshToken(ctx context.Context, tokenHash []byte, t OAuthRefreshToken) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO oauth_refresh_tokens (token_hash, grant_id, client_id, user_id, scopes, amr, auth_time, expires_at, acr)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, tokenHash, t.GrantID, t.ClientID, t.UserID, joinSpace(t.Scopes), joinSpace(t.AMR),
		unix(t.AuthTime), unix(t.ExpiresAt), t.ACR)
	if err != nil {
		return fmt.Errorf("store: create refresh token: %w", err)
	}
	return nil
}

// OAuthRefreshTokenByHash returns a live refresh token: one lookup on the primary key.
func (q q) OAuthRefreshTokenByHash(ctx context.Context, tokenHash []byte, now time.Time) (OAuthRefreshToken, error) {
	var t OAuthRefreshToken
	var scopes, amr string
	var authTime, expires, rotated int64
	err := q.db.QueryRowContext(ctx, sqlRefreshTokenByHash, tokenHash, unix(now)).
		Scan(&t.GrantID, &t.ClientID, &t.UserID, &scopes, &amr, &authTime, &expires, &rotated, &t.ACR)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: refresh token: %w", err)
	}
	t.Subject = fmt.Sprint(t.UserID)
	t.Rotated = rotated != 0
	t.Scopes, t.AMR, t.AuthTime, t.ExpiresAt = splitSpace(scopes), splitSpace(amr), fromUnix(authTime), fromUnix(expires)
	return t, nil
}

// ConsumeOAuthRefreshToken marks a refresh token being rotated as used (kept until it expires,
// so that a second use is recognised); ErrNotFound when it was used or revoked already, so
// each refresh token is good for one refresh.
func (q q) ConsumeOAuthRefreshToken(ctx context.Context, tokenHash []byte, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE oauth_refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at = 0`, unix(now), tokenHash)
	if err != nil {
		return fmt.Errorf("store: consume refresh token: %w", err)
	}
	return mustAffect(res)
}

// RevokeOAuthGrant deletes every access and refresh token of one authorization.
func (q q) RevokeOAuthGrant(ctx context.Context, grantID string) error {
	for _, stmt := range []string{
		`DELETE FROM oauth_access_tokens WHERE grant_id = ?`,
		`DELETE FROM oauth_refresh_tokens WHERE grant_id = ?`,
	} {
		if _, err := q.db.ExecContext(ctx, stmt, grantID); err != nil {
			return fmt.Errorf("store: revoke grant: %w", err)
		}
	}
	return nil
}

// OIDCSigningKey is one ID-token signing key, its private half sealed.
type OIDCSigningKey struct {
	KID           string
	Alg           string
	PrivateSealed []byte
	CreatedAt     time.Time
	ActivatesAt   time.Time
	RetiresAt     time.Time // zero while it is the current key
}

// OIDCKeysLock is the lock (Tx.Lock) of the ID-token signing keys: adding one takes it, and so
// does the first start's check for none, so instances starting together make one first key and
// two rotations at once leave one current key.
const OIDCKeysLock = "oidc_signing_keys"

// AddOIDCSigningKey stores a new key that signs from its ActivatesAt, and schedules every key
// not yet retiring to leave the key set at retireOld. Call it in a transaction: it holds
// OIDCKeysLock until the end.
func (q q) AddOIDCSigningKey(ctx context.Context, k OIDCSigningKey, retireOld time.Time) error {
	if err := q.lock(ctx, OIDCKeysLock); err != nil {
		return err
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE oidc_signing_keys SET retires_at = ? WHERE retires_at IS NULL`, unix(retireOld)); err != nil {
		return fmt.Errorf("store: retire signing keys: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO oidc_signing_keys (kid, alg, private_sealed, created_at, activates_at) VALUES (?, ?, ?, ?, ?)`,
		k.KID, k.Alg, k.PrivateSealed, unix(k.CreatedAt), unix(k.ActivatesAt))
	if err != nil {
		return fmt.Errorf("store: add signing key: %w", err)
	}
	return nil
}

// OIDCSigningKeys returns the keys not retired at now, newest first: the JWKS. The first whose
// ActivatesAt has come is the one that signs.
func (q q) OIDCSigningKeys(ctx context.Context, now time.Time) ([]OIDCSigningKey, error) {
	return queryAll(ctx, q.db, "signing keys", func(r rowScanner) (OIDCSigningKey, error) {
		var k OIDCSigningKey
		var created, activates, retires int64
		if err := r.Scan(&k.KID, &k.Alg, &k.PrivateSealed, &created, &activates, &retires); err != nil {
			return k, fmt.Errorf("store: signing keys: %w", err)
		}
		k.CreatedAt, k.ActivatesAt, k.RetiresAt = fromUnix(created), fromUnix(activates), retiredAt(retires)
		return k, nil
	}, `SELECT kid, alg, private_sealed, created_at, activates_at, COALESCE(retires_at, 0)
		FROM oidc_signing_keys WHERE retires_at IS NULL OR retires_at > ?
		ORDER BY retires_at IS NULL DESC, activates_at DESC, created_at DESC, COALESCE(retires_at, 0) DESC, kid`, unix(now))
}

// retiredAt is a key's retires_at read through COALESCE(retires_at, 0): zero when it has none.
func retiredAt(unixSeconds int64) time.Time {
	if unixSeconds == 0 {
		return time.Time{}
	}
	return fromUnix(unixSeconds)
}

// CountOIDCSigningKeys counts every stored key, retired or not.
func (q q) CountOIDCSigningKeys(ctx context.Context) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM oidc_signing_keys`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count signing keys: %w", err)
	}
	return n, nil
}

// DeleteExpiredOAuthTokens drops access and refresh tokens that expired by now (a range on
// their expires_at indexes), so the tables hold only live tokens.
func (q q) DeleteExpiredOAuthTokens(ctx context.Context, now time.Time) error {
	for _, stmt := range []string{
		`DELETE FROM oauth_access_tokens WHERE expires_at <= ?`,
		`DELETE FROM oauth_refresh_tokens WHERE expires_at <= ?`,
		`DELETE FROM oauth_code_grants WHERE expires_at <= ?`,
	} {
		if _, err := q.db.ExecContext(ctx, stmt, unix(now)); err != nil {
			return fmt.Errorf("store: delete expired tokens: %w", err)
		}
	}
	return nil
}
