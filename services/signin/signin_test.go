package signin_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/mail/mailtest"
	"github.com/weftid/weftid/services/account"
	"github.com/weftid/weftid/services/signin"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

const password = "correct horse battery staple"

// t0 is the tests' clock: whole seconds, as the store keeps them.
var t0 = time.Now().UTC().Truncate(time.Second)

// fixture is a real store, hasher, mailer (to an in-process SMTP server) and the service.
type fixture struct {
	t      *testing.T
	store  *store.Store
	keys   auth.Keys
	hasher *auth.Hasher
	smtp   *mailtest.Server
	svc    *signin.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := mailtest.Start(t)
	mailer, err := mail.New(mail.Config{SMTPURL: srv.URL(), From: "weftid@localhost", Attempts: 3, Backoff: time.Millisecond, Timeout: 5 * time.Second}, log)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := auth.NewHasher(auth.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2, 16, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	keys := auth.NewKeys(secret)
	now := func() time.Time { return t0 }
	f := &fixture{t: t, store: st, keys: keys, hasher: hasher, smtp: srv}
	f.svc = signin.New(signin.Config{
		Store: st, Limiter: throttle.New(st, now), Keys: keys, Hasher: hasher, Mailer: mailer, Log: log, Now: now,
		Accounts: account.New(account.Config{Store: st, Hasher: hasher, Keys: keys, Limiter: throttle.New(st, now), Log: log, Now: now}),
	})
	return f
}

func (f *fixture) user(email string) store.User {
	f.t.Helper()
	hash, err := f.hasher.Hash(context.Background(), password)
	if err != nil {
		f.t.Fatal(err)
	}
	u, err := f.store.CreateUser(context.Background(), store.User{Email: email, Name: "Ada", Role: store.RoleUser, PasswordHash: hash}, t0)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

var codeInMail = regexp.MustCompile(`\b\d{6}\b`)

// lastCode is the code of the latest mail to email.
func (f *fixture) lastCode(email string) string {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msg, err := f.smtp.WaitFor(ctx, email)
	if err != nil {
		f.t.Fatalf("no code mailed to %s: %v", email, err)
	}
	code := codeInMail.FindString(msg.Text)
	if code == "" {
		f.t.Fatalf("no code in %q", msg.Text)
	}
	return code
}

// stored is the progress of the sign-in of token as the store has it.
func (f *fixture) stored(token string) store.Progress {
	f.t.Helper()
	si, err := f.store.SignInByHash(context.Background(), f.keys.HashToken("signin", token), t0)
	if err != nil {
		f.t.Fatalf("sign-in: %v", err)
	}
	return si.Progress
}

// TestProgressThroughEmailCode: each step's result carries the progress the store now holds,
// and the last step finishes the sign-in with a session.
func TestProgressThroughEmailCode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.user("ada@example.com")
	c := signin.Client{Origin: store.Origin{IP: "192.0.2.1", UserAgent: "test"}}

	r, err := f.svc.Password(ctx, c, "Ada@Example.com ", password)
	if err != nil || r.Started == nil {
		t.Fatalf("Password = %+v, %v; want a started sign-in", r, err)
	}
	want := store.Progress{Password: true, Factors: int64(auth.FactorPassword)}
	if r.Next != auth.StepSecondFactor || r.Mail != signin.MailSent || r.SignIn.Progress != want {
		t.Errorf("after the password: next %s, mail %v, progress %+v; want second_factor, sent, %+v", r.Next, r.Mail, r.SignIn.Progress, want)
	}
	if got := f.stored(r.Started.Value); got != r.SignIn.Progress {
		t.Errorf("stored progress %+v, result %+v", got, r.SignIn.Progress)
	}
	c.SignIn = r.Started.Value

	if _, err := f.svc.VerifyCode(ctx, c, "", "000000"); !errors.Is(err, signin.ErrWrongCode) {
		t.Errorf("wrong code: %v, want ErrWrongCode", err)
	}
	if got := f.stored(c.SignIn); got != want {
		t.Errorf("after a wrong code: progress %+v, want %+v", got, want)
	}

	r, err = f.svc.VerifyCode(ctx, c, "", f.lastCode("ada@example.com"))
	if err != nil || r.Next != auth.StepDone || r.Session == nil || r.ReturnTo != "/dashboard" {
		t.Fatalf("VerifyCode = next %s, session %v, to %q, %v; want done with a session to /dashboard", r.Next, r.Session, r.ReturnTo, err)
	}
	if want := (store.Progress{Password: true, SecondFactor: true, EmailCode: true, Factors: int64(auth.FactorPassword | auth.FactorEmailCode)}); r.SignIn.Progress != want {
		t.Errorf("finished with progress %+v, want %+v", r.SignIn.Progress, want)
	}
	if _, _, err := f.svc.Current(ctx, c.SignIn); !errors.Is(err, signin.ErrNoSignIn) {
		t.Errorf("finished sign-in: Current = %v, want ErrNoSignIn", err)
	}
	if u, _, err := f.svc.Session(ctx, r.Session.Value); err != nil || u.Email != "ada@example.com" {
		t.Errorf("Session = %s, %v; want ada's", u.Email, err)
	}
}

// TestProgressThroughForcedReset: the new password is kept sealed on the sign-in with its step,
// and stored (by the account service) only when the sign-in finishes.
func TestProgressThroughForcedReset(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u := f.user("grace@example.com")
	if err := f.store.RequirePasswordReset(ctx, u.ID, t0); err != nil {
		t.Fatal(err)
	}
	c := signin.Client{}
	r, err := f.svc.Password(ctx, c, "grace@example.com", password)
	if err != nil || r.Next != auth.StepResetPassword || r.Mail != signin.MailNone {
		t.Fatalf("Password = next %s, mail %v, %v; want reset_password, nothing mailed", r.Next, r.Mail, err)
	}
	c.SignIn = r.Started.Value

	r, err = f.svc.ChooseNewPassword(ctx, c, "short", "short")
	if !errors.Is(err, signin.ErrInvalidPassword) || len(r.Problems) == 0 {
		t.Errorf("a short password: %v, problems %q; want ErrInvalidPassword with problems", err, r.Problems)
	}
	next := "a much longer new passphrase for grace"
	r, err = f.svc.ChooseNewPassword(ctx, c, next, next)
	want := store.Progress{Password: true, ResetPassword: true, Factors: int64(auth.FactorPassword)}
	if err != nil || r.Next != auth.StepSecondFactor || r.SignIn.Progress != want || r.Mail != signin.MailSent {
		t.Fatalf("ChooseNewPassword = next %s, progress %+v, mail %v, %v; want second_factor, %+v, sent", r.Next, r.SignIn.Progress, r.Mail, err, want)
	}
	if got := f.stored(c.SignIn); got != want {
		t.Errorf("stored progress %+v, want %+v", got, want)
	}
	if len(r.SignIn.PendingPassword) == 0 {
		t.Error("no sealed pending password on the sign-in")
	}
	if cur, _ := f.store.UserByID(ctx, u.ID); cur.PasswordHash != u.PasswordHash || !cur.PasswordResetRequired {
		t.Errorf("the reset completed before the second factor")
	}
	if _, err := f.svc.VerifyCode(ctx, c, auth.MethodEmail, f.lastCode("grace@example.com")); err != nil {
		t.Fatal(err)
	}
	cur, err := f.store.UserByID(ctx, u.ID)
	if err != nil || cur.PasswordHash == u.PasswordHash || cur.PasswordResetRequired {
		t.Errorf("after the second factor: hash changed %v, still flagged %v, %v; want the new password stored and the flag cleared",
			cur.PasswordHash != u.PasswordHash, cur.PasswordResetRequired, err)
	}
	if ok, _, _ := f.hasher.Verify(ctx, cur.PasswordHash, next); !ok {
		t.Error("the stored password is not the one chosen")
	}
}

// TestProgressNotAtStep: a use case of another step leaves the progress alone.
func TestProgressNotAtStep(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.user("alan@example.com")
	r, err := f.svc.Password(ctx, signin.Client{}, "alan@example.com", password)
	if err != nil {
		t.Fatal(err)
	}
	c := signin.Client{SignIn: r.Started.Value}
	if _, err := f.svc.ChooseNewPassword(ctx, c, "x", "x"); !errors.Is(err, signin.ErrNotAtStep) {
		t.Errorf("ChooseNewPassword at the second factor: %v, want ErrNotAtStep", err)
	}
	if got := f.stored(c.SignIn); got != (store.Progress{Password: true, Factors: int64(auth.FactorPassword)}) {
		t.Errorf("progress %+v, want only the password", got)
	}
	if _, err := f.svc.Password(ctx, signin.Client{}, "alan@example.com", "wrong"); !errors.Is(err, signin.ErrFailed) {
		t.Errorf("wrong password: %v, want ErrFailed", err)
	}
}
