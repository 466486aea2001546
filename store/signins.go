package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SignIn is a sign-in in progress: the pre-auth session. Progress is what it has done.
type SignIn struct {
	IDHash    []byte
	UserID    int64
	Progress  Progress
	ReturnTo  string
	CreatedAt time.Time
	ExpiresAt time.Time
	// TOTPPending is the sealed TOTP secret this sign-in is enrolling, if any.
	TOTPPending []byte
	// PendingPassword is the sealed new password of a forced reset, chosen at that step and
	// stored only when the sign-in finishes.
	PendingPassword []byte
}

// Progress is what a sign-in has done: its steps, and the markers kept beside them (how its
// second factor was passed, whether it enrolled a factor itself). Each is a column of signins.
type Progress struct {
	Password      bool // the password, or a passkey that stood for it
	SecondFactor  bool
	ResetPassword bool // a forced reset's new password is chosen (and kept on the sign-in)
	EmailCode     bool // the second factor was an e-mail code
	StrongFactor  bool // the second factor was TOTP, a backup code or a passkey
	Enrolled      bool // the sign-in enrolled TOTP or a passkey itself
	// Factors are the factors the sign-in used (an auth.Factors bit set), added to as each step
	// passes and copied to its session.
	Factors int64
	// StepUp: the sign-in steps up an existing session for an application that requires more.
	StepUp bool
}

// With is p with the steps done in more added.
func (p Progress) With(more Progress) Progress {
	return Progress{
		Password:      p.Password || more.Password,
		SecondFactor:  p.SecondFactor || more.SecondFactor,
		ResetPassword: p.ResetPassword || more.ResetPassword,
		EmailCode:     p.EmailCode || more.EmailCode,
		StrongFactor:  p.StrongFactor || more.StrongFactor,
		Enrolled:      p.Enrolled || more.Enrolled,
		Factors:       p.Factors | more.Factors,
		StepUp:        p.StepUp || more.StepUp,
	}
}

// progressColumns are the columns of Progress, in its field order.
const progressColumns = `progress_password, progress_second_factor, progress_reset_password,
	progress_email_code, progress_strong_factor, progress_enrolled, factors, step_up`

// fields are the destinations of progressColumns.
func (p *Progress) fields() []any {
	return []any{&p.Password, &p.SecondFactor, &p.ResetPassword, &p.EmailCode, &p.StrongFactor, &p.Enrolled, &p.Factors, &p.StepUp}
}

// CreateSignIn stores a new sign-in with the progress it starts with.
func (q q) CreateSignIn(ctx context.Context, s SignIn) error {
	p := s.Progress
	_, err := q.db.ExecContext(ctx, `
		INSERT INTO signins (id_hash, user_id, return_to, created_at, expires_at, `+progressColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.UserID, s.ReturnTo, unix(s.CreatedAt), unix(s.ExpiresAt),
		p.Password, p.SecondFactor, p.ResetPassword, p.EmailCode, p.StrongFactor, p.Enrolled, p.Factors, p.StepUp)
	if err != nil {
		return fmt.Errorf("store: create sign-in: %w", err)
	}
	return nil
}

// SignInByHash returns the unexpired sign-in with that hash, or ErrNotFound.
func (q q) SignInByHash(ctx context.Context, idHash []byte, now time.Time) (SignIn, error) {
	var s SignIn
	var created, expires int64
	dest := append([]any{&s.UserID, &s.ReturnTo, &created, &expires, &s.TOTPPending, &s.PendingPassword}, s.Progress.fields()...)
	err := q.db.QueryRowContext(ctx, `
		SELECT user_id, return_to, created_at, expires_at, totp_pending, pending_password, `+progressColumns+`
		FROM signins WHERE id_hash = ? AND expires_at > ?`,
		idHash, unix(now)).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return SignIn{}, ErrNotFound
	}
	if err != nil {
		return SignIn{}, fmt.Errorf("store: sign-in: %w", err)
	}
	s.IDHash = idHash
	s.CreatedAt, s.ExpiresAt = fromUnix(created), fromUnix(expires)
	return s, nil
}

// AdvanceSignIn records the steps of done as finished (those finished before stay so) and
// returns the sign-in's progress as stored now, or ErrNotFound when the sign-in is gone.
func (q q) AdvanceSignIn(ctx context.Context, idHash []byte, done Progress) (Progress, error) {
	var p Progress
	err := q.db.QueryRowContext(ctx, `
		UPDATE signins SET
			progress_password = CASE WHEN ? = 1 THEN 1 ELSE progress_password END,
			progress_second_factor = CASE WHEN ? = 1 THEN 1 ELSE progress_second_factor END,
			progress_reset_password = CASE WHEN ? = 1 THEN 1 ELSE progress_reset_password END,
			progress_email_code = CASE WHEN ? = 1 THEN 1 ELSE progress_email_code END,
			progress_strong_factor = CASE WHEN ? = 1 THEN 1 ELSE progress_strong_factor END,
			progress_enrolled = CASE WHEN ? = 1 THEN 1 ELSE progress_enrolled END,
			factors = factors | ?,
			step_up = CASE WHEN ? = 1 THEN 1 ELSE step_up END
		WHERE id_hash = ? RETURNING `+progressColumns,
		done.Password, done.SecondFactor, done.ResetPassword, done.EmailCode, done.StrongFactor, done.Enrolled,
		done.Factors, done.StepUp, idHash).Scan(p.fields()...)
	if errors.Is(err, sql.ErrNoRows) {
		return Progress{}, ErrNotFound
	}
	if err != nil {
		return Progress{}, fmt.Errorf("store: advance sign-in: %w", err)
	}
	return p, nil
}

// SetSignInTOTP keeps the sealed TOTP secret a sign-in is enrolling.
func (q q) SetSignInTOTP(ctx context.Context, idHash, sealed []byte) error {
	res, err := q.db.ExecContext(ctx, `UPDATE signins SET totp_pending = ? WHERE id_hash = ?`, sealed, idHash)
	if err != nil {
		return fmt.Errorf("store: sign-in totp: %w", err)
	}
	return mustAffect(res)
}

// SetSignInPassword keeps the sealed new password of a forced reset on its sign-in.
func (q q) SetSignInPassword(ctx context.Context, idHash, sealed []byte) error {
	res, err := q.db.ExecContext(ctx, `UPDATE signins SET pending_password = ? WHERE id_hash = ?`, sealed, idHash)
	if err != nil {
		return fmt.Errorf("store: sign-in password: %w", err)
	}
	return mustAffect(res)
}

// DeleteSignIn removes a sign-in (and its codes). It reports ErrNotFound when it was already gone,
// so a sign-in can be finished only once.
func (q q) DeleteSignIn(ctx context.Context, idHash []byte) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM signins WHERE id_hash = ?`, idHash)
	if err != nil {
		return fmt.Errorf("store: delete sign-in: %w", err)
	}
	return mustAffect(res)
}

// DeleteUserSignIns ends every sign-in in progress of a user (their codes go with them).
func (q q) DeleteUserSignIns(ctx context.Context, userID int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM signins WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("store: delete user sign-ins: %w", err)
	}
	return nil
}

// SetSignInReturnTo changes where a sign-in in progress goes when it is done (an SSO request
// that arrived while it was under way).
func (q q) SetSignInReturnTo(ctx context.Context, idHash []byte, returnTo string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE signins SET return_to = ? WHERE id_hash = ?`, returnTo, idHash)
	if err != nil {
		return fmt.Errorf("store: sign-in return: %w", err)
	}
	return mustAffect(res)
}

// DeleteOtherSignIns ends every sign-in in progress of a user but one (keep).
func (q q) DeleteOtherSignIns(ctx context.Context, userID int64, keep []byte) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM signins WHERE user_id = ? AND id_hash <> ?`, userID, keep); err != nil {
		return fmt.Errorf("store: delete other sign-ins: %w", err)
	}
	return nil
}

// EmailCode is a one-time code mailed during a sign-in, stored as a keyed hash.
type EmailCode struct {
	ID         int64
	SignInHash []byte
	CodeHash   []byte
	Attempts   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// ReplaceEmailCode removes the sign-in's earlier codes and stores c as its only code.
func (q q) ReplaceEmailCode(ctx context.Context, c EmailCode) (EmailCode, error) {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM email_codes WHERE signin_hash = ?`, c.SignInHash); err != nil {
		return EmailCode{}, fmt.Errorf("store: replace email code: %w", err)
	}
	err := q.db.QueryRowContext(ctx, `
		INSERT INTO email_codes (signin_hash, code_hash, attempts, created_at, expires_at) VALUES (?, ?, 0, ?, ?) RETURNING id`,
		c.SignInHash, c.CodeHash, unix(c.CreatedAt), unix(c.ExpiresAt)).Scan(&c.ID)
	if err != nil {
		return EmailCode{}, fmt.Errorf("store: replace email code: %w", err)
	}
	return c, nil
}

// DeleteEmailCode removes one code (a send that failed leaves nothing behind).
func (q q) DeleteEmailCode(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM email_codes WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: delete email code: %w", err)
	}
	return nil
}

// EmailCodeForSignIn returns the sign-in's current code (expired or not), or ErrNotFound.
func (q q) EmailCodeForSignIn(ctx context.Context, signinHash []byte) (EmailCode, error) {
	c := EmailCode{SignInHash: signinHash}
	var created, expires int64
	err := q.db.QueryRowContext(ctx, `
		SELECT id, code_hash, attempts, created_at, expires_at FROM email_codes WHERE signin_hash = ? ORDER BY id DESC LIMIT 1`,
		signinHash).Scan(&c.ID, &c.CodeHash, &c.Attempts, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return EmailCode{}, ErrNotFound
	}
	if err != nil {
		return EmailCode{}, fmt.Errorf("store: email code: %w", err)
	}
	c.CreatedAt, c.ExpiresAt = fromUnix(created), fromUnix(expires)
	return c, nil
}

// CountEmailCodeTry adds one wrong guess to a code and returns the new count.
func (q q) CountEmailCodeTry(ctx context.Context, id int64) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `UPDATE email_codes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: count code try: %w", err)
	}
	return n, nil
}

// ConsumeEmailCode deletes the code if it is still the sign-in's, unexpired and under maxTries
// wrong guesses, and reports ErrNotFound otherwise, atomically: a code is good for one use only.
func (q q) ConsumeEmailCode(ctx context.Context, id int64, now time.Time, maxTries int) error {
	var got int64
	err := q.db.QueryRowContext(ctx, `
		DELETE FROM email_codes WHERE id = ? AND expires_at > ? AND attempts < ? RETURNING id`,
		id, unix(now), maxTries).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: consume email code: %w", err)
	}
	return nil
}
