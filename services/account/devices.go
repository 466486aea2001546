package account

import (
	"bytes"
	"context"
	"errors"

	"github.com/weftid/weftid/store"
)

// A device is a browser that finished a sign-in (services/signin sets and rotates its cookie).
// It lasts until its cookie expires, the user removes it here, an admin signs the user out
// everywhere, or the user is deactivated. Setting a password (a change, a reset link, a forced
// reset after a breach) keeps devices: trust belongs to the browser, and the new password is
// still needed to sign in from it.

// Devices lists the user's devices, the latest sign-in first, and the id of the one whose
// device cookie holds token (0 when none is: "this browser").
func (s *Service) Devices(ctx context.Context, userID int64, token string) (devices []store.Device, current int64, err error) {
	devices, err = s.store.UserDevices(ctx, userID, s.now())
	if err != nil || token == "" {
		return devices, 0, err
	}
	hash := s.keys.HashToken("device", token)
	for _, d := range devices {
		if bytes.Equal(d.TokenHash, hash) {
			current = d.ID
		}
	}
	return devices, current, nil
}

// RemoveDevice forgets one of u's devices: its cookie no longer counts as trusted, and its
// next sign-in makes it a new device. Logs device_removed. ErrNotFound when u has no such
// device.
func (s *Service) RemoveDevice(ctx context.Context, u store.User, id int64, origin store.Origin) error {
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.DeleteDevice(ctx, u.ID, id)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(s.now(), store.EventDeviceRemoved, ptr(u.ID), ptr(u.ID),
			map[string]any{"device_id": d.ID, "user_agent": d.UserAgent, "last_sign_in_ip": d.IP}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// forgetDevicesTx forgets every device of a user, in the transaction that signs them out
// everywhere or deactivates them, and returns how many there were.
func forgetDevicesTx(ctx context.Context, tx *store.Tx, userID int64) (int64, error) {
	return tx.DeleteUserDevices(ctx, userID)
}
