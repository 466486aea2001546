// Package signin owns signing in: the sign-in record and its typed progress (store.Progress),
// each step's use case (password, e-mail code, TOTP or backup code, passkey, a forced reset's new
// password, Enhanced enrollment), the throttling and login_failed events of every guess, the
// session a finished sign-in creates, and the sessions a request is served under (loading one,
// signing out). auth.NextStep decides the steps; this package reads what it needs, persists the
// outcome, and tells the HTTP layer where the browser goes.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Mailer sends one message (retrying as it sees fit) or says why it could not.
type Mailer interface {
	Send(ctx context.Context, msg mail.Message) error
}

// Config is what the service needs.
type Config struct {
	Store   *store.Store
	Limiter *throttle.Limiter
	Keys    auth.Keys
	Hasher  *auth.Hasher
	Mailer  Mailer
	Log     *slog.Logger
	Now     func() time.Time
	// Fingerprints says breach checking is on: a sign-in stores the breach fingerprint of a
	// password set before fingerprints were kept.
	Fingerprints bool
	// Accounts chooses and stores a forced reset's new password (setting a password is theirs).
	Accounts *account.Service
	// Requires says whether the application a sign-in returns to (its ReturnTo, the continuation
	// of an SSO request) requires Enhanced (nil: none does). It is asked at every step, like the
	// tenant's policy.
	Requires func(ctx context.Context, returnTo string) (enhanced bool, err error)
	// Metrics counts the steps tried, by method and result (nil: not counted).
	Metrics *metrics.Metrics
}

// Service runs the sign-in use cases.
type Service struct {
	store    *store.Store
	limiter  *throttle.Limiter
	keys     auth.Keys
	hasher   *auth.Hasher
	mailer   Mailer
	log      *slog.Logger
	now      func() time.Time
	backfill bool
	accounts *account.Service
	requires func(ctx context.Context, returnTo string) (bool, error)
	metrics  *metrics.Metrics
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{
		store: cfg.Store, limiter: cfg.Limiter, keys: cfg.Keys, hasher: cfg.Hasher, mailer: cfg.Mailer,
		log: cfg.Log, now: cfg.Now, backfill: cfg.Fingerprints, accounts: cfg.Accounts, requires: cfg.Requires,
		metrics: cfg.Metrics,
	}
}

// The errors of the use cases; the HTTP layer maps each to a status and a message.
var (
	// ErrNoSignIn: no sign-in in progress (none, expired, finished elsewhere, or its user can
	// no longer sign in). It matches store.ErrNotFound too.
	ErrNoSignIn = fmt.Errorf("signin: no sign-in in progress: %w", store.ErrNotFound)
	// ErrNotAtStep: the sign-in waits at another step (Result.Next); Advance takes it there.
	ErrNotAtStep = errors.New("signin: the sign-in is at another step")
	// ErrIncomplete: the e-mail address or the password is missing.
	ErrIncomplete = errors.New("signin: email and password required")
	// ErrFailed: the password step failed, for a reason never told (unknown address, wrong
	// password, inactive account).
	ErrFailed = errors.New("signin: incorrect email or password")
	// ErrThrottled: too many guesses.
	ErrThrottled = errors.New("signin: too many attempts")
	// ErrTooManyCeremonies: this IP began too many passkey ceremonies (throttle.PasskeyBeginPerIP).
	ErrTooManyCeremonies = errors.New("signin: too many passkey ceremonies")
	// ErrWrongCode: the e-mail code is wrong, expired or used; ErrWrongOTP: the TOTP or backup
	// code is; ErrTooManyTries: the e-mail code had too many wrong guesses.
	ErrWrongCode    = errors.New("signin: wrong code")
	ErrWrongOTP     = errors.New("signin: wrong authenticator or backup code")
	ErrTooManyTries = errors.New("signin: too many wrong codes")
	// ErrPasskeyFailed: the passkey could not sign in; ErrNoPasskey: the user has none.
	ErrPasskeyFailed = errors.New("signin: passkey refused")
	ErrNoPasskey     = errors.New("signin: no passkey")
	// ErrInvalidPassword: the new password breaks the rule; Result.Problems says how.
	ErrInvalidPassword = errors.New("signin: new password refused")
	// ErrNoSecret: the enrollment has no TOTP secret yet.
	ErrNoSecret = errors.New("signin: no TOTP secret yet")
	// ErrPasswordChanged: a reset link set another password while this sign-in's forced reset
	// was pending; the sign-in ends (account.CompleteForcedResetTx returns it).
	ErrPasswordChanged = account.ErrPasswordChangedMeanwhile
)

// Client is the browser a use case serves: where it came from, and the tokens its cookies carry.
type Client struct {
	store.Origin
	// SignIn is the token of its sign-in in progress ("" when none).
	SignIn string
	// Session is the token of its session, replaced when a sign-in finishes ("" when none).
	Session string
	// ReturnTo is where a sign-in started now should end (an SSO request waiting for it); it is
	// asked only when one starts. nil: the dashboard.
	ReturnTo func() string
	// Device is the token of its device cookie ("" when none): see device.go.
	Device string
}

// Token is a secret the browser keeps in a cookie until it expires.
type Token struct {
	Value   string
	Expires time.Time
}

// MailStatus is how mailing an e-mail code went.
type MailStatus int

// The outcomes of mailing a code.
const (
	MailNone    MailStatus = iota // no code was to be mailed
	MailSent                      // mailed and stored
	MailLimited                   // throttle.CodeMails reached: nothing sent
	MailFailed                    // the send failed after every retry: nothing stored
)

// Result is where a sign-in stands after a use case. With an error it holds what was known.
type Result struct {
	SignIn store.SignIn
	User   store.User
	State  auth.SignInState
	// Next is the step the sign-in waits at; auth.StepDone once it finished (Session set).
	Next auth.Step
	// Started is the sign-in this call started; the browser keeps its token.
	Started *Token
	// Session is the session a finished sign-in created; the browser goes to ReturnTo.
	Session  *Token
	ReturnTo string
	// Device is the new token of the browser's device cookie, set with Session.
	Device *Token
	// Mail is how mailing this step's e-mail code went.
	Mail MailStatus
	// Problems say why a new password was refused (ErrInvalidPassword).
	Problems []string
	// notices are mailed to the user once the sign-in's transaction is committed.
	notices []account.Notice
}

// reader is what deciding the next step reads: the store or a transaction of it.
type reader interface {
	TOTPByUser(ctx context.Context, userID int64) (store.TOTP, error)
	CountPasskeys(ctx context.Context, userID int64) (int, error)
	Settings(ctx context.Context) (store.Settings, error)
}

// state is what auth.NextStep reads: the sign-in's progress, its user's second factors, and what
// the tenant and the application it returns to require.
func (s *Service) state(ctx context.Context, q reader, si store.SignIn, u store.User) (auth.SignInState, error) {
	p := si.Progress
	st := auth.SignInState{
		PasswordDone:     p.Password,
		SecondFactorDone: p.SecondFactor,
		// Flagged, and this sign-in has not chosen the new password yet (it is stored when the
		// sign-in finishes, after the second factor).
		ResetRequired: u.PasswordResetRequired && !p.ResetPassword,
		OnlyEmailCode: p.EmailCode && !p.StrongFactor && !p.Enrolled,
	}
	t, err := q.TOTPByUser(ctx, u.ID)
	switch {
	case err == nil:
		st.HasTOTP = t.Confirmed()
	case !errors.Is(err, store.ErrNotFound):
		return st, err
	}
	n, err := q.CountPasskeys(ctx, u.ID)
	if err != nil {
		return st, err
	}
	st.HasPasskey = n > 0
	// The policy is read at every step of a sign-in, so a change applies to every sign-in not
	// yet finished; sessions that exist are never touched.
	settings, err := q.Settings(ctx)
	if err != nil {
		return st, err
	}
	st.Enhanced = settings.RequiredAuthStrength == "enhanced"
	// A step-up exists to make the session Enhanced, whatever became of the request it serves.
	st.AppEnhanced = p.StepUp
	if !st.AppEnhanced && si.ReturnTo != "" && s.requires != nil {
		if st.AppEnhanced, err = s.requires(ctx, si.ReturnTo); err != nil {
			return st, err
		}
	}
	return st, nil
}

// decide fills in the state and the next step of si.
func (s *Service) decide(ctx context.Context, q reader, si store.SignIn, u store.User) (Result, error) {
	st, err := s.state(ctx, q, si, u)
	return Result{SignIn: si, User: u, State: st, Next: auth.NextStep(st)}, err
}

// Current finds the sign-in in progress of token and its user, or ErrNoSignIn (no token,
// expired, or the user can no longer sign in).
func (s *Service) Current(ctx context.Context, token string) (store.SignIn, store.User, error) {
	if token == "" {
		return store.SignIn{}, store.User{}, ErrNoSignIn
	}
	si, err := s.store.SignInByHash(ctx, s.keys.HashToken("signin", token), s.now())
	if err == nil {
		var u store.User
		if u, err = s.store.UserByID(ctx, si.UserID); err == nil && u.Active() {
			return si, u, nil
		}
	}
	if err == nil || errors.Is(err, store.ErrNotFound) {
		err = ErrNoSignIn
	}
	return store.SignIn{}, store.User{}, err
}

// SetReturnTo makes returnTo where the sign-in si goes when it is done (the continuation of an
// SSO request that waits for it); ErrNoSignIn when it is gone.
func (s *Service) SetReturnTo(ctx context.Context, si store.SignIn, returnTo string) error {
	err := s.store.SetSignInReturnTo(ctx, si.IDHash, returnTo)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNoSignIn
	}
	return err
}

// Load is where the sign-in of token stands: its user, state and next step.
func (s *Service) Load(ctx context.Context, token string) (Result, error) {
	si, u, err := s.Current(ctx, token)
	if err != nil {
		return Result{}, err
	}
	return s.decide(ctx, s.store, si, u)
}

// at loads the sign-in of c and checks that it waits at step (ErrNotAtStep otherwise).
func (s *Service) at(ctx context.Context, c Client, step auth.Step) (Result, error) {
	r, err := s.Load(ctx, c.SignIn)
	if err == nil && r.Next != step {
		err = ErrNotAtStep
	}
	return r, err
}

// Pending is the step the sign-in of token waits at when it cannot be left (Enhanced
// enrollment, or a forced reset's new password), and "" otherwise: every page that needs a
// session sends the browser back there.
func (s *Service) Pending(ctx context.Context, token string) auth.Step {
	r, err := s.Load(ctx, token)
	if err != nil || (r.Next != auth.StepEnroll && r.Next != auth.StepResetPassword) {
		return ""
	}
	return r.Next
}

// Advance takes the sign-in of c to its next step; when every step is done it finishes it
// (method names how it signed in, for user_signed_in).
func (s *Service) Advance(ctx context.Context, c Client, method string) (Result, error) {
	si, u, err := s.Current(ctx, c.SignIn)
	if err != nil {
		return Result{}, err
	}
	return s.advance(ctx, c, si, u, method, nil)
}

// advance runs step (nil: nothing) and then decides, finishing the sign-in when it is done, all
// in one transaction. step returns the sign-in as it wrote it.
func (s *Service) advance(ctx context.Context, c Client, si store.SignIn, u store.User, method string, step func(tx *store.Tx) (store.SignIn, error)) (Result, error) {
	var r Result
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		if step != nil {
			var err error
			if si, err = step(tx); err != nil {
				return err
			}
		}
		var err error
		if r, err = s.decide(ctx, tx, si, u); err != nil || r.Next != auth.StepDone {
			return err
		}
		return s.finishTx(ctx, tx, c, &r, method)
	})
	if err == nil {
		for _, n := range r.notices {
			s.accounts.Notify(n)
		}
	}
	if errors.Is(err, ErrPasswordChanged) {
		// A reset link set another password while this sign-in, begun with the old one, went
		// on: it ends, and the next begins with the password that is current.
		if err := s.store.DeleteSignIn(ctx, si.IDHash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
		return r, ErrNoSignIn
	}
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrNoSignIn // finished already, in another request
	}
	return r, err
}

// progress records done on the sign-in in tx and returns it as stored.
func progress(ctx context.Context, tx *store.Tx, si store.SignIn, done store.Progress) (store.SignIn, error) {
	p, err := tx.AdvanceSignIn(ctx, si.IDHash, done)
	si.Progress = p
	return si, err
}

// start records a sign-in of u with the progress it starts with, in tx.
func (s *Service) start(ctx context.Context, tx *store.Tx, c Client, u store.User, done store.Progress) (store.SignIn, *Token, error) {
	returnTo := ""
	if c.ReturnTo != nil {
		returnTo = c.ReturnTo()
	}
	token := auth.NewToken()
	now := s.now()
	si := store.SignIn{
		IDHash:    s.keys.HashToken("signin", token),
		UserID:    u.ID,
		Progress:  done,
		ReturnTo:  returnTo,
		CreatedAt: now,
		ExpiresAt: now.Add(auth.SignInTTL),
	}
	if err := tx.CreateSignIn(ctx, si); err != nil {
		return store.SignIn{}, nil, err
	}
	return si, &Token{Value: token, Expires: si.ExpiresAt}, nil
}

// finishTx is the last step, in tx: the sign-in record goes (ErrNotFound when it went already),
// a forced reset's new password is stored, a session with a new id replaces the browser's
// session, user_signed_in is logged and the time of the sign-in kept, and the browser's device
// cookie is set or rotated. The user is to hear of a new password, and of a browser that became
// a new device when it is not their first sign-in ever (r.notices).
func (s *Service) finishTx(ctx context.Context, tx *store.Tx, c Client, r *Result, method string) error {
	si, u := r.SignIn, r.User
	if err := tx.DeleteSignIn(ctx, si.IDHash); err != nil {
		return err
	}
	now := s.now()
	if len(si.PendingPassword) > 0 {
		if err := s.accounts.CompleteForcedResetTx(ctx, tx, si, u, c.Origin); err != nil {
			return err
		}
		r.notices = append(r.notices, account.Notice{Kind: account.NoticePasswordChanged, User: u, At: now, Origin: c.Origin})
	}
	if c.Session != "" {
		if err := tx.DeleteSession(ctx, s.keys.HashToken("session", c.Session)); err != nil {
			return err
		}
	}
	token := auth.NewToken()
	sess := store.Session{
		IDHash:     s.keys.HashToken("session", token),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(auth.SessionTTL),
		IP:         c.IP,
		UserAgent:  c.UserAgent,
		Factors:    si.Progress.Factors,
	}
	if err := tx.CreateSession(ctx, sess); err != nil {
		return err
	}
	details := map[string]any{"method": method, "amr": strings.Join(auth.Factors(si.Progress.Factors).AMR(), " ")}
	if si.Progress.StepUp {
		details["step_up"] = true
	}
	if err := tx.AddEvent(ctx, c.Event(now, store.EventUserSignedIn, &u.ID, &u.ID, details)); err != nil {
		return err
	}
	if err := tx.RecordSignIn(ctx, u.ID, now); err != nil {
		return err
	}
	device, isNew, err := s.trustDeviceTx(ctx, tx, c, u, now)
	if err != nil {
		return err
	}
	if isNew && !u.LastSignInAt.IsZero() {
		r.notices = append(r.notices, account.Notice{Kind: account.NoticeNewSignIn, User: u, At: now, Origin: c.Origin})
	}
	r.Device = device
	r.Session = &Token{Value: token, Expires: sess.ExpiresAt}
	r.ReturnTo = SafeReturnTo(si.ReturnTo)
	return nil
}

// SafeReturnTo keeps only local paths, so a crafted link cannot send people to another site.
func SafeReturnTo(to string) string {
	// Browsers drop tabs and newlines from URLs, so "/\t/evil.example" would become "//evil.example".
	if to == "" || to[0] != '/' || strings.ContainsAny(to, "\\\t\r\n") || strings.HasPrefix(to, "//") {
		return "/dashboard"
	}
	return to
}

// failed logs a failed attempt of u (0: unknown) at a step, with its reason.
func (s *Service) failed(o store.Origin, userID int64, details map[string]any) store.Event {
	var subject *int64
	if userID != 0 {
		subject = &userID
	}
	return o.Event(s.now(), store.EventLoginFailed, nil, subject, details)
}

// TOTPContext binds a sealed TOTP secret to its user, so it cannot be moved to another row.
func TOTPContext(userID int64) string { return "totp:" + throttle.UserKey(userID) }
