package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ProxyApp is an application without single sign-on that a reverse proxy protects with forward
// authentication: every request to Host (with PathPrefix, "" for the whole host) is checked.
type ProxyApp struct {
	ID         int64
	Name       string
	Host       string
	PathPrefix string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const proxyAppColumns = `id, name, host, path_prefix, created_at, updated_at`

func scanProxyApp(row rowScanner) (ProxyApp, error) {
	var a ProxyApp
	var created, updated int64
	err := row.Scan(&a.ID, &a.Name, &a.Host, &a.PathPrefix, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return ProxyApp{}, ErrNotFound
	}
	if err != nil {
		return ProxyApp{}, fmt.Errorf("store: scan proxy app: %w", err)
	}
	a.CreatedAt, a.UpdatedAt = fromUnix(created), fromUnix(updated)
	return a, nil
}

// ProxyApps lists the proxied applications by name.
func (q q) ProxyApps(ctx context.Context) ([]ProxyApp, error) {
	return queryAll(ctx, q.db, "proxy apps", scanProxyApp, `SELECT `+proxyAppColumns+` FROM proxy_apps ORDER BY lower(name), id`)
}

// ProxyApp is the proxied application id, or ErrNotFound.
func (q q) ProxyApp(ctx context.Context, id int64) (ProxyApp, error) {
	return scanProxyApp(q.db.QueryRowContext(ctx, `SELECT `+proxyAppColumns+` FROM proxy_apps WHERE id = ?`, id))
}

// CreateProxyApp stores a new proxied application and returns it with its id; ErrConflict when
// another has the same host and path prefix.
func (q q) CreateProxyApp(ctx context.Context, a ProxyApp) (ProxyApp, error) {
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO proxy_apps (name, host, path_prefix, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		a.Name, a.Host, a.PathPrefix, unix(a.CreatedAt), unix(a.CreatedAt)).Scan(&a.ID)
	if uniqueViolation(err) {
		return ProxyApp{}, ErrConflict
	}
	if err != nil {
		return ProxyApp{}, fmt.Errorf("store: create proxy app: %w", err)
	}
	a.UpdatedAt = a.CreatedAt
	return a, nil
}

// UpdateProxyApp saves a proxied application's name, host and prefix; ErrNotFound when it is
// gone, ErrConflict when another has the new host and prefix.
func (q q) UpdateProxyApp(ctx context.Context, a ProxyApp) error {
	res, err := q.db.ExecContext(ctx, `UPDATE proxy_apps SET name = ?, host = ?, path_prefix = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.Host, a.PathPrefix, unix(a.UpdatedAt), a.ID)
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: update proxy app: %w", err)
	}
	return mustAffect(res)
}

// DeleteProxyApp removes a proxied application; ErrNotFound when there is none.
func (q q) DeleteProxyApp(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM proxy_apps WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete proxy app: %w", err)
	}
	return mustAffect(res)
}

// ProxyCode is a single-use code that carries a finished sign-in to an app's host: CodeHash is
// the keyed hash of the code, Binding the keyed hash of the browser's value on that host.
type ProxyCode struct {
	CodeHash    []byte
	SessionHash []byte
	Host        string
	Binding     []byte
	ReturnURL   string
	ExpiresAt   time.Time
}

// CreateProxyCode stores a code.
func (q q) CreateProxyCode(ctx context.Context, c ProxyCode) error {
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO proxy_codes (code_hash, session_hash, host, binding, return_url, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.CodeHash, c.SessionHash, c.Host, c.Binding, c.ReturnURL, unix(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create proxy code: %w", err)
	}
	return nil
}

// TakeProxyCode deletes the code with that hash and returns it, expired or not (the caller
// decides), so it works at most once; ErrNotFound when there is none.
func (q q) TakeProxyCode(ctx context.Context, codeHash []byte) (ProxyCode, error) {
	c := ProxyCode{CodeHash: codeHash}
	var expires int64
	err := q.db.QueryRowContext(ctx, `
		DELETE FROM proxy_codes WHERE code_hash = ? RETURNING session_hash, host, binding, return_url, expires_at`, codeHash).
		Scan(&c.SessionHash, &c.Host, &c.Binding, &c.ReturnURL, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ProxyCode{}, ErrNotFound
	}
	if err != nil {
		return ProxyCode{}, fmt.Errorf("store: take proxy code: %w", err)
	}
	c.ExpiresAt = fromUnix(expires)
	return c, nil
}

// ProxySession is a browser signed in to an app's host, under the weftid session SessionHash.
// IDHash is the keyed hash of its cookie's value.
type ProxySession struct {
	IDHash      []byte
	SessionHash []byte
	Host        string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// CreateProxySession stores a proxy session in place of any other of the same weftid session
// and host (a browser keeps one cookie per host).
func (q q) CreateProxySession(ctx context.Context, p ProxySession) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM proxy_sessions WHERE session_hash = ? AND host = ?`, p.SessionHash, p.Host); err != nil {
		return fmt.Errorf("store: create proxy session: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO proxy_sessions (id_hash, session_hash, host, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		p.IDHash, p.SessionHash, p.Host, unix(p.CreatedAt), unix(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create proxy session: %w", err)
	}
	return nil
}

// ProxySessionUser is the forward-auth check's one lookup: the live proxy session with that
// hash, its user (through the weftid session it belongs to) and the user's groups (ID and Name
// only, by name). ExpiresAt is the earlier of the two sessions' ends. ErrNotFound when there is
// none or either has expired at now.
func (q q) ProxySessionUser(ctx context.Context, idHash []byte, now time.Time) (ProxySession, User, []Group, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT p.session_hash, p.host, p.created_at, p.expires_at, s.expires_at, g.id, g.name, `+prefixed("u.", userColumns)+`
		FROM proxy_sessions p
		JOIN sessions s ON s.id_hash = p.session_hash
		JOIN users u ON u.id = s.user_id
		LEFT JOIN user_group_members m ON m.user_id = u.id
		LEFT JOIN user_groups g ON g.id = m.group_id
		WHERE p.id_hash = ? AND p.expires_at > ? AND s.expires_at > ?
		ORDER BY g.name_key, g.id`, idHash, unix(now), unix(now))
	if err != nil {
		return ProxySession{}, User{}, nil, fmt.Errorf("store: proxy session: %w", err)
	}
	defer rows.Close()
	p := ProxySession{IDHash: idHash}
	var u User
	var groups []Group
	found := false
	for rows.Next() {
		var created, expires, sessionExpires int64
		var groupID sql.NullInt64
		var groupName sql.NullString
		if u, err = scanUser(scanPrefix{row: rows, dst: []any{&p.SessionHash, &p.Host, &created, &expires, &sessionExpires, &groupID, &groupName}}); err != nil {
			return ProxySession{}, User{}, nil, err
		}
		p.CreatedAt, p.ExpiresAt = fromUnix(created), fromUnix(min(expires, sessionExpires))
		if groupID.Valid {
			groups = append(groups, Group{ID: groupID.Int64, Name: groupName.String})
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return ProxySession{}, User{}, nil, fmt.Errorf("store: proxy session: %w", err)
	}
	if !found {
		return ProxySession{}, User{}, nil, ErrNotFound
	}
	return p, u, groups, nil
}

// DeleteProxySession deletes the proxy session with that hash and returns it; ErrNotFound when
// there is none.
func (q q) DeleteProxySession(ctx context.Context, idHash []byte) (ProxySession, error) {
	p := ProxySession{IDHash: idHash}
	var created, expires int64
	err := q.db.QueryRowContext(ctx, `DELETE FROM proxy_sessions WHERE id_hash = ? RETURNING session_hash, host, created_at, expires_at`, idHash).
		Scan(&p.SessionHash, &p.Host, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return ProxySession{}, ErrNotFound
	}
	if err != nil {
		return ProxySession{}, fmt.Errorf("store: delete proxy session: %w", err)
	}
	p.CreatedAt, p.ExpiresAt = fromUnix(created), fromUnix(expires)
	return p, nil
}

// SessionUserID is the user of the weftid session with that hash, live or not; ErrNotFound when
// there is none.
func (q q) SessionUserID(ctx context.Context, idHash []byte) (int64, error) {
	var id int64
	err := q.db.QueryRowContext(ctx, `SELECT user_id FROM sessions WHERE id_hash = ?`, idHash).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: session user: %w", err)
	}
	return id, nil
}

// DeleteOrphanProxySessions ends the proxy sessions of host when no proxied app is on it any more.
func (q q) DeleteOrphanProxySessions(ctx context.Context, host string) error {
	_, err := q.db.ExecContext(ctx, `
		DELETE FROM proxy_sessions WHERE host = ? AND NOT EXISTS (SELECT 1 FROM proxy_apps WHERE host = ?)`, host, host)
	if err != nil {
		return fmt.Errorf("store: delete orphan proxy sessions: %w", err)
	}
	return nil
}
