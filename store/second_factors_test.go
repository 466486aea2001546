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
