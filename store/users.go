package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Role is what a user may administer.
type Role string

// The three roles, from most to least powerful.
const (
	RoleSuperAdmin Role = "super_admin"
	RoleAdmin      Role = "admin"
	RoleUser       Role = "user"
)

// Rank orders roles: a higher rank may do everything a lower one may.
func (r Role) Rank() int {
	switch r {
	case RoleSuperAdmin:
		return 3
	case RoleAdmin:
		return 2
	case RoleUser:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.Rank() > 0 }

// Label is the role as people read it.
func (r Role) Label() string {
	switch r {
	case RoleSuperAdmin:
		return "Super admin"
	case RoleAdmin:
		return "Admin"
	}
	return "User"
}

// Status says whether a user may sign in.
type Status string

// The two statuses.
const (
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
)

// User is one account.
type User struct {
	ID                    int64
	Email                 string
	Name                  string
	Role                  Role
	Status                Status
	PasswordHash          string
	PasswordResetRequired bool
	// PasswordMinLength and PasswordMinScore are the rule the password was set under (0 when
	// unknown: set before the rule was recorded, or no password).
	PasswordMinLength int
	PasswordMinScore  int
	// HasBreachFingerprint says the weekly breach check has what it needs for this password.
	HasBreachFingerprint bool
	CreatedAt            time.Time
	UpdatedAt            time.Time
	// LastSignInAt is when the user last finished a sign-in (zero: never).
	LastSignInAt time.Time
	// StatusChangedAt is when they were last deactivated or reactivated (zero: never).
	StatusChangedAt time.Time
}

// Active reports whether the user may sign in.
func (u User) Active() bool { return u.Status == StatusActive }

// NormalizeEmail trims and lower-cases an address, so lookups do not depend on case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const userColumns = `id, email, name, role, status, password_hash, password_reset_required, password_min_length, password_min_score, breach_prefix <> '', created_at, updated_at, last_sign_in_at, status_changed_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated, lastSignIn, statusChanged int64
	var reset int
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Status, &u.PasswordHash, &reset, &u.PasswordMinLength, &u.PasswordMinScore, &u.HasBreachFingerprint, &created, &updated, &lastSignIn, &statusChanged)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: scan user: %w", err)
	}
	u.PasswordResetRequired = reset == 1
	u.CreatedAt, u.UpdatedAt = fromUnix(created), fromUnix(updated)
	u.LastSignInAt, u.StatusChangedAt = fromUnixOrZero(lastSignIn), fromUnixOrZero(statusChanged)
	return u, nil
}

// fromUnixOrZero is fromUnix, with 0 (never) as the zero time.
func fromUnixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return fromUnix(s)
}

// CreateUser inserts u (its e-mail normalized) and returns it with its ID. ErrConflict when
// the address is taken.
//
// The id is never one a user had before, deleted users' included (newUserID): SQLite would
// otherwise give a new user the id of a deleted user who had the highest one, and the event
// log, which keeps deleted users' ids, would then name the new user for what the old one did.
func (q q) CreateUser(ctx context.Context, u User, now time.Time) (User, error) {
	u.Email = NormalizeEmail(u.Email)
	if u.Status == "" {
		u.Status = StatusActive
	}
	u.CreatedAt, u.UpdatedAt = now.UTC().Truncate(time.Second), now.UTC().Truncate(time.Second)
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO users (id, email, name, role, status, password_hash, password_reset_required, created_at, updated_at)
		VALUES (`+q.newUserID()+`, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		u.Email, u.Name, u.Role, u.Status, u.PasswordHash, boolInt(u.PasswordResetRequired), unix(now), unix(now)).Scan(&u.ID)
	if err != nil {
		return User{}, uniqueConflict(err, "create user")
	}
	return u, nil
}

// uniqueConflict is ErrConflict for a unique constraint's refusal, else err wrapped with what.
func uniqueConflict(err error, what string) error {
	if uniqueViolation(err) {
		return ErrConflict
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// newUserID is the SQL of a new user's id, which is never one a user had before (not even a
// deleted one, whose id deleted_users keeps). SQLite would give the largest id plus one, which
// may be a deleted user's: it is computed from both tables (SQLite runs one writer at a time,
// so two inserts cannot compute the same). PostgreSQL's identity sequence never gives an id
// twice, and two instances may insert at once: it takes the next value.
func (q q) newUserID() string {
	if q.d == Postgres {
		return `nextval(pg_get_serial_sequence('users', 'id'))`
	}
	return `(SELECT COALESCE(MAX(m), 0) + 1 FROM (
		SELECT MAX(id) AS m FROM users UNION ALL SELECT MAX(id) AS m FROM deleted_users) AS ids)`
}

// UserByID returns the user with that ID, or ErrNotFound.
func (q q) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
}

// UserForUpdate is UserByID for a change decided on what it reads: the user's row stays locked
// until the transaction ends, so no other instance changes them in between (PostgreSQL's FOR
// UPDATE; SQLite's transactions run one at a time).
func (tx *Tx) UserForUpdate(ctx context.Context, id int64) (User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	if tx.d == Postgres {
		query += ` FOR UPDATE`
	}
	return scanUser(tx.db.QueryRowContext(ctx, query, id))
}

// UserByEmail returns the user with that address (in any case), or ErrNotFound.
func (q q) UserByEmail(ctx context.Context, email string) (User, error) {
	return scanUser(q.db.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE lower(email) = lower(?)`, NormalizeEmail(email)))
}

// CountUsers returns how many users exist.
func (q q) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// SetPasswordHash replaces a user's password hash (a re-hash with stronger parameters, or a new password).
func (q q) SetPasswordHash(ctx context.Context, userID int64, hash string, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return mustAffect(res)
}

// NewPassword is a password being set, as stored: its hash, the rule it was set under, and
// what the weekly breach re-check needs without the password (BreachPrefix, the first 5 hex
// characters of its SHA-1, and BreachHMAC, a keyed HMAC of the whole SHA-1; both empty when
// there is nothing to check).
type NewPassword struct {
	Hash         string
	MinLength    int
	MinScore     int
	BreachPrefix string
	BreachHMAC   []byte
}

// SetPassword stores a new password the user or an admin chose, with its rule and breach
// fingerprint, and clears the forced-reset flag: the new password is the one that was asked for.
func (q q) SetPassword(ctx context.Context, userID int64, p NewPassword, now time.Time) error {
	var mac any
	if len(p.BreachHMAC) > 0 {
		mac = p.BreachHMAC
	}
	res, err := q.db.ExecContext(ctx, `
		UPDATE users SET password_hash = ?, password_min_length = ?, password_min_score = ?,
			breach_prefix = ?, breach_hmac = ?, password_reset_required = 0, updated_at = ?
		WHERE id = ?`, p.Hash, p.MinLength, p.MinScore, p.BreachPrefix, mac, unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return mustAffect(res)
}

// BackfillBreachFingerprint stores the breach fingerprint of a user's current password (hash)
// when none is kept: passwords set before fingerprints were stored get one at their next
// sign-in, so the weekly check covers them. It leaves a flagged user alone (a breach hit
// cleared theirs on purpose) and does nothing if the password changed meanwhile.
func (q q) BackfillBreachFingerprint(ctx context.Context, userID int64, hash, prefix string, mac []byte) error {
	_, err := q.db.ExecContext(ctx, `
		UPDATE users SET breach_prefix = ?, breach_hmac = ?
		WHERE id = ? AND password_hash = ? AND breach_prefix = '' AND password_reset_required = 0`,
		prefix, mac, userID, hash)
	if err != nil {
		return fmt.Errorf("store: backfill breach fingerprint: %w", err)
	}
	return nil
}

// RequirePasswordReset flags a user: their next sign-in must choose a new password before
// anything else. ErrNotFound when there is no such user.
func (q q) RequirePasswordReset(ctx context.Context, userID int64, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET password_reset_required = 1, updated_at = ? WHERE id = ?`, unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: require password reset: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}

// ListUsers returns every user, ordered by name.
func (q q) ListUsers(ctx context.Context) ([]User, error) {
	return q.queryUsers(ctx, "list users", `SELECT `+userColumns+` FROM users ORDER BY lower(name), id`)
}

// queryUsers runs a query of userColumns and scans every user it returns; what names it in errors.
func (q q) queryUsers(ctx context.Context, what, query string, args ...any) ([]User, error) {
	return queryAll(ctx, q.db, what, scanUser, query, args...)
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: rows affected: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserFilter narrows SearchUsers. Zero values match everything.
type UserFilter struct {
	Q      string // a case-insensitive part of the name or the address
	Role   Role
	Status Status
	Limit  int // at most this many users; 0 means 200, and never more than 1000
}

// UserSummary is a user as the user list shows them: the account and which factors it has.
type UserSummary struct {
	User
	TOTP     bool // a confirmed TOTP authenticator
	Passkeys int
}

// EmailOnly reports whether the user has neither TOTP nor a passkey: the e-mailed code is their
// only second factor.
func (s UserSummary) EmailOnly() bool { return !s.TOTP && s.Passkeys == 0 }

// Invited reports whether the user has not set a password yet.
func (s UserSummary) Invited() bool { return s.PasswordHash == "" }

// likeEscaper makes a search text literal inside a LIKE pattern (with ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchUsers returns the users that match f, ordered by name, with their factors, in one query.
// The text matches any part of the name or the address, ignoring case: lower() does that in
// both dialects for ASCII (SQLite's only folds ASCII), so a text with other letters ("élodie"
// for "Élodie") is matched here instead.
func (q q) SearchUsers(ctx context.Context, f UserFilter) ([]UserSummary, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	text := strings.ToLower(strings.TrimSpace(f.Q))
	sqlText, sqlLimit := text, limit
	ascii := isASCII(text)
	if !ascii {
		sqlText, sqlLimit = "", math.MaxInt32 // every user of the role and status; matched below
	}
	rows, err := q.db.QueryContext(ctx, `
		SELECT `+userColumns+`,
		       EXISTS (SELECT 1 FROM totp t WHERE t.user_id = users.id AND t.confirmed_at > 0),
		       (SELECT count(*) FROM passkeys p WHERE p.user_id = users.id)
		FROM users
		WHERE (?1 = '' OR lower(name) LIKE ?2 ESCAPE '\' OR lower(email) LIKE ?2 ESCAPE '\')
		  AND (?3 = '' OR role = ?3)
		  AND (?4 = '' OR status = ?4)
		ORDER BY lower(name), id
		LIMIT ?5`, sqlText, "%"+likeEscaper.Replace(sqlText)+"%", string(f.Role), string(f.Status), sqlLimit)
	if err != nil {
		return nil, fmt.Errorf("store: search users: %w", err)
	}
	defer rows.Close()
	var out []UserSummary
	for rows.Next() && len(out) < limit {
		var s UserSummary
		var totp bool
		u, err := scanUser(scanSuffix{row: rows, dst: []any{&totp, &s.Passkeys}})
		if err != nil {
			return nil, err
		}
		if !ascii && !strings.Contains(strings.ToLower(u.Name), text) && !strings.Contains(strings.ToLower(u.Email), text) {
			continue
		}
		s.User, s.TOTP = u, totp
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: search users: %w", err)
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// scanSuffix scans some trailing columns into dst after the ones another scanner asks for.
type scanSuffix struct {
	row interface{ Scan(...any) error }
	dst []any
}

func (s scanSuffix) Scan(first ...any) error { return s.row.Scan(append(first, s.dst...)...) }

// SetUserStatus makes a user active or inactive (and notes when); ErrNotFound when there is no
// such user.
func (q q) SetUserStatus(ctx context.Context, userID int64, status Status, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET status = ?, status_changed_at = ?, updated_at = ? WHERE id = ?`, status, unix(now), unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: set user status: %w", err)
	}
	q.accessChanged()
	return mustAffect(res)
}

// SetUserRole changes a user's role; ErrNotFound when there is no such user.
func (q q) SetUserRole(ctx context.Context, userID int64, role Role, now time.Time) error {
	res, err := q.db.ExecContext(ctx, `UPDATE users SET role = ?, updated_at = ? WHERE id = ?`, role, unix(now), userID)
	if err != nil {
		return fmt.Errorf("store: set user role: %w", err)
	}
	return mustAffect(res)
}

// CountActiveSuperAdmins returns how many super admins may sign in. Call it inside the
// transaction that would demote or deactivate one, so two admins cannot remove the last two at
// once: it takes a lock (Tx.Lock) that such transactions hold until they end, in every
// instance (SQLite runs one transaction at a time anyway).
func (q q) CountActiveSuperAdmins(ctx context.Context) (int, error) {
	if err := q.lock(ctx, "super_admins"); err != nil {
		return 0, err
	}
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE role = 'super_admin' AND status = 'active'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count active super admins: %w", err)
	}
	return n, nil
}
