package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Group is a named set of users; applications may let only the members of some groups sign in.
// Members is how many users it has (filled in by the queries that list or read groups).
type Group struct {
	ID          int64
	Name        string
	Description string
	Members     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupKey is what makes two group names the same: the name trimmed and lower-cased, so "Ops"
// and "ops" cannot both exist.
func GroupKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

const groupColumns = `g.id, g.name, g.description, g.created_at, g.updated_at,
	(SELECT count(*) FROM user_group_members m WHERE m.group_id = g.id)`

func scanGroup(row interface{ Scan(...any) error }) (Group, error) {
	var g Group
	var created, updated int64
	err := row.Scan(&g.ID, &g.Name, &g.Description, &created, &updated, &g.Members)
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, ErrNotFound
	}
	if err != nil {
		return Group{}, fmt.Errorf("store: scan group: %w", err)
	}
	g.CreatedAt, g.UpdatedAt = fromUnix(created), fromUnix(updated)
	return g, nil
}

func (q q) groups(ctx context.Context, what, query string, args ...any) ([]Group, error) {
	return queryAll(ctx, q.db, what, scanGroup, query, args...)
}

// users runs a query of userColumns and returns its users.
func (q q) users(ctx context.Context, what, query string, args ...any) ([]User, error) {
	return queryAll(ctx, q.db, what, scanUser, query, args...)
}

// CreateGroup stores a new group (its CreatedAt is also its UpdatedAt) and returns it with its
// id. ErrConflict when a group of that name (in any case) exists.
func (q q) CreateGroup(ctx context.Context, g Group) (Group, error) {
	g.UpdatedAt = g.CreatedAt
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO user_groups (name, name_key, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		RETURNING id`, g.Name, GroupKey(g.Name), g.Description, unix(g.CreatedAt), unix(g.CreatedAt)).Scan(&g.ID)
	if uniqueViolation(err) {
		return Group{}, ErrConflict
	}
	if err != nil {
		return Group{}, fmt.Errorf("store: create group: %w", err)
	}
	g.Members = 0
	return g, nil
}

// UpdateGroup saves a group's name and description. ErrNotFound when it is gone, ErrConflict
// when another group has the name.
func (q q) UpdateGroup(ctx context.Context, g Group) error {
	res, err := q.db.ExecContext(ctx, `UPDATE user_groups SET name = ?, name_key = ?, description = ?, updated_at = ? WHERE id = ?`,
		g.Name, GroupKey(g.Name), g.Description, unix(g.UpdatedAt), g.ID)
	if uniqueViolation(err) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store: update group: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}

// DeleteGroup removes a group, its memberships and its place on every application's access
// list. ErrNotFound when there is none.
func (q q) DeleteGroup(ctx context.Context, id int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM user_groups WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("store: delete group: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}

// GroupByID returns a group with its member count, or ErrNotFound.
func (q q) GroupByID(ctx context.Context, id int64) (Group, error) {
	return scanGroup(q.db.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM user_groups g WHERE g.id = ?`, id))
}

// ListGroups returns every group with its member count, by name.
func (q q) ListGroups(ctx context.Context) ([]Group, error) {
	return q.groups(ctx, "list groups", `SELECT `+groupColumns+` FROM user_groups g ORDER BY g.name_key, g.id`)
}

// GroupsOfUser returns the groups a user is a member of, by name.
func (q q) GroupsOfUser(ctx context.Context, userID int64) ([]Group, error) {
	return q.groups(ctx, "groups of user", `
		SELECT `+groupColumns+` FROM user_groups g
		WHERE g.id IN (SELECT group_id FROM user_group_members WHERE user_id = ?)
		ORDER BY g.name_key, g.id`, userID)
}

// GroupNamesOfUser returns the names of a user's groups, by name: what the groups claim and
// SAML attribute carry.
func (q q) GroupNamesOfUser(ctx context.Context, userID int64) ([]string, error) {
	names, err := queryAll(ctx, q.db, "group names of user", func(row interface{ Scan(...any) error }) (n string, err error) {
		return n, row.Scan(&n)
	}, `SELECT g.name FROM user_groups g JOIN user_group_members m ON m.group_id = g.id
		WHERE m.user_id = ? ORDER BY g.name_key, g.id`, userID)
	if names == nil && err == nil {
		names = []string{} // an empty claim, not null
	}
	return names, err
}

// GroupMembers returns a group's members, by name.
func (q q) GroupMembers(ctx context.Context, groupID int64) ([]User, error) {
	return q.users(ctx, "group members", `
		SELECT `+userColumns+` FROM users
		WHERE id IN (SELECT user_id FROM user_group_members WHERE group_id = ?)
		ORDER BY lower(name), id`, groupID)
}

// AddGroupMember makes a user a member of a group. ErrConflict when they are one already,
// ErrNotFound when the group or the user does not exist.
func (q q) AddGroupMember(ctx context.Context, groupID, userID int64, at time.Time) error {
	res, err := q.db.ExecContext(ctx, `
		INSERT INTO user_group_members (group_id, user_id, added_at) VALUES (?, ?, ?)
		ON CONFLICT (group_id, user_id) DO NOTHING`, groupID, userID, unix(at))
	if foreignKeyViolation(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: add group member: %w", err)
	}
	if err := mustAffect(res); errors.Is(err, ErrNotFound) {
		return ErrConflict // ON CONFLICT DO NOTHING: a member already
	} else if err != nil {
		return err
	}
	q.accessChanged()
	return nil
}

// RemoveGroupMember ends a user's membership of a group; ErrNotFound when they were not a member.
func (q q) RemoveGroupMember(ctx context.Context, groupID, userID int64) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM user_group_members WHERE group_id = ? AND user_id = ?`, groupID, userID)
	if err != nil {
		return fmt.Errorf("store: remove group member: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}
