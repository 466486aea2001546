package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func newDevice(t *testing.T, s *store.Store, token string, userID int64, at time.Time) store.Device {
	t.Helper()
	d, err := s.CreateDevice(context.Background(), store.Device{
		UserID: userID, TokenHash: []byte(token), CreatedAt: at, LastSignInAt: at, ExpiresAt: at.Add(180 * 24 * time.Hour),
		IP: "192.0.2.1", UserAgent: "Mozilla/5.0 Firefox/140.0",
	})
	if err != nil {
		t.Fatalf("CreateDevice(%s): %v", token, err)
	}
	return d
}

func deviceIDs(ds []store.Device) []int64 {
	var ids []int64
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestDeviceCreateAndFind(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	other := createUser(t, s, "b@example.com", "B", store.RoleUser)
	d := newDevice(t, s, "tok", u.ID, t0)
	if d.ID == 0 {
		t.Fatal("CreateDevice returned no id")
	}

	got, err := s.DeviceByHash(ctx, []byte("tok"), t0)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("DeviceByHash = %+v, %v; want %+v", got, err, d)
	}
	if got, err := s.DeviceForEmail(ctx, []byte("tok"), "A@Example.com", t0); err != nil || got.ID != d.ID {
		t.Errorf("DeviceForEmail(its own user, other case) = %+v, %v; want device %d", got, err, d.ID)
	}
	for name, find := range map[string]func() (store.Device, error){
		"another user's email": func() (store.Device, error) { return s.DeviceForEmail(ctx, []byte("tok"), other.Email, t0) },
		"unknown email":        func() (store.Device, error) { return s.DeviceForEmail(ctx, []byte("tok"), "nobody@example.com", t0) },
		"unknown token":        func() (store.Device, error) { return s.DeviceByHash(ctx, []byte("nope"), t0) },
		"expired":              func() (store.Device, error) { return s.DeviceByHash(ctx, []byte("tok"), d.ExpiresAt) },
		"expired, by email":    func() (store.Device, error) { return s.DeviceForEmail(ctx, []byte("tok"), u.Email, d.ExpiresAt) },
	} {
		if _, err := find(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.CreateDevice(ctx, store.Device{UserID: other.ID, TokenHash: []byte("tok"), CreatedAt: t0, LastSignInAt: t0, ExpiresAt: t0}); err == nil {
		t.Error("a second device with the same token hash was stored, want a unique-constraint error")
	}
}

func TestDeviceRotate(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	other := createUser(t, s, "b@example.com", "B", store.RoleUser)
	d := newDevice(t, s, "old", u.ID, t0)

	later := t0.Add(48 * time.Hour)
	next := d
	next.TokenHash, next.LastSignInAt, next.ExpiresAt = []byte("new"), later, later.Add(180*24*time.Hour)
	next.IP, next.UserAgent = "198.51.100.7", "Mozilla/5.0 Chrome/130.0"
	if err := s.RotateDevice(ctx, next); err != nil {
		t.Fatalf("RotateDevice: %v", err)
	}
	if _, err := s.DeviceByHash(ctx, []byte("old"), later); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old token still finds the device after rotation: err = %v", err)
	}
	got, err := s.DeviceByHash(ctx, []byte("new"), later)
	if err != nil || !reflect.DeepEqual(got, next) {
		t.Errorf("DeviceByHash(new) = %+v, %v; want %+v (created_at kept)", got, err, next)
	}

	stolen := next
	stolen.UserID, stolen.TokenHash = other.ID, []byte("x")
	if err := s.RotateDevice(ctx, stolen); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateDevice of another user's device: err = %v, want ErrNotFound", err)
	}
	gone := next
	gone.ID = 999
	if err := s.RotateDevice(ctx, gone); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RotateDevice of no device: err = %v, want ErrNotFound", err)
	}
}

func TestDeviceListAndDelete(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	other := createUser(t, s, "b@example.com", "B", store.RoleUser)
	first := newDevice(t, s, "1", u.ID, t0)
	second := newDevice(t, s, "2", u.ID, t0.Add(time.Hour))
	theirs := newDevice(t, s, "3", other.ID, t0)

	list, err := s.UserDevices(ctx, u.ID, t0)
	if err != nil || !reflect.DeepEqual(deviceIDs(list), []int64{second.ID, first.ID}) {
		t.Errorf("UserDevices = %v, %v; want [%d %d] (latest sign-in first, only theirs)", deviceIDs(list), err, second.ID, first.ID)
	}
	if list, _ := s.UserDevices(ctx, u.ID, first.ExpiresAt); !reflect.DeepEqual(deviceIDs(list), []int64{second.ID}) {
		t.Errorf("UserDevices when the first expired = %v, want [%d]", deviceIDs(list), second.ID)
	}

	if _, err := s.DeleteDevice(ctx, u.ID, theirs.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteDevice of another user's device: err = %v, want ErrNotFound", err)
	}
	if got, err := s.DeleteDevice(ctx, u.ID, first.ID); err != nil || got.ID != first.ID || got.UserAgent != first.UserAgent {
		t.Errorf("DeleteDevice = %+v, %v; want device %d", got, err, first.ID)
	}
	if n, err := s.DeleteUserDevices(ctx, u.ID); err != nil || n != 1 {
		t.Errorf("DeleteUserDevices = %d, %v; want 1", n, err)
	}
	if list, _ := s.UserDevices(ctx, u.ID, t0); len(list) != 0 {
		t.Errorf("devices left after DeleteUserDevices: %v", deviceIDs(list))
	}
	if _, err := s.DeviceByHash(ctx, []byte("3"), t0); err != nil {
		t.Errorf("the other user's device went too: %v", err)
	}

	// Expired devices go with the periodic clean-up; deleting the user takes theirs.
	if err := s.DeleteExpired(ctx, theirs.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM devices`); n != 0 {
		t.Errorf("%d devices left after DeleteExpired at their expiry, want 0", n)
	}
	newDevice(t, s, "4", other.ID, t0)
	if _, err := store.RawDB(s).Exec(`DELETE FROM users WHERE id = ?`, other.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM devices`); n != 0 {
		t.Errorf("%d devices left after their user was deleted, want 0", n)
	}
}

// TestDeviceLimit: a user keeps at most MaxDevices; the one signed in longest ago goes first.
func TestDeviceLimit(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	other := createUser(t, s, "b@example.com", "B", store.RoleUser)
	newDevice(t, s, "theirs", other.ID, t0)
	var oldest store.Device
	for i := range store.MaxDevices + 1 {
		d := newDevice(t, s, fmt.Sprint("d", i), u.ID, t0.Add(time.Duration(i)*time.Minute))
		if i == 0 {
			oldest = d
		}
	}
	list, err := s.UserDevices(ctx, u.ID, t0)
	if err != nil || len(list) != store.MaxDevices {
		t.Fatalf("UserDevices = %d devices, %v; want %d", len(list), err, store.MaxDevices)
	}
	if _, err := s.DeviceByHash(ctx, []byte("d0"), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the oldest device %d is still there: err = %v", oldest.ID, err)
	}
	if _, err := s.DeviceByHash(ctx, []byte("theirs"), t0); err != nil {
		t.Errorf("another user's device was forgotten: %v", err)
	}
}

// TestDevicesMigrationDownUp: the devices migration goes down and up again with the rest.
func TestDevicesMigrationDownUp(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "a@example.com", "A", store.RoleUser)
	newDevice(t, s, "tok", u.ID, t0)
	if err := s.MigrateDownAll(ctx); err != nil {
		t.Fatalf("MigrateDownAll: %v", err)
	}
	if objs := schemaObjects(t, s, "devices%"); len(objs) != 0 {
		t.Errorf("after down, the devices table or indexes remain: %q", objs)
	}
	if err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	u = createUser(t, s, "a@example.com", "A", store.RoleUser)
	d := newDevice(t, s, "tok", u.ID, t0)
	if got, err := s.DeviceByHash(ctx, []byte("tok"), t0); err != nil || got.ID != d.ID {
		t.Errorf("DeviceByHash after down/up = %+v, %v; want device %d", got, err, d.ID)
	}
}
