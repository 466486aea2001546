package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// genericFailure is the one message for every failed password step: it never says whether the
// address exists, the password was wrong, or the account is inactive.
const genericFailure = "Incorrect email or password, or the account cannot sign in."

// throttledMessage answers a throttled guess. Limits are counted per address whether or not it
// has an account, so this says nothing about which addresses exist.
const throttledMessage = "Too many attempts. Wait a few minutes and try again."

// failedGuess counts a wrong guess against each check and logs its event, in one transaction:
// every guess is throttled and every attempt recorded.
func (h *Handler) failedGuess(c *fiber.Ctx, ev store.Event, checks ...throttle.Check) error {
	ctx := c.UserContext()
	return h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := h.limiter.Fail(ctx, tx, checks...); err != nil {
			return err
		}
		return tx.AddEvent(ctx, ev)
	})
}

// signInState is what auth.NextStep reads: the steps the stored sign-in has done and the
// second factors its user has.
func (h *Handler) signInState(ctx context.Context, si store.SignIn, u store.User) (auth.SignInState, error) {
	st := auth.SignInState{
		PasswordDone:     si.Done(string(auth.StepPassword)),
		SecondFactorDone: si.Done(string(auth.StepSecondFactor)),
		// Flagged, and this sign-in has not chosen the new password yet (it is stored when the
		// sign-in finishes, after the second factor).
		ResetRequired: u.PasswordResetRequired && !si.Done(string(auth.StepResetPassword)),
	}
	t, err := h.store.TOTPByUser(ctx, u.ID)
	switch {
	case err == nil:
		st.HasTOTP = t.Confirmed()
	case !errors.Is(err, store.ErrNotFound):
		return st, err
	}
	n, err := h.store.CountPasskeys(ctx, u.ID)
	if err != nil {
		return st, err
	}
	st.HasPasskey = n > 0
	// The policy is read at every step of a sign-in, so a change applies to every sign-in not
	// yet finished; sessions that exist are never touched.
	settings, err := h.store.Settings(ctx)
	if err != nil {
		return st, err
	}
	st.Enhanced = settings.RequiredAuthStrength == "enhanced"
	st.OnlyEmailCode = si.Done(stepEmailCode) && !si.Done(stepStrongFactor) && !si.Done(stepEnrolled)
	return st, nil
}

// Markers a sign-in keeps beside its steps: how its second factor was passed, and whether it
// enrolled a factor itself.
const (
	stepEmailCode    = "email_code"
	stepStrongFactor = "strong_factor"
	stepEnrolled     = "enrolled"
)

// currentSignIn finds the sign-in in progress for this browser and its user, or ErrNotFound
// (no cookie, expired, or the user can no longer sign in).
func (h *Handler) currentSignIn(c *fiber.Ctx) (store.SignIn, store.User, error) {
	token := c.Cookies(h.cookieName(signinCookie))
	if token == "" {
		return store.SignIn{}, store.User{}, store.ErrNotFound
	}
	si, err := h.store.SignInByHash(c.UserContext(), h.keys.HashToken("signin", token), h.now())
	if err != nil {
		return store.SignIn{}, store.User{}, err
	}
	u, err := h.store.UserByID(c.UserContext(), si.UserID)
	if err != nil {
		return store.SignIn{}, store.User{}, err
	}
	if !u.Active() {
		return store.SignIn{}, store.User{}, store.ErrNotFound
	}
	return si, u, nil
}

// pendingEnrollment reports whether this browser has a sign-in waiting at the enrollment step:
// until it enrolls, every page sends it back there.
func (h *Handler) pendingEnrollment(c *fiber.Ctx) bool { return h.pendingStep(c) == "/login/enroll" }

// pendingStep is where a browser whose sign-in waits at a step it cannot leave goes back to:
// Enhanced enrollment, or the new password of a forced reset ("" when there is none). Every page
// that needs a session sends it there, and so does /login ("Cancel and sign out" ends it).
func (h *Handler) pendingStep(c *fiber.Ctx) string {
	si, u, err := h.currentSignIn(c)
	if err != nil {
		return ""
	}
	st, err := h.signInState(c.UserContext(), si, u)
	if err != nil {
		return ""
	}
	switch auth.NextStep(st) {
	case auth.StepEnroll:
		return "/login/enroll"
	case auth.StepResetPassword:
		return "/login/reset-password"
	}
	return ""
}

// signInExpired sends a browser without a live sign-in back to the start.
func signInExpired(c *fiber.Ctx) error { return redirect(c, "/login?notice=expired") }

// startSignIn records a sign-in with the steps already done (the password, or with a passkey
// the password and the second factor) and sets its cookie.
func (h *Handler) startSignIn(c *fiber.Ctx, u store.User, returnTo string, done ...auth.Step) (store.SignIn, error) {
	if returnTo == "" {
		returnTo = h.pendingReturnTo(c) // an SSO request sent this browser to sign in
	}
	token := auth.NewToken()
	now := h.now()
	steps := make([]string, len(done))
	for i, d := range done {
		steps[i] = string(d)
	}
	si := store.SignIn{
		IDHash:    h.keys.HashToken("signin", token),
		UserID:    u.ID,
		StepsDone: steps,
		ReturnTo:  returnTo,
		CreatedAt: now,
		ExpiresAt: now.Add(auth.SignInTTL),
	}
	if err := h.store.CreateSignIn(c.UserContext(), si); err != nil {
		return store.SignIn{}, err
	}
	h.setCookie(c, signinCookie, token, si.ExpiresAt)
	return si, nil
}

// nextLocation asks auth.NextStep what the sign-in needs now and returns where the browser goes;
// when every step is done it finishes the sign-in first. ErrNotFound means the sign-in is gone.
func (h *Handler) nextLocation(c *fiber.Ctx, si store.SignIn, u store.User, method string) (string, error) {
	st, err := h.signInState(c.UserContext(), si, u)
	if err != nil {
		return "", err
	}
	switch auth.NextStep(st) {
	case auth.StepPassword:
		return "/login", nil
	case auth.StepResetPassword:
		return "/login/reset-password", nil
	case auth.StepSecondFactor:
		return "/login/verify", nil
	case auth.StepEnroll:
		return "/login/enroll", nil
	}
	return h.finishSignIn(c, si, u, method)
}

// advance takes the browser to the sign-in's next step (or, when done, to where it was going).
func (h *Handler) advance(c *fiber.Ctx, si store.SignIn, u store.User, method string) error {
	loc, err := h.nextLocation(c, si, u, method)
	if errors.Is(err, store.ErrNotFound) {
		return signInExpired(c)
	}
	if err != nil {
		return err
	}
	return redirect(c, loc)
}

// beginSecondFactor starts the second-factor step after the password: users who sign in with
// e-mail codes are sent one; users with TOTP are asked for a code from their app.
func (h *Handler) beginSecondFactor(c *fiber.Ctx, si store.SignIn, u store.User) error {
	st, err := h.signInState(c.UserContext(), si, u)
	if err != nil {
		return err
	}
	if auth.NextStep(st) != auth.StepSecondFactor {
		return h.advance(c, si, u, "password")
	}
	if !st.Allows(auth.MethodEmail) {
		return redirect(c, "/login/verify")
	}
	err = h.sendLoginCode(c, si, u, false)
	switch {
	case errors.Is(err, errCodeMailsLimited):
		return redirect(c, "/login/verify?sent=limited")
	case errors.Is(err, errSendFailed):
		return redirect(c, "/login/verify?sent=0")
	case err != nil:
		return err
	}
	return redirect(c, "/login/verify")
}

// errCodeMailsLimited says the user was mailed as many codes as throttle.CodeMails allows.
var errCodeMailsLimited = errors.New("too many code mails")

// errSendFailed says a code e-mail could not be sent after every retry.
var errSendFailed = errors.New("could not send the code")

// sendLoginCode mails a fresh code and only then stores its hash (replacing the sign-in's
// earlier code) with the email_code_sent event, so a failed send leaves nothing behind. Every
// code mail counts against throttle.CodeMails, whether it starts a sign-in or is resent, so neither
// signing in again nor resending can flood an inbox.
func (h *Handler) sendLoginCode(c *fiber.Ctx, si store.SignIn, u store.User, resend bool) error {
	n, err := h.store.CountAttempts(c.UserContext(), store.AttemptCodeMail, throttle.UserKey(u.ID), throttle.WindowStart(h.now(), throttle.CodeMails.Window()))
	if err != nil {
		return err
	}
	if n >= throttle.CodeMails.Max() {
		return errCodeMailsLimited
	}
	code := auth.NewCode()
	ctx, cancel := context.WithTimeout(c.UserContext(), 45*time.Second)
	defer cancel()
	if err := h.mailer.Send(ctx, mail.LoginCode(u.Email, u.Name, code, auth.EmailCodeTTL)); err != nil {
		h.log.Warn("sign-in code not sent", "user_id", u.ID, "err", err)
		return fmt.Errorf("%w: %w", errSendFailed, err)
	}
	now := h.now()
	return h.store.InTx(c.UserContext(), func(tx *store.Tx) error {
		if _, err := tx.ReplaceEmailCode(c.UserContext(), store.EmailCode{
			SignInHash: si.IDHash,
			CodeHash:   h.keys.HashToken("email_code", code),
			CreatedAt:  now,
			ExpiresAt:  now.Add(auth.EmailCodeTTL),
		}); err != nil {
			return err
		}
		if err := tx.RecordAttempt(c.UserContext(), store.AttemptCodeMail, []string{throttle.UserKey(u.ID)}, true, now); err != nil {
			return err
		}
		return tx.AddEvent(c.UserContext(), h.event(c, store.EventEmailCodeSent, nil, ptr(u.ID), map[string]any{"resend": resend}))
	})
}

// finishSignIn is the last step: the sign-in record goes, a session with a new id replaces any
// session this browser had, and user_signed_in is logged, all at once. It returns where the
// browser goes next, or ErrNotFound when the sign-in was finished already.
func (h *Handler) finishSignIn(c *fiber.Ctx, si store.SignIn, u store.User, method string) (string, error) {
	ctx := c.UserContext()
	token := auth.NewToken()
	now := h.now()
	sess := store.Session{
		IDHash:     h.keys.HashToken("session", token),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(auth.SessionTTL),
		IP:         h.clientIP(c),
		UserAgent:  truncate(c.Get(fiber.HeaderUserAgent), 512),
	}
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSignIn(ctx, si.IDHash); err != nil {
			return err
		}
		if len(si.PendingPassword) > 0 {
			if err := h.storePendingPassword(c, tx, si, u); err != nil {
				return err
			}
		}
		if old := c.Cookies(h.cookieName(sessionCookie)); old != "" {
			if err := tx.DeleteSession(ctx, h.keys.HashToken("session", old)); err != nil {
				return err
			}
		}
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserSignedIn, ptr(u.ID), ptr(u.ID), map[string]any{"method": method}))
	})
	if errors.Is(err, errPasswordChangedMeanwhile) {
		// A reset link set another password while this sign-in, begun with the old one, went
		// on: it ends, and the next begins with the password that is current.
		if err := h.store.DeleteSignIn(ctx, si.IDHash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", err // ErrNotFound: finished already, in another request
	}
	h.clearCookie(c, signinCookie)
	h.setCookie(c, sessionCookie, token, sess.ExpiresAt)
	return safeReturnTo(si.ReturnTo), nil
}

// safeReturnTo keeps only local paths, so a crafted link cannot send people to another site.
func safeReturnTo(to string) string {
	// Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
	if to == "" || to[0] != '/' || strings.ContainsAny(to, "\\\t\r\n") || strings.HasPrefix(to, "//") {
		return "/dashboard"
	}
	return to
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
