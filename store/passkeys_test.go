package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

func newPasskey(t *testing.T, s *store.Store, userID int64, credID, name string) store.Passkey {
	t.Helper()
	p, err := s.CreatePasskey(context.Background(), store.Passkey{
		UserID: userID, CredentialID: []byte(credID), Name: name,
		Credential: fmt.Sprintf(`{"id":%q}`, credID), SignCount: 1, CreatedAt: t0,
	})
	if err != nil {
		t.Fatalf("CreatePasskey(%s): %v", credID, err)
	}
	return p
}

func TestPasskeys(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	other := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)

	if ps, err := s.PasskeysByUser(ctx, u.ID); err != nil || len(ps) != 0 {
		t.Errorf("PasskeysByUser with none = %v, %v", ps, err)
	}
	if n, err := s.CountPasskeys(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("CountPasskeys with none = %d, %v", n, err)
	}

	p1 := newPasskey(t, s, u.ID, "cred-1", "Laptop")
	p2 := newPasskey(t, s, u.ID, "cred-2", "Phone")
	po := newPasskey(t, s, other.ID, "cred-o", "Bob's key")
	if p1.ID == 0 || p2.ID == p1.ID {
		t.Errorf("passkey ids %d, %d", p1.ID, p2.ID)
	}

	// A credential registers once, for anyone.
	for _, owner := range []int64{u.ID, other.ID} {
		_, err := s.CreatePasskey(ctx, store.Passkey{UserID: owner, CredentialID: []byte("cred-1"), Name: "dup", Credential: `{}`, CreatedAt: t0})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("duplicate credential id for user %d: %v, want ErrConflict", owner, err)
		}
	}
	// The credential must be JSON.
	if _, err := s.CreatePasskey(ctx, store.Passkey{UserID: u.ID, CredentialID: []byte("bad"), Name: "x", Credential: `not json`, CreatedAt: t0}); err == nil || errors.Is(err, store.ErrConflict) {
		t.Errorf("credential that is not JSON: %v, want an error other than ErrConflict", err)
	}

	list, err := s.PasskeysByUser(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("PasskeysByUser = %v, %v; want 2", list, err)
	}
	if list[0].ID != p1.ID || list[1].ID != p2.ID {
		t.Errorf("order: %d, %d; want oldest first %d, %d", list[0].ID, list[1].ID, p1.ID, p2.ID)
	}
	got := list[0]
	if got.UserID != u.ID || string(got.CredentialID) != "cred-1" || got.Name != "Laptop" || got.Credential != `{"id":"cred-1"}` ||
		got.SignCount != 1 || !got.CreatedAt.Equal(t0) || !got.LastUsedAt.IsZero() {
		t.Errorf("stored passkey = %+v", got)
	}
	if n, _ := s.CountPasskeys(ctx, u.ID); n != 2 {
		t.Errorf("CountPasskeys = %d, want 2", n)
	}
	if byID, err := s.PasskeyByCredentialID(ctx, []byte("cred-o")); err != nil || byID.ID != po.ID || byID.UserID != other.ID {
		t.Errorf("PasskeyByCredentialID = %+v, %v", byID, err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PasskeyByCredentialID(unknown): %v, want ErrNotFound", err)
	}

	// Use: new credential state, counter (the whole uint32 range) and last used.
	used := t0.Add(time.Hour)
	if err := s.UsePasskey(ctx, p1.ID, `{"id":"cred-1","n":2}`, 4_000_000_000, used); err != nil {
		t.Fatalf("UsePasskey: %v", err)
	}
	got, _ = s.PasskeyByCredentialID(ctx, []byte("cred-1"))
	if got.SignCount != 4_000_000_000 || !got.LastUsedAt.Equal(used) || got.Credential != `{"id":"cred-1","n":2}` {
		t.Errorf("after UsePasskey = %+v", got)
	}
	if err := s.UsePasskey(ctx, 9999, `{}`, 1, used); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UsePasskey(unknown): %v, want ErrNotFound", err)
	}

	// Rename: only the owner.
	if err := s.RenamePasskey(ctx, other.ID, p1.ID, "Stolen"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RenamePasskey by another user: %v, want ErrNotFound", err)
	}
	if err := s.RenamePasskey(ctx, u.ID, 9999, "Ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RenamePasskey(unknown id): %v, want ErrNotFound", err)
	}
	if got, _ := s.PasskeyByCredentialID(ctx, []byte("cred-1")); got.Name != "Laptop" {
		t.Errorf("refused rename changed the name to %q", got.Name)
	}
	if err := s.RenamePasskey(ctx, u.ID, p1.ID, "Work laptop"); err != nil {
		t.Errorf("RenamePasskey: %v", err)
	}
	if got, _ := s.PasskeyByCredentialID(ctx, []byte("cred-1")); got.Name != "Work laptop" {
		t.Errorf("name after rename %q", got.Name)
	}

	// Delete: only the owner; returns what it deleted.
	if _, err := s.DeletePasskey(ctx, other.ID, p1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeletePasskey by another user: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountPasskeys(ctx, u.ID); n != 2 {
		t.Errorf("refused delete removed a passkey: %d left, want 2", n)
	}
	del, err := s.DeletePasskey(ctx, u.ID, p1.ID)
	if err != nil || del.ID != p1.ID || del.Name != "Work laptop" || del.UserID != u.ID {
		t.Errorf("DeletePasskey = %+v, %v", del, err)
	}
	if _, err := s.DeletePasskey(ctx, u.ID, p1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeletePasskey twice: %v, want ErrNotFound", err)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte("cred-1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted passkey still found: %v", err)
	}
	if n, _ := s.CountPasskeys(ctx, u.ID); n != 1 {
		t.Errorf("CountPasskeys after delete = %d, want 1", n)
	}
	if n, _ := s.CountPasskeys(ctx, other.ID); n != 1 {
		t.Errorf("other user's passkeys = %d, want 1", n)
	}
	// A deleted credential may be registered again.
	newPasskey(t, s, u.ID, "cred-1", "Laptop again")
}

func TestWebAuthnHandle(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	other := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)

	if _, err := s.UserByWebAuthnHandle(ctx, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByWebAuthnHandle(nil) before any handle: %v, want ErrNotFound", err)
	}
	h1, err := s.WebAuthnHandle(ctx, u.ID)
	if err != nil {
		t.Fatalf("WebAuthnHandle: %v", err)
	}
	if len(h1) != 32 {
		t.Errorf("handle is %d bytes, want 32", len(h1))
	}
	if bytes.Contains(h1, []byte(u.Email)) || bytes.Equal(h1, []byte(fmt.Sprint(u.ID))) {
		t.Error("the handle names the user")
	}
	again, err := s.WebAuthnHandle(ctx, u.ID)
	if err != nil || !bytes.Equal(again, h1) {
		t.Errorf("WebAuthnHandle again = %x, %v; want the same %x", again, err, h1)
	}
	h2, err := s.WebAuthnHandle(ctx, other.ID)
	if err != nil || bytes.Equal(h2, h1) {
		t.Errorf("other user's handle = %x, %v; want a different one", h2, err)
	}
	if found, err := s.UserByWebAuthnHandle(ctx, h1); err != nil || found.ID != u.ID || found.Email != u.Email {
		t.Errorf("UserByWebAuthnHandle = %+v, %v; want user %d", found, err, u.ID)
	}
	if found, err := s.UserByWebAuthnHandle(ctx, h2); err != nil || found.ID != other.ID {
		t.Errorf("UserByWebAuthnHandle(other) = %+v, %v", found, err)
	}
	for _, h := range [][]byte{nil, {}, []byte("unknown"), h1[:31]} {
		if _, err := s.UserByWebAuthnHandle(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByWebAuthnHandle(%x): %v, want ErrNotFound", h, err)
		}
	}
	if _, err := s.WebAuthnHandle(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WebAuthnHandle(unknown user): %v, want ErrNotFound", err)
	}

	// The first use from many requests at once still gives one handle.
	third := createUser(t, s, "cat@example.com", "Cat", store.RoleUser)
	handles := make([][]byte, 8)
	for i, err := range race(8, func(i int) error {
		var err error
		handles[i], err = s.WebAuthnHandle(ctx, third.ID)
		return err
	}) {
		if err != nil {
			t.Fatalf("concurrent WebAuthnHandle %d: %v", i, err)
		}
	}
	for i, h := range handles {
		if !bytes.Equal(h, handles[0]) || len(h) != 32 {
			t.Errorf("concurrent WebAuthnHandle %d = %x, want %x", i, h, handles[0])
		}
	}
}

func TestChallenges(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	exp := t0.Add(5 * time.Minute)

	for _, ch := range []store.Challenge{
		{IDHash: []byte("reg"), UserID: u.ID, Purpose: "register", Data: `{"c":1}`, ExpiresAt: exp},
		{IDHash: []byte("login"), UserID: 0, Purpose: "login", Data: `{"c":2}`, ExpiresAt: exp},
		{IDHash: []byte("old"), UserID: u.ID, Purpose: "login", Data: `{"c":3}`, ExpiresAt: t0},
	} {
		if err := s.CreateChallenge(ctx, ch); err != nil {
			t.Fatalf("CreateChallenge(%s): %v", ch.IDHash, err)
		}
	}
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("bad"), Purpose: "login", Data: `nope`, ExpiresAt: exp}); err == nil {
		t.Error("CreateChallenge with data that is not JSON: no error")
	}
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("reg"), Purpose: "login", Data: `{}`, ExpiresAt: exp}); err == nil {
		t.Error("CreateChallenge with an id in use: no error")
	}

	// Wrong purpose: not found, and the challenge is still there for its own purpose.
	if _, err := s.ConsumeChallenge(ctx, []byte("reg"), "login", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeChallenge(wrong purpose): %v, want ErrNotFound", err)
	}
	ch, err := s.ConsumeChallenge(ctx, []byte("reg"), "register", t0)
	if err != nil || ch.UserID != u.ID || ch.Data != `{"c":1}` || ch.Purpose != "register" || !ch.ExpiresAt.Equal(exp) || string(ch.IDHash) != "reg" {
		t.Errorf("ConsumeChallenge = %+v, %v", ch, err)
	}
	if _, err := s.ConsumeChallenge(ctx, []byte("reg"), "register", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeChallenge twice: %v, want ErrNotFound", err)
	}

	// A sign-in challenge with no user yet.
	if ch, err := s.ConsumeChallenge(ctx, []byte("login"), "login", exp.Add(-time.Second)); err != nil || ch.UserID != 0 || ch.Data != `{"c":2}` {
		t.Errorf("ConsumeChallenge(login, last second) = %+v, %v", ch, err)
	}

	// Expired: at its expiry instant it is gone.
	if _, err := s.ConsumeChallenge(ctx, []byte("old"), "login", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeChallenge(expired at now): %v, want ErrNotFound", err)
	}
	if _, err := s.ConsumeChallenge(ctx, []byte("unknown"), "login", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeChallenge(unknown): %v, want ErrNotFound", err)
	}

	// DeleteExpired clears expired challenges and keeps live ones.
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("live"), Purpose: "login", Data: `{}`, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpired(ctx, t0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM webauthn_challenges`); n != 1 {
		t.Errorf("%d challenges after DeleteExpired, want 1 (the live one)", n)
	}

	// Concurrent answers to one challenge: one wins.
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("race"), Purpose: "login", Data: `{}`, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	exactlyOneWins(t, "ConsumeChallenge", race(10, func(int) error {
		_, err := s.ConsumeChallenge(ctx, []byte("race"), "login", t0)
		return err
	}))
}

// TestDeleteUserRemovesSecondFactors: a deleted user's authenticator, codes, passkeys and
// ceremonies go with them.
func TestDeleteUserRemovesSecondFactors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	gone := createUser(t, s, "gone@example.com", "Gone", store.RoleUser)
	stays := createUser(t, s, "stays@example.com", "Stays", store.RoleUser)
	for i, u := range []store.User{gone, stays} {
		if err := s.PutPendingTOTP(ctx, u.ID, []byte("s"), t0); err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceBackupCodes(ctx, u.ID, hashes(fmt.Sprint(i), 3), t0); err != nil {
			t.Fatal(err)
		}
		newPasskey(t, s, u.ID, fmt.Sprint("cred-", i), "k")
		if _, err := s.WebAuthnHandle(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte(fmt.Sprint("ch-", i)), UserID: u.ID, Purpose: "register", Data: `{}`, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	db := store.RawDB(s)
	if _, err := db.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, gone.ID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	for table, want := range map[string]int{"totp": 1, "backup_codes": 3, "passkeys": 1, "webauthn_challenges": 1} {
		if got := count(t, db, `SELECT count(*) FROM `+table); got != want {
			t.Errorf("%s: %d rows after deleting a user, want %d (the other user's)", table, got, want)
		}
	}
}

// TestMigrateDownWithSecondFactors: the second-factor migration rolls back with data in its
// tables and comes back up working (TestMigrateUpDownUp covers the empty schema).
func TestMigrateDownWithSecondFactors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("s"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceBackupCodes(ctx, u.ID, hashes("b", 10), t0); err != nil {
		t.Fatal(err)
	}
	newPasskey(t, s, u.ID, "cred", "k")
	if _, err := s.WebAuthnHandle(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("c"), Purpose: "login", Data: `{}`, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	if err := s.MigrateDownAll(ctx); err != nil {
		t.Fatalf("MigrateDownAll with second-factor data: %v", err)
	}
	if err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	u2 := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	if _, err := s.TOTPByUser(ctx, u2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTP after down/up: %v, want ErrNotFound (fresh tables)", err)
	}
	if err := s.PutPendingTOTP(ctx, u2.ID, []byte("s"), t0); err != nil {
		t.Errorf("PutPendingTOTP after down/up: %v", err)
	}
	if err := s.ReplaceBackupCodes(ctx, u2.ID, hashes("b", 10), t0); err != nil {
		t.Errorf("ReplaceBackupCodes after down/up: %v", err)
	}
	newPasskey(t, s, u2.ID, "cred", "k")
	if h, err := s.WebAuthnHandle(ctx, u2.ID); err != nil || len(h) != 32 {
		t.Errorf("WebAuthnHandle after down/up = %x, %v", h, err)
	}
	if err := s.CreateChallenge(ctx, store.Challenge{IDHash: []byte("c"), Purpose: "login", Data: `{}`, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Errorf("CreateChallenge after down/up: %v", err)
	}
}
