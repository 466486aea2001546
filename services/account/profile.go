package account

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// The refusals of a name.
const (
	// MsgInvalidName refuses a name that is empty or too long.
	MsgInvalidName = "Enter a name of at most 200 characters."
	// MsgNameText refuses a name with control characters (NUL, tab, line breaks, C0 and C1) or
	// text-direction characters: names go on into pages, events, mail and tokens (auth.PlainText).
	MsgNameText = auth.MsgNameNotPlain
)

// ProfileChange is what UpdateProfile did.
type ProfileChange struct {
	User store.User // the user as they are now
	// EmailChanged: the address changed, so the user was signed out everywhere and both
	// addresses are being told.
	EmailChanged bool
	// InvitationVoided: the user had not set a password yet and their invitation link, sent to
	// the old address, stopped working: the admin sends a new one.
	InvitationVoided bool
}

// UpdateProfile is the Profile tab's form (admins): a user's name and email address. The same
// rule as every change to another user: admins, and for a super admin only a super admin
// (ErrForbidden), not yourself (ErrForbidden: your name is under Account > Profile, and your
// address is for another admin to change, so that a stolen session cannot move your account
// to an address that then gets its reset link). Problems lists what is wrong with the fields;
// an address another user has is ErrEmailTaken (also Problems{MsgEmailTaken}).
//
// A new address ends every session and sign-in in progress of the user, voids their reset links
// and invitation links (they went to the old address), and, after the commit, mails the old
// address and the new one. user_updated records the old and new values of what changed;
// nothing is written when nothing changed.
func (s *Service) UpdateProfile(ctx context.Context, actor store.User, userID int64, name, email string, origin store.Origin) (ProfileChange, error) {
	name, email = strings.TrimSpace(name), store.NormalizeEmail(email)
	if actor.ID == userID {
		return ProfileChange{}, ErrForbidden
	}
	if p := profileProblems(name, email); len(p) > 0 {
		return ProfileChange{}, p
	}
	var ch ProfileChange
	var oldEmail string
	now := s.now()
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, userID)
		if err != nil {
			return err
		}
		ch.User, oldEmail = cur, cur.Email
		if cur.Name == name && cur.Email == email {
			return nil // nothing changed, nothing to log
		}
		if err := tx.SetUserProfile(ctx, cur.ID, name, email, now); err != nil {
			return err
		}
		ch.User.Name, ch.User.Email = name, email
		details := changedValues(cur, name, email)
		if ch.EmailChanged = cur.Email != email; ch.EmailChanged {
			ended, err := endSessionsTx(ctx, tx, cur.ID, nil)
			if err != nil {
				return err
			}
			if err := tx.DeletePasswordResets(ctx, cur.ID); err != nil {
				return err
			}
			if _, err := tx.UserInvitation(ctx, cur.ID, now); err == nil {
				ch.InvitationVoided = true
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := tx.DeleteUserInvitations(ctx, cur.ID); err != nil {
				return err
			}
			details["sessions_ended"] = ended
			details["invitation_voided"] = ch.InvitationVoided
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserUpdated, ptr(actor.ID), ptr(cur.ID), details))
	})
	if errors.Is(err, store.ErrConflict) {
		return ProfileChange{}, errors.Join(ErrEmailTaken, Problems{MsgEmailTaken})
	}
	if err != nil {
		return ProfileChange{}, err
	}
	if ch.EmailChanged {
		toOld, toNew := s.emailChangedMails(ch.User, oldEmail, actor, now, origin)
		s.mailLater("email changed (old address)", ch.User.ID, toOld)
		s.mailLater("email changed (new address)", ch.User.ID, toNew)
	}
	return ch, nil
}

// UpdateOwnName is Account > Profile: the signed-in user renames themselves (Problems when the
// name is empty, too long or not plain text). Logs user_updated with the old and new name; nothing when it is
// the same. It returns the user as they are now.
func (s *Service) UpdateOwnName(ctx context.Context, u store.User, name string, origin store.Origin) (store.User, error) {
	name = strings.TrimSpace(name)
	if msg := nameProblem(name); msg != "" {
		return u, Problems{msg}
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.UserForUpdate(ctx, u.ID) // the old name logged is the one replaced
		if err != nil || cur.Name == name {
			return err
		}
		now := s.now()
		if err := tx.SetUserProfile(ctx, cur.ID, name, cur.Email, now); err != nil {
			return err
		}
		u = cur
		u.Name = name
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserUpdated, ptr(cur.ID), ptr(cur.ID), changedValues(cur, name, cur.Email)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return u, ErrNotFound
	}
	return u, err
}

// changedValues are the details of user_updated: the old and the new value of each field that
// changes.
func changedValues(cur store.User, name, email string) map[string]any {
	old, now := map[string]string{}, map[string]string{}
	if cur.Name != name {
		old["name"], now["name"] = cur.Name, name
	}
	if cur.Email != email {
		old["email"], now["email"] = cur.Email, email
	}
	return map[string]any{"old": old, "new": now}
}

// nameProblem says what is wrong with a (trimmed) name, "" when nothing is: it is not empty,
// at most 200 characters, and plain text (auth.PlainText).
func nameProblem(name string) string {
	switch {
	case name == "" || utf8.RuneCountInString(name) > 200:
		return MsgInvalidName
	case !auth.PlainText(name):
		return MsgNameText
	}
	return ""
}

// profileProblems checks a name and an address (normalized), in words.
func profileProblems(name, email string) Problems {
	var p Problems
	if msg := nameProblem(name); msg != "" {
		p = append(p, msg)
	}
	if !validEmail(email) {
		p = append(p, MsgInvalidEmail)
	}
	return p
}
