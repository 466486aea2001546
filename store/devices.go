package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxDevices is how many devices a user keeps: a new one beyond it forgets the one whose last
// sign-in is oldest, so signing in from ever new browsers cannot grow the table without bound.
const MaxDevices = 50

// Device is a browser that finished a sign-in of its user. TokenHash is the keyed hash of the
// token its device cookie holds; IP and UserAgent are those of its last sign-in.
type Device struct {
	ID           int64
	UserID       int64
	TokenHash    []byte
	CreatedAt    time.Time
	LastSignInAt time.Time
	ExpiresAt    time.Time
	IP           string
	UserAgent    string
}

const deviceColumns = `id, user_id, token_hash, created_at, last_sign_in_at, expires_at, ip, user_agent`

func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	var created, last, expires int64
	err := row.Scan(&d.ID, &d.UserID, &d.TokenHash, &created, &last, &expires, &d.IP, &d.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, ErrNotFound
	}
	if err != nil {
		return Device{}, fmt.Errorf("store: scan device: %w", err)
	}
	d.CreatedAt, d.LastSignInAt, d.ExpiresAt = fromUnix(created), fromUnix(last), fromUnix(expires)
	return d, nil
}

// CreateDevice stores a new device and returns it with its id. Beyond MaxDevices for its user,
// the devices whose last sign-in is oldest are forgotten.
func (q q) CreateDevice(ctx context.Context, d Device) (Device, error) {
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO devices (user_id, token_hash, created_at, last_sign_in_at, expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		d.UserID, d.TokenHash, unix(d.CreatedAt), unix(d.LastSignInAt), unix(d.ExpiresAt), d.IP, d.UserAgent).Scan(&d.ID)
	if err != nil {
		return Device{}, fmt.Errorf("store: create device: %w", err)
	}
	_, err = q.db.ExecContext(ctx, `
		DELETE FROM devices WHERE user_id = ?1 AND id NOT IN (
			SELECT id FROM devices WHERE user_id = ?1 ORDER BY last_sign_in_at DESC, id DESC LIMIT ?2)`,
		d.UserID, MaxDevices)
	if err != nil {
		return Device{}, fmt.Errorf("store: prune devices: %w", err)
	}
	return d, nil
}

// DeviceByHash is the live device (not expired at now) whose token has that hash, or
// ErrNotFound.
func (q q) DeviceByHash(ctx context.Context, tokenHash []byte, now time.Time) (Device, error) {
	return scanDevice(q.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, unix(now)))
}

// DeviceForEmail is the live device whose token has that hash when it belongs to the user with
// that e-mail address, or ErrNotFound: a device cookie counts only for its own account.
func (q q) DeviceForEmail(ctx context.Context, tokenHash []byte, email string, now time.Time) (Device, error) {
	return scanDevice(q.db.QueryRowContext(ctx, `SELECT `+prefixed("d.", deviceColumns)+` FROM devices d JOIN users u ON u.id = d.user_id
		WHERE d.token_hash = ? AND lower(u.email) = lower(?) AND d.expires_at > ?`, tokenHash, NormalizeEmail(email), unix(now)))
}

// prefixed puts prefix before each name of a comma-separated column list.
func prefixed(prefix, columns string) string {
	return prefix + strings.ReplaceAll(columns, ", ", ", "+prefix)
}

// RotateDevice records a new sign-in of the device d.ID: its token hash, last sign-in, expiry,
// IP and user agent become d's. ErrNotFound when the device is gone.
func (q q) RotateDevice(ctx context.Context, d Device) error {
	res, err := q.db.ExecContext(ctx, `
		UPDATE devices SET token_hash = ?, last_sign_in_at = ?, expires_at = ?, ip = ?, user_agent = ?
		WHERE id = ? AND user_id = ?`,
		d.TokenHash, unix(d.LastSignInAt), unix(d.ExpiresAt), d.IP, d.UserAgent, d.ID, d.UserID)
	if err != nil {
		return fmt.Errorf("store: rotate device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserDevices lists the live devices of a user at now, the latest sign-in first.
func (q q) UserDevices(ctx context.Context, userID int64, now time.Time) ([]Device, error) {
	return queryAll(ctx, q.db, "list devices", scanDevice,
		`SELECT `+deviceColumns+` FROM devices WHERE user_id = ? AND expires_at > ? ORDER BY last_sign_in_at DESC, id DESC`,
		userID, unix(now))
}

// DeleteDevice forgets one device of a user and returns it; ErrNotFound when the user has no
// device with that id.
func (q q) DeleteDevice(ctx context.Context, userID, id int64) (Device, error) {
	return scanDevice(q.db.QueryRowContext(ctx, `DELETE FROM devices WHERE id = ? AND user_id = ? RETURNING `+deviceColumns, id, userID))
}

// DeleteUserDevices forgets every device of a user and returns how many there were.
func (q q) DeleteUserDevices(ctx context.Context, userID int64) (int64, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM devices WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("store: delete user devices: %w", err)
	}
	return res.RowsAffected()
}
