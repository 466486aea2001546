package signin

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// mailTimeout bounds how long sending one code mail may take, retries included.
const mailTimeout = 45 * time.Second

// beginSecondFactor starts the second factor of r's sign-in after the password (or a forced
// reset's new password): users who sign in with e-mail codes are mailed one; users with TOTP
// are asked for a code from their app. A sign-in that needs no second factor goes on.
func (s *Service) beginSecondFactor(ctx context.Context, c Client, r Result) (Result, error) {
	started := r.Started
	next, err := s.advance(ctx, c, r.SignIn, r.User, "password", nil)
	next.Started = started
	if err != nil || next.Next != auth.StepSecondFactor || !next.State.Allows(auth.MethodEmail) {
		return next, err
	}
	next.Mail, err = s.sendCode(ctx, c.Origin, next.SignIn, next.User, false)
	return next, err
}

// errCodeMailsLimited and errSendFailed are the MailStatus of sendCode as errors.
var (
	errCodeMailsLimited = errors.New("too many code mails")
	errSendFailed       = errors.New("could not send the code")
)

// sendCode mails a fresh code and only then stores its hash (replacing the sign-in's earlier
// code) with the email_code_sent event, so a failed send leaves nothing behind. Every code mail
// counts against throttle.CodeMails, whether it starts a sign-in or is resent, so neither
// signing in again nor resending can flood an inbox.
func (s *Service) sendCode(ctx context.Context, o store.Origin, si store.SignIn, u store.User, resend bool) (MailStatus, error) {
	err := s.mailCode(ctx, o, si, u, resend)
	switch {
	case errors.Is(err, errCodeMailsLimited):
		return MailLimited, nil
	case errors.Is(err, errSendFailed):
		return MailFailed, nil
	case err != nil:
		return MailNone, err
	}
	return MailSent, nil
}

func (s *Service) mailCode(ctx context.Context, o store.Origin, si store.SignIn, u store.User, resend bool) error {
	mails := throttle.CodeMails.For(throttle.UserKey(u.ID))
	limited, err := s.limiter.Limited(ctx, mails)
	if err != nil {
		return err
	}
	if limited {
		return errCodeMailsLimited
	}
	code := auth.NewCode()
	mctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	if err := s.mailer.Send(mctx, mail.LoginCode(u.Email, u.Name, code, auth.EmailCodeTTL)); err != nil {
		s.log.Warn("sign-in code not sent", "user_id", u.ID, "err", err)
		return fmt.Errorf("%w: %w", errSendFailed, err)
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ReplaceEmailCode(ctx, store.EmailCode{
			SignInHash: si.IDHash,
			CodeHash:   s.keys.HashToken("email_code", code),
			CreatedAt:  now,
			ExpiresAt:  now.Add(auth.EmailCodeTTL),
		}); err != nil {
			return err
		}
		if err := s.limiter.Succeed(ctx, tx, mails); err != nil {
			return err
		}
		return tx.AddEvent(ctx, o.Event(now, store.EventEmailCodeSent, nil, &u.ID, map[string]any{"resend": resend}))
	})
}

// ResendCode mails the sign-in of c a new code: at most 3 times in 5 minutes
// (throttle.CodeMails). Result.Mail says how it went; MailNone when this sign-in does not use
// e-mail codes. Errors: ErrNoSignIn, ErrNotAtStep.
func (s *Service) ResendCode(ctx context.Context, c Client) (Result, error) {
	r, err := s.at(ctx, c, auth.StepSecondFactor)
	if err != nil || !r.State.Allows(auth.MethodEmail) {
		return r, err
	}
	r.Mail, err = s.sendCode(ctx, c.Origin, r.SignIn, r.User, true)
	return r, err
}

// errConsumed says a right code was used up by another request first.
var errConsumed = errors.New("code consumed meanwhile")

// VerifyCode checks a second-factor code of the sign-in of c: throttle first, then the code for
// method ("" picks the user's: TOTP, or else an e-mail code), which must be one this sign-in
// allows. A right code is used up, the step recorded and the sign-in taken on (finished when
// nothing is left) in one transaction, so it works once. Errors: ErrNoSignIn, ErrNotAtStep,
// ErrThrottled, ErrWrongCode, ErrWrongOTP, ErrTooManyTries.
func (s *Service) VerifyCode(ctx context.Context, c Client, method auth.Method, code string) (_ Result, err error) {
	defer func() { s.count(string(method), err) }() // the method chosen below, once the sign-in is found
	r, err := s.at(ctx, c, auth.StepSecondFactor)
	if err != nil {
		return r, err
	}
	u := r.User
	unlock, err := s.limiter.Lock(ctx, throttle.UserKey(u.ID)) // check, verify and count each guess before the next
	if err != nil {
		return r, err
	}
	defer unlock()
	if method == "" {
		method = auth.MethodEmail
		if r.State.HasTOTP {
			method = auth.MethodTOTP
		}
	}
	userKey, err := s.codeKey(ctx, c, u) // its device's key when this browser is one of u's
	if err != nil {
		return r, err
	}
	perUser, perIP := throttle.CodePerUser.For(userKey), throttle.CodePerIP.For(throttle.IPKey(c.IP))
	limited, err := s.limiter.Refuse(ctx, s.failed(c.Origin, u.ID, map[string]any{"step": stepName(method), "reason": "throttled"}), perUser, perIP)
	if err != nil {
		return r, err
	}
	if limited {
		return r, ErrThrottled
	}

	// fail records the wrong guess against the user and the IP (and, for an e-mail code, the code).
	fail := func(reason string, codeID int64) (Result, error) {
		wrong := ErrWrongCode
		if r.State.HasTOTP {
			wrong = ErrWrongOTP
		}
		err := s.store.InTx(ctx, func(tx *store.Tx) error {
			if codeID != 0 {
				n, err := tx.CountEmailCodeTry(ctx, codeID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if n >= auth.EmailCodeMaxTries {
					wrong = ErrTooManyTries
				}
			}
			if err := s.limiter.Fail(ctx, tx, perUser, perIP); err != nil {
				return err
			}
			return tx.AddEvent(ctx, s.failed(c.Origin, u.ID, map[string]any{"step": stepName(method), "reason": reason}))
		})
		if err != nil {
			return r, err
		}
		return r, wrong
	}
	// pass marks the second factor done, with use, which consumes the code, and takes the
	// sign-in on. When use finds nothing to consume (ErrNotFound), the attempt fails with notFound.
	pass := func(use func(tx *store.Tx) error, details, notFound string) (Result, error) {
		factor := auth.FactorOTP // TOTP, or a backup code made with it
		if method == auth.MethodEmail {
			factor = auth.FactorEmailCode
		}
		done := store.Progress{SecondFactor: true, StrongFactor: method != auth.MethodEmail, EmailCode: method == auth.MethodEmail, Factors: int64(factor)}
		next, err := s.advance(ctx, c, r.SignIn, u, details, func(tx *store.Tx) (store.SignIn, error) {
			if err := use(tx); errors.Is(err, store.ErrNotFound) {
				return r.SignIn, errConsumed
			} else if err != nil {
				return r.SignIn, err
			}
			if err := s.limiter.Succeed(ctx, tx, perUser); err != nil {
				return r.SignIn, err
			}
			return progress(ctx, tx, r.SignIn, done)
		})
		if errors.Is(err, errConsumed) {
			return fail(notFound, 0)
		}
		return next, err
	}

	if method == auth.MethodPasskey || !r.State.Allows(method) {
		return fail("method_not_allowed", 0)
	}
	now := s.now()
	switch method {
	case auth.MethodTOTP:
		t, err := s.store.TOTPByUser(ctx, u.ID)
		if err != nil {
			return r, err
		}
		secret, err := s.keys.Open(t.SecretEnc, TOTPContext(u.ID))
		if err != nil {
			return r, err
		}
		step, ok := auth.CheckTOTP(string(secret), code, now, t.LastStep)
		if !ok {
			return fail("wrong_code", 0)
		}
		return pass(func(tx *store.Tx) error { return tx.UseTOTPStep(ctx, u.ID, step) }, "password+totp", "reused") // another request used it first

	case auth.MethodBackup:
		code := auth.NormalizeBackupCode(code)
		if !auth.LooksLikeBackupCode(code) {
			return fail("wrong_code", 0)
		}
		hash := s.keys.HashToken("backup_code", code)
		return pass(func(tx *store.Tx) error { return tx.ConsumeBackupCode(ctx, u.ID, hash) }, "password+backup_code", "wrong_code") // never issued, replaced or used: the store cannot tell
	}

	code = auth.NormalizeCode(code)
	ec, err := s.store.EmailCodeForSignIn(ctx, r.SignIn.IDHash)
	if errors.Is(err, store.ErrNotFound) {
		return fail("no_code", 0)
	}
	if err != nil {
		return r, err
	}
	switch {
	case ec.Attempts >= auth.EmailCodeMaxTries:
		return fail("too_many_tries", ec.ID)
	case !now.Before(ec.ExpiresAt):
		return fail("expired", 0)
	case len(code) != 6 || !hmac.Equal(s.keys.HashToken("email_code", code), ec.CodeHash):
		return fail("wrong_code", ec.ID)
	}
	return pass(func(tx *store.Tx) error { return tx.ConsumeEmailCode(ctx, ec.ID, now, auth.EmailCodeMaxTries) }, "password+email_code", "reused")
}

// stepName names a second-factor method in login_failed events.
func stepName(m auth.Method) string {
	switch m {
	case auth.MethodEmail:
		return "email_code"
	case auth.MethodBackup:
		return "backup_code"
	case auth.MethodTOTP, auth.MethodPasskey:
		return string(m)
	}
	return "unknown" // a client's made-up method is not written into the log
}
