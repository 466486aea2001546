package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// MsgEmailTaken refuses a new user whose address another has.
const MsgEmailTaken = "A user with this email address already exists."

// NewUser is an account to create: by an admin, who invites them to set their password
// (By set, Password empty), or from the command line with a password (By nil).
type NewUser struct {
	Email, Name string
	Role        store.Role
	// By is the admin who adds the user; nil for the command line.
	By *store.User
	// Password and Confirm: the first password, from the command line.
	Password, Confirm string
}

// Created is what CreateUser did.
type Created struct {
	User store.User
	// BreachSkipped says why the new password's breach check was skipped ("" when it ran).
	BreachSkipped string
	// InviteNotSent: the user and the invitation stand, but its mail failed (the log says why).
	InviteNotSent bool
}

// userProblems checks the fields of a new user, in words.
func userProblems(name, email string, role store.Role) []string {
	problems := []string(profileProblems(name, email))
	if !role.Valid() {
		problems = append(problems, "Choose a role.")
	}
	return problems
}

// CreateUser adds a user. Added by an admin (in.By), the user has no password and is mailed an
// invitation to set one: the admin may give only their grantable roles (ErrForbidden); the
// user, the invitation and user_created (via invite) are written together, the mail goes after,
// and if it fails the user stays (InviteNotSent). From the command line (By nil) the user gets
// in.Password, through the one password step, and user_created says via cli. Problems lists
// what is wrong with the fields; ErrEmailTaken is also Problems{MsgEmailTaken}.
func (s *Service) CreateUser(ctx context.Context, in NewUser, origin store.Origin) (Created, error) {
	in.Email, in.Name = store.NormalizeEmail(in.Email), strings.TrimSpace(in.Name)
	if in.By != nil && in.Role.Valid() && !slices.Contains(GrantableRoles(*in.By), in.Role) {
		return Created{}, ErrForbidden
	}
	problems := userProblems(in.Name, in.Email, in.Role)
	if in.By != nil {
		if len(problems) > 0 {
			return Created{}, Problems(problems)
		}
		return s.invite(ctx, in, origin)
	}
	policy, err := s.Policy(ctx)
	if err != nil {
		return Created{}, err
	}
	subject := auth.PasswordSubject{Email: in.Email, Name: in.Name, SuperAdmin: in.Role == store.RoleSuperAdmin}
	pw, err := s.prepare(ctx, policy, choice{next: in.Password, confirm: in.Confirm, subject: subject, words: first, problems: problems})
	if err != nil {
		return Created{}, err
	}
	var u store.User
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		u, err = s.createWithPasswordTx(ctx, tx, store.User{Email: in.Email, Name: in.Name, Role: in.Role}, pw, "cli", origin)
		return err
	})
	return Created{User: u, BreachSkipped: pw.BreachSkipped}, emailTaken(err)
}

// emailTaken turns the store's conflict on a new user into ErrEmailTaken.
func emailTaken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return errors.Join(ErrEmailTaken, Problems{MsgEmailTaken})
	}
	return err
}

// createWithPasswordTx creates u with the first password pw inside tx, through setPasswordTx,
// which logs user_created (its role, and via: setup or cli).
func (s *Service) createWithPasswordTx(ctx context.Context, tx *store.Tx, u store.User, pw newPassword, via string, origin store.Origin) (store.User, error) {
	u, err := tx.CreateUser(ctx, u, s.now())
	if err != nil {
		return u, err
	}
	why := change{event: store.EventUserCreated, origin: origin, created: true, details: map[string]any{"role": string(u.Role), "via": via}}
	return u, s.setPasswordTx(ctx, tx, u.ID, pw, why)
}

// invite creates a user with no password and an invitation, and mails it after the commit.
func (s *Service) invite(ctx context.Context, in NewUser, origin store.Origin) (Created, error) {
	switch _, err := s.store.UserByEmail(ctx, in.Email); {
	case err == nil:
		return Created{}, errors.Join(ErrEmailTaken, Problems{MsgEmailTaken})
	case !errors.Is(err, store.ErrNotFound):
		return Created{}, err
	}
	actor := *in.By
	token := auth.NewToken()
	now := s.now()
	var u store.User
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.CreateUser(ctx, store.User{Email: in.Email, Name: in.Name, Role: in.Role, Status: store.StatusActive}, now)
		if err != nil {
			return err
		}
		err = tx.CreateInvitation(ctx, store.Invitation{
			TokenHash: s.keys.HashToken("invite", token), UserID: u.ID, CreatedBy: actor.ID,
			ExpiresAt: now.Add(InviteTTL), CreatedAt: now,
		})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserCreated, ptr(actor.ID), ptr(u.ID), map[string]any{"role": string(in.Role), "via": "invite"}))
	})
	if err != nil {
		return Created{}, emailTaken(err) // taken between the check and the insert
	}
	if err := s.send(ctx, s.invitationMail(u, actor, token)); err != nil {
		s.log.Error("invitation email not sent", "user_id", u.ID, "err", err)
		return Created{User: u, InviteNotSent: true}, nil
	}
	s.log.Info("user invited", "user_id", u.ID, "by", actor.ID)
	return Created{User: u}, nil
}

// invitationMail is the message that carries the link to set a first password.
func (s *Service) invitationMail(u, inviter store.User, token string) mail.Message {
	intro := fmt.Sprintf("Hello %s,\n\n%s invited you to weftid at %s. Set your password to start: "+
		"the link works once, for 7 days.\n\nIf you did not expect this invitation, you can ignore this message.",
		u.Name, inviter.Name, s.base.Host)
	return mail.Generic(u.Email, "You are invited to weftid", intro, "Set your password", s.link("/invite/"+token))
}

// InvitedUser is the active user whose unexpired invitation the token is; ErrInvalidLink
// otherwise.
func (s *Service) InvitedUser(ctx context.Context, token string) (store.User, error) {
	return s.linkUser(ctx, "invite", token, s.store.InvitationUser)
}

// AcceptInvitation sets the invited user's first password under the one password rule for
// them (Problems). Using up the link, setting the password and user_invitation_accepted happen
// together. Links that do not work (ErrInvalidLink) are counted per IP, and refused after too
// many (ErrThrottled). It returns the user.
func (s *Service) AcceptInvitation(ctx context.Context, token, password, confirm string, origin store.Origin) (store.User, error) {
	perIP := throttle.InvitePerIP.For(throttle.IPKey(origin.IP))
	limited, err := s.limiter.Limited(ctx, perIP)
	if err != nil {
		return store.User{}, err
	}
	if limited {
		return store.User{}, ErrThrottled
	}
	invalid := func() error {
		if err := s.limiter.FailNow(ctx, perIP); err != nil {
			return err
		}
		return ErrInvalidLink
	}
	u, err := s.InvitedUser(ctx, token)
	if errors.Is(err, ErrInvalidLink) {
		return u, invalid()
	}
	if err != nil {
		return u, err
	}
	policy, err := s.Policy(ctx)
	if err != nil {
		return u, err
	}
	pw, err := s.prepare(ctx, policy, choice{next: password, confirm: confirm, subject: Subject(u), words: first})
	if err != nil {
		return u, err
	}
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		id, err := tx.ConsumeInvitation(ctx, s.keys.HashToken("invite", token), s.now())
		if err != nil {
			return err
		}
		if id != u.ID {
			return ErrNotFound
		}
		return s.setPasswordTx(ctx, tx, id, pw, change{event: store.EventUserInvitationAccepted, actor: ptr(id), origin: origin})
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound) {
		return u, ErrInvalidLink // used up by a request that got there first, or deactivated since
	}
	return u, err
}
