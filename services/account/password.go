package account

import (
	"context"
	"errors"
	"maps"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/breach"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// maxPasswordInput bounds what is hashed or verified, whatever was posted.
const maxPasswordInput = 1024

// MsgSameAsCurrent refuses a new password that is the current one.
const MsgSameAsCurrent = "The new password must be different from your current password."

// Policy is the tenant's password rule, from its settings.
func (s *Service) Policy(ctx context.Context) (auth.PasswordPolicy, error) {
	st, err := s.store.Settings(ctx)
	if err != nil {
		return auth.PasswordPolicy{}, err
	}
	return policyOf(st), nil
}

func policyOf(st store.Settings) auth.PasswordPolicy {
	return auth.PasswordPolicy{MinLength: st.MinimumPasswordLength, MinScore: st.MinimumStrengthScore}
}

// EmptyForm is how a form that sets subject's password starts (and comes back after a refusal,
// with empty fields): the minimum length in force, and the verdict on an empty password that
// its meter shows.
func (s *Service) EmptyForm(ctx context.Context, subject auth.PasswordSubject) (minLen int, check auth.PasswordCheck, err error) {
	policy, err := s.Policy(ctx)
	if err != nil {
		return 0, auth.PasswordCheck{}, err
	}
	return policy.MinLengthFor(subject), auth.CheckPassword("", subject, policy), nil
}

// StrengthAsk is what a page's live password meter posts, and who may be asking.
type StrengthAsk struct {
	Password string
	// Invite and Reset are the tokens the invitation and reset link pages post; SetupToken,
	// Email and Name are the setup page's.
	Invite, Reset, SetupToken string
	Email, Name               string
	// SignedIn is the browser's signed-in user (nil: none); SigningIn finds the user of its
	// sign-in in progress (ok false: none).
	SignedIn  *store.User
	SigningIn func() (u store.User, ok bool)
}

// PasswordStrength is the verdict of the one password rule on a.Password for the person it is
// for: the invited user of an invitation's page (even in a browser where someone else is signed
// in), the user of a reset link's page, else the signed-in user, else the user of the sign-in in
// progress, else (on the setup page, with a valid link) a super admin with the posted address
// and name. The password is neither logged nor stored.
func (s *Service) PasswordStrength(ctx context.Context, a StrengthAsk) (auth.PasswordCheck, error) {
	policy, err := s.Policy(ctx)
	if err != nil {
		return auth.PasswordCheck{}, err
	}
	var subject auth.PasswordSubject
	if u, err := s.InvitedUser(ctx, a.Invite); err == nil {
		subject = Subject(u)
	} else if u, err := s.ResetLinkUser(ctx, a.Reset); err == nil {
		subject = Subject(u)
	} else if a.SignedIn != nil {
		subject = Subject(*a.SignedIn)
	} else if u, ok := a.SigningIn(); ok {
		subject = Subject(u)
	} else if ok, err := s.SetupTokenValid(ctx, a.SetupToken); err == nil && ok {
		subject = auth.PasswordSubject{Email: a.Email, Name: a.Name, SuperAdmin: true}
	}
	return auth.CheckPassword(a.Password, subject, policy), nil
}

// Subject is an account as the password rule sees it.
func Subject(u store.User) auth.PasswordSubject {
	return auth.PasswordSubject{Email: u.Email, Name: u.Name, SuperAdmin: u.Role == store.RoleSuperAdmin}
}

// wording is how a form names the password in its problems.
type wording struct{ label, mismatch string }

var (
	// changing: a user replacing a password (account page, reset link, forced reset).
	changing = wording{"New password", "The new password and its confirmation do not match."}
	// first: a first password (invitation, setup, command line).
	first = wording{"Password", "The two passwords do not match."}
)

// choice is a password someone is choosing, with what the form found wrong already.
type choice struct {
	next, confirm string
	subject       auth.PasswordSubject
	words         wording
	problems      []string
	// notHash, when set, is the current password's hash: the new one must differ (a forced
	// reset must replace it). It is compared only for a form with no other problem.
	notHash string
}

// newPassword is a password that passed the one rule, ready to store: its record (hash, the
// rule it met, the breach fingerprint), the subject the rule was checked for, and why the
// breach check was skipped, if it was.
type newPassword struct {
	Record        store.NewPassword
	Subject       auth.PasswordSubject
	BreachSkipped string
}

// prepare checks a chosen password against the one password rule for its subject and its
// confirmation (and, with notHash, the current password), then asks the breach service, and
// hashes it. A refused password comes back as Problems, in the meter's words.
func (s *Service) prepare(ctx context.Context, policy auth.PasswordPolicy, ch choice) (newPassword, error) {
	problems := ch.problems
	check := auth.CheckPassword(ch.next, ch.subject, policy)
	for _, unmet := range check.Unmet() {
		problems = append(problems, ch.words.label+": "+unmet+".")
	}
	if check.Warning != "" && !check.OK() {
		problems = append(problems, check.Warning)
	}
	if ch.next != ch.confirm {
		problems = append(problems, ch.words.mismatch)
	}
	if len(problems) == 0 && ch.notHash != "" && ch.next != "" {
		same, _, err := s.hasher.Verify(ctx, ch.notHash, ch.next)
		if err != nil {
			return newPassword{}, err
		}
		if same {
			problems = append(problems, MsgSameAsCurrent)
		}
	}
	problems, v := s.breach.Screen(ctx, ch.next, problems)
	if len(problems) > 0 {
		return newPassword{}, Problems(problems)
	}
	hash, err := s.hasher.Hash(ctx, ch.next)
	if err != nil {
		return newPassword{}, err
	}
	return newPassword{Record: breach.Record(s.keys, hash, ch.next, ch.subject, policy), Subject: ch.subject, BreachSkipped: v.Skipped}, nil
}

// change says why a password is set, for setPasswordTx: the event that records it (with its
// details and actor), where the request came from, and the session that stays.
type change struct {
	event   store.EventType
	details map[string]any
	actor   *int64
	origin  store.Origin
	// keep is the session of the browser that set the password, when it is the user's own:
	// "other sessions" end, it stays. nil ends every session.
	keep []byte
	// created: the user was created in this transaction; the event says nothing of sessions.
	created bool
}

// setPasswordTx is the one way a password is set, inside tx. It re-reads the user: they must
// still be active and still the subject the password was checked for (name, address, role),
// else ErrNotFound or ErrUserChanged and nothing is written. Then it stores the record (the
// forced-reset flag clears with it), logs a skipped breach check, ends the user's sessions but
// why.keep and every sign-in in progress (one begun with the old password must not finish),
// deletes their reset links and invitations (a link must not set another password over this
// one), and writes why.event, with other_sessions_ended unless the user is new.
func (s *Service) setPasswordTx(ctx context.Context, tx *store.Tx, userID int64, pw newPassword, why change) error {
	cur, err := tx.UserForUpdate(ctx, userID) // as they stay until this commits, on every instance
	if errors.Is(err, store.ErrNotFound) || (err == nil && !cur.Active()) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if Subject(cur) != pw.Subject {
		return ErrUserChanged
	}
	now := s.now()
	if err := tx.SetPassword(ctx, cur.ID, pw.Record, now); err != nil {
		return err
	}
	skipped := breach.Verdict{Skipped: pw.BreachSkipped}
	if err := skipped.LogSkipped(ctx, tx, why.origin.Event(now, "", why.actor, ptr(cur.ID), nil)); err != nil {
		return err
	}
	ended, err := endSessionsTx(ctx, tx, cur.ID, why.keep)
	if err != nil {
		return err
	}
	if err := tx.DeletePasswordResets(ctx, cur.ID); err != nil {
		return err
	}
	if err := tx.DeleteUserInvitations(ctx, cur.ID); err != nil {
		return err
	}
	details := maps.Clone(why.details)
	if !why.created {
		if details == nil {
			details = map[string]any{}
		}
		details["other_sessions_ended"] = ended
	}
	return tx.AddEvent(ctx, why.origin.Event(now, why.event, why.actor, ptr(cur.ID), details))
}

// endSessionsTx signs a user out everywhere: their sessions but keep (nil keeps none), and
// every sign-in in progress (one begun with an old password or factor must not finish). It
// returns how many sessions ended.
func endSessionsTx(ctx context.Context, tx *store.Tx, userID int64, keep []byte) (int64, error) {
	ended, err := tx.DeleteUserSessions(ctx, userID, keep)
	if err != nil {
		return 0, err
	}
	return ended, tx.DeleteUserSignIns(ctx, userID)
}

// ChangePassword is Account > Password: u proves themselves with their current password
// (throttled and counted like a sign-in: ErrThrottled, ErrWrongPassword), then the new one must
// meet the one rule (Problems). On success the user's other sessions and sign-ins end and the
// session keep (this browser's) stays; password_changed is logged.
func (s *Service) ChangePassword(ctx context.Context, u store.User, current, next, confirm string, keep []byte, origin store.Origin) error {
	account := throttle.PasswordPerAccount.For(throttle.EmailKey(u.Email))
	perIP := throttle.PasswordPerIP.For(throttle.IPKey(origin.IP))
	unlock, err := s.limiter.Lock(ctx, throttle.EmailKey(u.Email)) // check, verify and count each guess before the next
	if err != nil {
		return err
	}
	defer unlock()
	limited, err := s.limiter.Refuse(ctx, origin.Event(s.now(), store.EventPasswordChangeFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "throttled"}), account, perIP)
	if err != nil {
		return err
	}
	if limited {
		return ErrThrottled
	}
	if len(current) > maxPasswordInput {
		current = ""
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil {
		return err
	}
	if !ok {
		ev := origin.Event(s.now(), store.EventPasswordChangeFailed, ptr(u.ID), ptr(u.ID), map[string]any{"reason": "wrong_current_password"})
		if err := s.limiter.FailedGuess(ctx, ev, account, perIP); err != nil {
			return err
		}
		return ErrWrongPassword
	}
	// The owner proved themselves: the account's count of wrong passwords restarts, as after a sign-in.
	if err := s.limiter.SucceedNow(ctx, account, perIP); err != nil {
		return err
	}
	policy, err := s.Policy(ctx)
	if err != nil {
		return err
	}
	ch := choice{next: next, confirm: confirm, subject: Subject(u), words: changing}
	if next == current {
		ch.problems = []string{MsgSameAsCurrent}
	}
	pw, err := s.prepare(ctx, policy, ch)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		return s.setPasswordTx(ctx, tx, u.ID, pw, change{event: store.EventPasswordChanged, actor: ptr(u.ID), origin: origin, keep: keep})
	})
	if err == nil {
		s.Notify(Notice{Kind: NoticePasswordChanged, User: u, At: s.now(), Origin: origin})
	}
	return err
}
