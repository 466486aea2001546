package account

import (
	"context"
	"errors"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// The refusals of sending an invitation again.
var (
	ErrNotInvited = Refusal{"Invitation not sent",
		"This user has set their password already, so there is no invitation to send. If they cannot sign in, they can use \"Forgot password?\" on the sign-in page."}
	ErrInviteInactive = Refusal{"Invitation not sent",
		"This user is deactivated, and an invitation link does not work for a deactivated user. Reactivate them first (on the Danger tab)."}
	// ErrResendLimited: the user's invitation was sent again too often in the last hour.
	ErrResendLimited = errors.New("account: invitation sent again too often")
)

// Invitation is a user's invitation as the Profile tab shows it: Pending says they have not
// set a password yet; Live that a link of theirs still works, sent at Sent, working until
// Expires.
type Invitation struct {
	Pending, Live bool
	Sent, Expires time.Time
}

// InvitationOf is u's invitation.
func (s *Service) InvitationOf(ctx context.Context, u store.User) (Invitation, error) {
	if u.PasswordHash != "" {
		return Invitation{}, nil
	}
	inv, err := s.store.UserInvitation(ctx, u.ID, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Invitation{Pending: true}, nil
	}
	return Invitation{Pending: true, Live: err == nil, Sent: inv.CreatedAt, Expires: inv.ExpiresAt}, err
}

// Resent is what ResendInvitation did: the new link, shown once for the admin to copy (only
// its keyed hash is stored), when it expires, and whether the mail to the user went.
type Resent struct {
	User    store.User
	Link    string
	Expires time.Time
	Mailed  bool
}

// ResendInvitation makes a new invitation link for a user who has not set a password yet
// (ErrNotInvited otherwise) and is active (ErrInviteInactive), and mails it to them; their
// earlier links stop working. The rule of every change to another user applies (ErrForbidden:
// only a super admin for a super admin). At most throttle.InviteResendPerUser an hour per user,
// whoever asks (ErrResendLimited). Logs user_invitation_resent. The link stands when the mail
// fails: Mailed is false and the admin can pass the link on.
func (s *Service) ResendInvitation(ctx context.Context, actor store.User, userID int64, origin store.Origin) (Resent, error) {
	token := auth.NewToken()
	var r Resent
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, userID)
		if err != nil {
			return err
		}
		switch {
		case cur.PasswordHash != "":
			return ErrNotInvited
		case !cur.Active():
			return ErrInviteInactive
		}
		perUser := throttle.InviteResendPerUser.For(throttle.UserKey(cur.ID))
		limited, err := s.limiter.LimitedTx(ctx, tx, perUser)
		if err != nil {
			return err
		}
		if limited {
			return ErrResendLimited
		}
		if err := s.limiter.Fail(ctx, tx, perUser); err != nil {
			return err
		}
		now := s.now()
		if err := tx.DeleteUserInvitations(ctx, cur.ID); err != nil {
			return err
		}
		r = Resent{User: cur, Link: s.link("/invite/" + token), Expires: now.Add(InviteTTL)}
		err = tx.CreateInvitation(ctx, store.Invitation{
			TokenHash: s.keys.HashToken("invite", token), UserID: cur.ID, CreatedBy: actor.ID, ExpiresAt: r.Expires, CreatedAt: now,
		})
		if err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserInvitationResent, ptr(actor.ID), ptr(cur.ID),
			map[string]any{"expires_at": r.Expires.UTC().Format(time.RFC3339)}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	mctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := s.send(mctx, s.invitationMail(r.User, actor, token)); err != nil {
		s.log.Warn("invitation email not sent", "user_id", r.User.ID, "err", err)
		return r, nil
	}
	r.Mailed = true
	return r, nil
}
