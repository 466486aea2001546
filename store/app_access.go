package store

import (
	"context"
	"fmt"
	"time"
)

// AppKind is a kind of application that signs its users in through weftid.
type AppKind string

// The kinds of application whose access weftid keeps (app_access.app_kind).
const (
	AppOIDC  AppKind = "oidc"  // an OpenID Connect client, by its client_id
	AppSAML  AppKind = "saml"  // a SAML service provider, by its id
	AppProxy AppKind = "proxy" // a proxied application (forward auth), by its id
)

// AppRef names one application: its kind and its id within the kind, as text.
type AppRef struct {
	Kind AppKind
	ID   string
}

// AppAccess is who may sign in to an application: everyone (Restricted false), or only the
// members of the groups GroupIDs (nobody when it is empty).
type AppAccess struct {
	App        AppRef
	Restricted bool
	GroupIDs   []int64
}

// AppAccessOf returns who may sign in to app; an app never restricted lets everyone in.
func (q q) AppAccessOf(ctx context.Context, app AppRef) (AppAccess, error) {
	a := AppAccess{App: app}
	rows, err := q.db.QueryContext(ctx, `
		SELECT g.group_id FROM app_access a
		LEFT JOIN app_access_groups g ON g.app_kind = a.app_kind AND g.app_id = a.app_id
		WHERE a.app_kind = ? AND a.app_id = ?
		ORDER BY g.group_id`, app.Kind, app.ID)
	if err != nil {
		return a, fmt.Errorf("store: app access: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id *int64
		if err := rows.Scan(&id); err != nil {
			return a, fmt.Errorf("store: app access: %w", err)
		}
		a.Restricted = true
		if id != nil {
			a.GroupIDs = append(a.GroupIDs, *id)
		}
	}
	return a, rows.Err()
}

// RestrictedApps returns the access of every application that does not let everyone in.
func (q q) RestrictedApps(ctx context.Context) (map[AppRef]AppAccess, error) {
	rows, err := q.db.QueryContext(ctx, `
		SELECT a.app_kind, a.app_id, g.group_id FROM app_access a
		LEFT JOIN app_access_groups g ON g.app_kind = a.app_kind AND g.app_id = a.app_id
		ORDER BY a.app_kind, a.app_id, g.group_id`)
	if err != nil {
		return nil, fmt.Errorf("store: restricted apps: %w", err)
	}
	defer rows.Close()
	out := map[AppRef]AppAccess{}
	for rows.Next() {
		var ref AppRef
		var id *int64
		if err := rows.Scan(&ref.Kind, &ref.ID, &id); err != nil {
			return nil, fmt.Errorf("store: restricted apps: %w", err)
		}
		a := out[ref]
		a.App, a.Restricted = ref, true
		if id != nil {
			a.GroupIDs = append(a.GroupIDs, *id)
		}
		out[ref] = a
	}
	return out, rows.Err()
}

// SetAppAccess replaces who may sign in to an application. Call it on the Tx of the change: it
// deletes the old rows and inserts the new ones, holding the application's lock (Tx.Lock) so two
// instances saving it at once do not both insert. ErrNotFound when a group does not exist.
func (q q) SetAppAccess(ctx context.Context, a AppAccess, now time.Time) error {
	if err := q.lock(ctx, "app_access:"+string(a.App.Kind)+":"+a.App.ID); err != nil {
		return err
	}
	if err := q.DeleteAppAccess(ctx, a.App); err != nil {
		return err
	}
	if !a.Restricted {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO app_access (app_kind, app_id, updated_at) VALUES (?, ?, ?)`,
		a.App.Kind, a.App.ID, unix(now)); err != nil {
		return fmt.Errorf("store: set app access: %w", err)
	}
	for _, id := range a.GroupIDs {
		// INSERT ... SELECT inserts nothing for a group that is gone, which the count tells.
		res, err := q.db.ExecContext(ctx, `
			INSERT INTO app_access_groups (app_kind, app_id, group_id)
			SELECT a.app_kind, a.app_id, g.id FROM app_access a, user_groups g
			WHERE a.app_kind = ? AND a.app_id = ? AND g.id = ?
			ON CONFLICT (app_kind, app_id, group_id) DO NOTHING`, a.App.Kind, a.App.ID, id)
		if err != nil {
			return fmt.Errorf("store: set app access: %w", err)
		}
		if err := mustAffect(res); err != nil {
			return err
		}
	}
	return nil
}

// DeleteAppAccess forgets an application's access rule (it lets everyone in again): for an
// application being deleted, whose id a new one may get.
func (q q) DeleteAppAccess(ctx context.Context, app AppRef) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM app_access WHERE app_kind = ? AND app_id = ?`, app.Kind, app.ID); err != nil {
		return fmt.Errorf("store: delete app access: %w", err)
	}
	q.accessChanged() // SetAppAccess begins here too
	return nil
}

// ActiveAdmins returns up to limit active super admins and admins, super admins first, by name:
// whom a user refused an application may ask.
func (q q) ActiveAdmins(ctx context.Context, limit int) ([]User, error) {
	return q.users(ctx, "active admins", `
		SELECT `+userColumns+` FROM users
		WHERE status = 'active' AND role IN ('super_admin', 'admin')
		ORDER BY CASE role WHEN 'super_admin' THEN 0 ELSE 1 END, lower(name), id
		LIMIT ?`, limit)
}
