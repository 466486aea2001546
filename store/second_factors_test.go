package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// race runs fn n times at once and returns each call's error.
func race(n int, fn func(i int) error) []error {
	start := make(chan struct{})
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// exactlyOneWins checks that one call succeeded and every other one said ErrNotFound.
func exactlyOneWins(t *testing.T, what string, errs []error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s, call %d: %v, want nil or ErrNotFound", what, i, err)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d concurrent calls succeeded, want exactly 1", what, wins, len(errs))
	}
}

func TestTOTPLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	other := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)

	if _, err := s.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTPByUser before setup: %v, want ErrNotFound", err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 5, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfirmTOTP with no setup: %v, want ErrNotFound", err)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep with no setup: %v, want ErrNotFound", err)
	}

	// Pending: stored, not confirmed, and not usable for sign-in.
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed-1"), t0); err != nil {
		t.Fatalf("PutPendingTOTP: %v", err)
	}
	got, err := s.TOTPByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Confirmed() || !got.ConfirmedAt.IsZero() || got.LastStep != 0 || !bytes.Equal(got.SecretEnc, []byte("sealed-1")) ||
		!got.CreatedAt.Equal(t0) || got.UserID != u.ID {
		t.Errorf("pending TOTP = %+v", got)
	}
	if err := s.UseTOTPStep(ctx, u.ID, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep on a pending setup: %v, want ErrNotFound", err)
	}

	// A second setup before confirming replaces the pending secret.
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed-2"), t0.Add(time.Minute)); err != nil {
		t.Fatalf("PutPendingTOTP again while pending: %v", err)
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); !bytes.Equal(got.SecretEnc, []byte("sealed-2")) || !got.CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("pending setup not replaced: %+v", got)
	}

	// Confirm: the confirming code's step is the last used.
	if err := s.ConfirmTOTP(ctx, u.ID, 100, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	got, _ = s.TOTPByUser(ctx, u.ID)
	if !got.Confirmed() || !got.ConfirmedAt.Equal(t0.Add(2*time.Minute)) || got.LastStep != 100 {
		t.Errorf("confirmed TOTP = %+v, want confirmed at t0+2m with last step 100", got)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 200, t0.Add(3*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConfirmTOTP twice: %v, want ErrNotFound", err)
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); got.LastStep != 100 || !got.ConfirmedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("a second ConfirmTOTP changed the row: %+v", got)
	}

	// A confirmed authenticator cannot be replaced by a new setup.
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed-3"), t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutPendingTOTP while confirmed: %v, want ErrConflict", err)
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); !bytes.Equal(got.SecretEnc, []byte("sealed-2")) || !got.Confirmed() {
		t.Errorf("refused PutPendingTOTP changed the row: %+v", got)
	}

	// Steps: only newer ones.
	for _, tt := range []struct {
		step int64
		ok   bool
	}{{100, false}, {99, false}, {0, false}, {101, true}, {101, false}, {103, true}, {102, false}, {104, true}} {
		err := s.UseTOTPStep(ctx, u.ID, tt.step)
		if tt.ok && err != nil {
			t.Errorf("UseTOTPStep(%d): %v, want nil", tt.step, err)
		}
		if !tt.ok && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UseTOTPStep(%d): %v, want ErrNotFound", tt.step, err)
		}
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); got.LastStep != 104 {
		t.Errorf("last step %d, want 104", got.LastStep)
	}
	// Another user's steps are their own.
	if err := s.UseTOTPStep(ctx, other.ID, 500); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UseTOTPStep for a user without TOTP: %v, want ErrNotFound", err)
	}

	// Delete removes the authenticator and the backup codes, and says it was confirmed.
	if err := s.ReplaceBackupCodes(ctx, u.ID, [][]byte{[]byte("h1"), []byte("h2")}, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceBackupCodes(ctx, other.ID, [][]byte{[]byte("o1")}, t0); err != nil {
		t.Fatal(err)
	}
	wasOn, err := s.DeleteTOTP(ctx, u.ID)
	if err != nil || !wasOn {
		t.Errorf("DeleteTOTP = %v, %v; want true, nil", wasOn, err)
	}
	if _, err := s.TOTPByUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTPByUser after delete: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 0 {
		t.Errorf("%d backup codes left after DeleteTOTP, want 0", n)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, []byte("h1")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("backup code after DeleteTOTP: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountBackupCodes(ctx, other.ID); n != 1 {
		t.Errorf("DeleteTOTP of one user left the other %d backup codes, want 1", n)
	}
	// Deleting again (nothing there) is not an error and says there was nothing on.
	if wasOn, err := s.DeleteTOTP(ctx, u.ID); err != nil || wasOn {
		t.Errorf("DeleteTOTP with nothing there = %v, %v; want false, nil", wasOn, err)
	}
	// Deleting a pending setup says it was not on.
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed-4"), t0); err != nil {
		t.Fatalf("PutPendingTOTP after delete: %v", err)
	}
	if wasOn, err := s.DeleteTOTP(ctx, u.ID); err != nil || wasOn {
		t.Errorf("DeleteTOTP of a pending setup = %v, %v; want false, nil", wasOn, err)
	}
	// And a fresh setup can be confirmed again from step 0.
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed-5"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 7, t0); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TOTPByUser(ctx, u.ID); got.LastStep != 7 {
		t.Errorf("re-enabled TOTP last step %d, want 7", got.LastStep)
	}
}

func TestTOTPForUnknownUser(t *testing.T) {
	s, _ := newStore(t)
	if err := s.PutPendingTOTP(context.Background(), 999, []byte("x"), t0); err == nil {
		t.Error("PutPendingTOTP for a user that does not exist: no error (foreign key)")
	}
}

func TestUseTOTPStepConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	if err := s.PutPendingTOTP(ctx, u.ID, []byte("sealed"), t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ConfirmTOTP(ctx, u.ID, 10, t0); err != nil {
		t.Fatal(err)
	}
	// Many requests with the same code (step 11): one sign-in, the rest refused.
	exactlyOneWins(t, "UseTOTPStep(11)", race(12, func(int) error { return s.UseTOTPStep(ctx, u.ID, 11) }))
	// The same inside transactions, as the handler does it.
	exactlyOneWins(t, "UseTOTPStep(12) in InTx", race(12, func(int) error {
		return s.InTx(ctx, func(tx *store.Tx) error { return tx.UseTOTPStep(ctx, u.ID, 12) })
	}))
	if got, _ := s.TOTPByUser(ctx, u.ID); got.LastStep != 12 {
		t.Errorf("last step %d, want 12", got.LastStep)
	}
}

// TestTOTPSecretSealedAtRest stores a secret the way the server does and checks the row.
func TestTOTPSecretSealedAtRest(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	keys := auth.NewKeys([]byte("master secret one, 32 bytes long"))
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	aad := fmt.Sprintf("totp:user:%d", u.ID)
	sealed, err := keys.Seal([]byte(secret), aad)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutPendingTOTP(ctx, u.ID, sealed, t0); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := store.RawDB(s).QueryRow(`SELECT secret_enc FROM totp WHERE user_id = ?`, u.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(secret)) || bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(secret[:10]))) {
		t.Error("secret_enc holds the secret in clear")
	}
	got, _ := s.TOTPByUser(ctx, u.ID)
	opened, err := keys.Open(got.SecretEnc, aad)
	if err != nil || string(opened) != secret {
		t.Errorf("Open(stored secret) = %q, %v; want the secret", opened, err)
	}
}

func hashes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

func TestBackupCodes(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	other := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)

	if n, err := s.CountBackupCodes(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("CountBackupCodes with none = %d, %v", n, err)
	}
	first := hashes("first", 10)
	if err := s.ReplaceBackupCodes(ctx, u.ID, first, t0); err != nil {
		t.Fatalf("ReplaceBackupCodes: %v", err)
	}
	if err := s.ReplaceBackupCodes(ctx, other.ID, hashes("other", 10), t0); err != nil {
		t.Fatalf("ReplaceBackupCodes(other): %v", err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 10 {
		t.Errorf("CountBackupCodes = %d, want 10", n)
	}

	// Each code works once, and only for its user.
	if err := s.ConsumeBackupCode(ctx, other.ID, first[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another user's code: %v, want ErrNotFound", err)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, first[0]); err != nil {
		t.Errorf("ConsumeBackupCode: %v", err)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, first[0]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeBackupCode twice: %v, want ErrNotFound", err)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, []byte("never issued")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 9 {
		t.Errorf("CountBackupCodes after one use = %d, want 9", n)
	}
	if n, _ := s.CountBackupCodes(ctx, other.ID); n != 10 {
		t.Errorf("other user's count = %d, want 10", n)
	}

	// A new set replaces the old one entirely, used or not.
	second := hashes("second", 10)
	if err := s.ReplaceBackupCodes(ctx, u.ID, second, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 10 {
		t.Errorf("count after regenerating = %d, want 10", n)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, first[5]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unused code of the old set after regenerating: %v, want ErrNotFound", err)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, second[5]); err != nil {
		t.Errorf("code of the new set: %v", err)
	}
	if n, _ := s.CountBackupCodes(ctx, other.ID); n != 10 {
		t.Errorf("regenerating one user's codes changed the other's: %d, want 10", n)
	}

	// Replacing inside a failed transaction keeps the old set.
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReplaceBackupCodes(ctx, u.ID, hashes("third", 10), t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v", err)
	}
	if err := s.ConsumeBackupCode(ctx, u.ID, second[6]); err != nil {
		t.Errorf("rolled-back regeneration lost the current set: %v", err)
	}

	// An empty set clears them.
	if err := s.ReplaceBackupCodes(ctx, u.ID, nil, t0); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 0 {
		t.Errorf("count after an empty set = %d, want 0", n)
	}
}

func TestConsumeBackupCodeConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	if err := s.ReplaceBackupCodes(ctx, u.ID, hashes("c", 10), t0); err != nil {
		t.Fatal(err)
	}
	code := []byte("c-03")
	exactlyOneWins(t, "ConsumeBackupCode", race(12, func(int) error { return s.ConsumeBackupCode(ctx, u.ID, code) }))
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 9 {
		t.Errorf("count = %d, want 9", n)
	}
}

// TestBackupCodesSameCodeTwoUsers: two users may draw the same code (31^8 values, so across many
// users and regenerations it happens). Each user's set is their own; one user's codes must never
// stop another user from getting theirs.
func TestBackupCodesSameCodeTwoUsers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	a := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	b := createUser(t, s, "bob@example.com", "Bob", store.RoleUser)
	keys := auth.NewKeys([]byte("master secret one, 32 bytes long"))
	// The handler stores keyed hashes of the normalized code: the same code gives the same hash.
	same := keys.HashToken("backup_code", "ABCDEFGH")
	if err := s.ReplaceBackupCodes(ctx, a.ID, [][]byte{same, []byte("a2")}, t0); err != nil {
		t.Fatalf("ReplaceBackupCodes(a): %v", err)
	}
	if err := s.ReplaceBackupCodes(ctx, b.ID, [][]byte{same, []byte("b2")}, t0); err != nil {
		t.Fatalf("ReplaceBackupCodes(b) with a code that user a also holds: %v (one user's codes block another's)", err)
	}
	if err := s.ConsumeBackupCode(ctx, b.ID, same); err != nil {
		t.Errorf("b's code: %v", err)
	}
	if err := s.ConsumeBackupCode(ctx, a.ID, same); err != nil {
		t.Errorf("a's code after b used the same one: %v", err)
	}
}

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
