package account

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// The errors of second factors.
var (
	// ErrTOTPOn: TOTP is on already (a setup cannot start), or was turned on meanwhile,
	// elsewhere (the setup being confirmed is void).
	ErrTOTPOn = errors.New("account: TOTP is on already")
	// ErrNoTOTP: backup codes come with TOTP, and there is no TOTP to remove.
	ErrNoTOTP = errors.New("account: TOTP is not on")
	// ErrWrongCode: the first code of a TOTP setup is not right.
	ErrWrongCode = errors.New("account: wrong code")
	// ErrNotProved: removing TOTP needs the password or a current code.
	ErrNotProved = errors.New("account: not proved")
	// ErrPasskeyExists: the passkey is registered already.
	ErrPasskeyExists = errors.New("account: passkey registered already")
	// ErrPasskeysOff: WebAuthn is not configured (the base URL names no domain).
	ErrPasskeysOff = errors.New("account: passkeys are unavailable")
	// ErrChallengeGone: no ceremony of this browser waits (none, expired, used, another user's).
	ErrChallengeGone = errors.New("account: the WebAuthn challenge expired")
	// ErrPasskeyRefused: the browser's answer to a registration challenge does not verify.
	ErrPasskeyRefused = errors.New("account: the passkey could not be registered")
)

// TOTPContext binds a sealed TOTP secret to its user, so it cannot be moved to another row.
func TOTPContext(userID int64) string { return "totp:" + throttle.UserKey(userID) }

// Factors are a user's second factors, as their pages show them.
type Factors struct {
	TOTPOn     bool
	BackupLeft int
	Passkeys   []store.Passkey
}

// Factors reads the second factors of a user.
func (s *Service) Factors(ctx context.Context, userID int64) (Factors, error) {
	var f Factors
	t, err := s.store.TOTPByUser(ctx, userID)
	switch {
	case err == nil:
		f.TOTPOn = t.Confirmed()
	case !errors.Is(err, store.ErrNotFound):
		return f, err
	}
	if f.BackupLeft, err = s.store.CountBackupCodes(ctx, userID); err != nil {
		return f, err
	}
	f.Passkeys, err = s.store.PasskeysByUser(ctx, userID)
	return f, err
}

// BeginTOTP makes a new secret for u, sealed, waiting for its first code (ErrTOTPOn when TOTP
// is on already).
func (s *Service) BeginTOTP(ctx context.Context, u store.User) error {
	secret, err := auth.NewTOTPSecret()
	if err != nil {
		return err
	}
	sealed, err := s.keys.Seal([]byte(secret), TOTPContext(u.ID))
	if err != nil {
		return err
	}
	err = s.store.PutPendingTOTP(ctx, u.ID, sealed, s.now())
	if errors.Is(err, store.ErrConflict) {
		return ErrTOTPOn
	}
	return err
}

// TOTPSetup is a TOTP secret waiting for its first code, as a setup page shows it: the secret to
// type, and its QR code (a data: URI of the otpauth:// URL naming the user).
type TOTPSetup struct {
	Secret string
	QR     string
}

// NewTOTPSetup is the setup of secret for u.
func NewTOTPSetup(u store.User, secret string) (TOTPSetup, error) {
	_, qr, err := auth.TOTPQRCode(auth.ProductName, u.Email, secret)
	return TOTPSetup{Secret: secret, QR: qr}, err
}

// PendingTOTP is u's setup waiting for its first code; ok is false when there is none.
func (s *Service) PendingTOTP(ctx context.Context, u store.User) (setup TOTPSetup, ok bool, err error) {
	t, err := s.store.TOTPByUser(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.Confirmed()) {
		return TOTPSetup{}, false, nil
	}
	if err != nil {
		return TOTPSetup{}, false, err
	}
	plain, err := s.keys.Open(t.SecretEnc, TOTPContext(u.ID))
	if err != nil {
		return TOTPSetup{}, false, err
	}
	setup, err = NewTOTPSetup(u, string(plain))
	return setup, err == nil, err
}

// EnableTOTP checks a first code for secret (throttled like every code: ErrThrottled; a wrong
// one is counted and logged: ErrWrongCode) and, when right, makes secret u's authenticator with
// a fresh set of backup codes, logging mfa_totp_enabled (and, when enrolling at sign-in,
// user_enhanced_auth_enrolled) in the same transaction. It returns the backup codes, to show
// once. ErrTOTPOn when TOTP was turned on meanwhile, elsewhere.
func (s *Service) EnableTOTP(ctx context.Context, u store.User, secret, code string, enrolling bool, origin store.Origin) ([]string, error) {
	perUser := throttle.CodePerUser.For(throttle.UserKey(u.ID))
	perIP := throttle.CodePerIP.For(throttle.IPKey(origin.IP))
	unlock, err := s.limiter.Lock(ctx, throttle.UserKey(u.ID))
	if err != nil {
		return nil, err
	}
	defer unlock()
	limited, err := s.limiter.Refuse(ctx, origin.Event(s.now(), store.EventMFATOTPSetupFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "throttled"}), perUser, perIP)
	if err != nil {
		return nil, err
	}
	if limited {
		return nil, ErrThrottled
	}
	now := s.now()
	step, ok := auth.CheckTOTP(secret, code, now, 0)
	if !ok {
		ev := origin.Event(now, store.EventMFATOTPSetupFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "wrong_code"})
		if err := s.limiter.FailedGuess(ctx, ev, perUser, perIP); err != nil {
			return nil, err
		}
		return nil, ErrWrongCode
	}
	sealed, err := s.keys.Seal([]byte(secret), TOTPContext(u.ID))
	if err != nil {
		return nil, err
	}
	codes := auth.NewBackupCodes()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		// The secret the code was checked against is the one that is turned on.
		if err := tx.PutPendingTOTP(ctx, u.ID, sealed, now); err != nil {
			return err
		}
		if err := tx.ConfirmTOTP(ctx, u.ID, step, now); err != nil {
			return err
		}
		if err := tx.ReplaceBackupCodes(ctx, u.ID, s.backupHashes(codes), now); err != nil {
			return err
		}
		// A right code proves the owner: the count of wrong codes restarts, as at sign-in.
		if err := s.limiter.Succeed(ctx, tx, perUser); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, origin.Event(now, store.EventMFATOTPEnabled, ptr(u.ID), ptr(u.ID), nil)); err != nil {
			return err
		}
		if enrolling {
			return tx.AddEvent(ctx, origin.Event(now, store.EventUserEnhancedAuthEnrolled, ptr(u.ID), ptr(u.ID), map[string]any{"method": "totp"}))
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, ErrTOTPOn
	}
	if err != nil {
		return nil, err
	}
	s.Notify(Notice{Kind: NoticeTOTPEnabled, User: u, At: now, Origin: origin})
	return codes, nil
}

func (s *Service) backupHashes(codes []string) [][]byte {
	hashes := make([][]byte, len(codes))
	for i, code := range codes {
		hashes[i] = s.keys.HashToken("backup_code", auth.NormalizeBackupCode(code))
	}
	return hashes
}

// confirmedTOTP is u's TOTP when it is on; ErrNoTOTP otherwise.
func (s *Service) confirmedTOTP(ctx context.Context, userID int64) (store.TOTP, error) {
	t, err := s.store.TOTPByUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.Confirmed()) {
		return t, ErrNoTOTP
	}
	return t, err
}

// RegenerateBackupCodes replaces u's backup codes (ErrNoTOTP: they come with TOTP), logs
// mfa_backup_codes_regenerated, and returns the new set, to show once.
func (s *Service) RegenerateBackupCodes(ctx context.Context, u store.User, origin store.Origin) ([]string, error) {
	if _, err := s.confirmedTOTP(ctx, u.ID); err != nil {
		return nil, err
	}
	codes := auth.NewBackupCodes()
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.ReplaceBackupCodes(ctx, u.ID, s.backupHashes(codes), now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventMFABackupCodesRegenerated, ptr(u.ID), ptr(u.ID), nil))
	})
	if err != nil {
		return nil, err
	}
	s.Notify(Notice{Kind: NoticeBackupCodesRenewed, User: u, At: now, Origin: origin})
	return codes, nil
}

// RemoveTOTP turns u's TOTP off (ErrNoTOTP when it is not on) after they prove themselves again
// with their password or a current code: each guess is throttled (ErrThrottled) and a wrong
// one counted and logged (ErrNotProved). Logs mfa_totp_removed.
func (s *Service) RemoveTOTP(ctx context.Context, u store.User, password, code string, origin store.Origin) error {
	t, err := s.confirmedTOTP(ctx, u.ID)
	if err != nil {
		return err
	}
	account := throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email))
	perIP := throttle.PasswordPerIP.For(throttle.IPKey(origin.IP))
	unlock, err := s.limiter.Lock(ctx, throttle.EmailKey(u.Email)) // check, verify and count each guess before the next
	if err != nil {
		return err
	}
	defer unlock()
	limited, err := s.limiter.Refuse(ctx, origin.Event(s.now(), store.EventMFATOTPRemoveFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "throttled"}), account, perIP)
	if err != nil {
		return err
	}
	if limited {
		return ErrThrottled
	}
	now := s.now()
	code = strings.TrimSpace(code)
	proved, step := false, int64(0)
	switch {
	case code != "":
		secret, err := s.keys.Open(t.SecretEnc, TOTPContext(u.ID))
		if err != nil {
			return err
		}
		step, proved = auth.CheckTOTP(string(secret), code, now, t.LastStep)
	case password != "" && len(password) <= maxPasswordInput:
		if proved, _, err = s.hasher.Verify(ctx, u.PasswordHash, password); err != nil {
			return err
		}
	}
	if !proved {
		ev := origin.Event(now, store.EventMFATOTPRemoveFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "not_proved"})
		if err := s.limiter.FailedGuess(ctx, ev, account, perIP); err != nil {
			return err
		}
		return ErrNotProved
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		if step != 0 {
			if err := tx.UseTOTPStep(ctx, u.ID, step); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteTOTP(ctx, u.ID); err != nil {
			return err
		}
		// Proved with the password or a code: the account's count of wrong guesses restarts.
		if err := s.limiter.Succeed(ctx, tx, account); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventMFATOTPRemoved, ptr(u.ID), ptr(u.ID), nil))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotProved // the code's step was used meanwhile
	}
	if err == nil {
		s.Notify(Notice{Kind: NoticeTOTPRemoved, User: u, At: now, Origin: origin})
	}
	return err
}

// PasskeyName cleans a name for a passkey: trimmed, at most 100 characters, never empty.
func PasskeyName(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey"
	}
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	return name
}

// AddPasskey stores a passkey that u's browser just registered (p: its credential id, the
// credential as stored, its sign count; the name is cleaned) and logs passkey_registered.
// ErrPasskeyExists when the credential is registered already.
func (s *Service) AddPasskey(ctx context.Context, u store.User, p store.Passkey, origin store.Origin) error {
	p.UserID, p.Name, p.CreatedAt = u.ID, PasskeyName(p.Name), s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		stored, err := tx.CreatePasskey(ctx, p)
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(p.CreatedAt, store.EventPasskeyRegistered, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": stored.ID, "name": p.Name}))
	})
	if errors.Is(err, store.ErrConflict) {
		return ErrPasskeyExists
	}
	if err == nil {
		s.Notify(Notice{Kind: NoticePasskeyAdded, User: u, At: p.CreatedAt, Origin: origin, Detail: p.Name})
	}
	return err
}

// RenamePasskey renames one of u's own passkeys (ErrNotFound when it is not theirs) and logs
// passkey_renamed.
func (s *Service) RenamePasskey(ctx context.Context, u store.User, id int64, name string, origin store.Origin) error {
	name = PasskeyName(name)
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RenamePasskey(ctx, u.ID, id, name); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(s.now(), store.EventPasskeyRenamed, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": id, "name": name}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// DeletePasskey deletes one of u's own passkeys (ErrNotFound when it is not theirs) and logs
// passkey_revoked.
func (s *Service) DeletePasskey(ctx context.Context, u store.User, id int64, origin store.Origin) error {
	var p store.Passkey
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.DeletePasskey(ctx, u.ID, id); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventPasskeyRevoked, ptr(u.ID), ptr(u.ID), map[string]any{"passkey_id": p.ID, "name": p.Name}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err == nil {
		s.Notify(Notice{Kind: NoticePasskeyRemoved, User: u, At: now, Origin: origin, Detail: p.Name})
	}
	return err
}
