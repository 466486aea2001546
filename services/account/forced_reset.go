package account

import (
	"context"
	"encoding/hex"
	"encoding/json"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// pendingPassword is a forced reset's new password while its sign-in is not finished: what to
// store, and the hash it replaces (if the password changed meanwhile, it is not stored).
type pendingPassword struct {
	newPassword
	Replaces string
}

// pendingPasswordContext binds a sealed pending password to its sign-in.
func pendingPasswordContext(signInHash []byte) string {
	return "pending_password:" + hex.EncodeToString(signInHash)
}

// ChooseForcedResetPassword is the "Password Reset Required" step of a flagged user's sign-in:
// the new password must meet the current rule and differ from the current one (Problems). It
// returns the password sealed to the sign-in si, to keep on it: only a sign-in that passes its
// second factor stores it (CompleteForcedResetTx), so whoever knows only the old password, the
// reason for the reset, cannot set a new one.
func (s *Service) ChooseForcedResetPassword(ctx context.Context, si store.SignIn, u store.User, next, confirm string) ([]byte, error) {
	policy, err := s.Policy(ctx)
	if err != nil {
		return nil, err
	}
	pw, err := s.prepare(ctx, policy, choice{next: next, confirm: confirm, subject: Subject(u), words: changing, notHash: u.PasswordHash})
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(pendingPassword{newPassword: pw, Replaces: u.PasswordHash})
	if err != nil {
		return nil, err
	}
	return s.keys.Seal(plain, pendingPasswordContext(si.IDHash))
}

// CompleteForcedResetTx, inside the transaction that finishes the sign-in si of u, stores the
// new password its forced reset chose (si.PendingPassword, from ChooseForcedResetPassword),
// through the one password step: the flag clears, the user's other sessions, sign-ins and
// reset links end, and password_reset_completed is logged. ErrPasswordChangedMeanwhile when a
// reset link set another password since the sign-in began: it must start again.
func (s *Service) CompleteForcedResetTx(ctx context.Context, tx *store.Tx, si store.SignIn, u store.User, origin store.Origin) error {
	plain, err := s.keys.Open(si.PendingPassword, pendingPasswordContext(si.IDHash))
	if err != nil {
		return err
	}
	var pp pendingPassword
	if err := json.Unmarshal(plain, &pp); err != nil {
		return err
	}
	cur, err := tx.UserForUpdate(ctx, u.ID) // the password it replaces stays until this commits
	if err != nil {
		return err
	}
	if cur.PasswordHash != pp.Replaces {
		return ErrPasswordChangedMeanwhile
	}
	// The session of this sign-in is created after this, in the same transaction: none is kept.
	return s.setPasswordTx(ctx, tx, u.ID, pp.newPassword, change{event: store.EventPasswordResetCompleted, actor: ptr(u.ID), origin: origin})
}

// ForcePasswordReset is Danger > Force Password Reset: admins, and for a super admin only a
// super admin; not on yourself (ErrForbidden), and only for a user who has a password
// (ErrNoPassword). The user is flagged, password_reset_forced is logged and their OAuth2
// tokens are revoked at once. Their browser sessions end at their next page request, and their
// next sign-in asks for a new password right after the current one (auth.NextStep).
func (s *Service) ForcePasswordReset(ctx context.Context, actor store.User, userID int64, origin store.Origin) error {
	if actor.ID == userID {
		return ErrForbidden
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, userID)
		if err != nil {
			return err
		}
		if cur.PasswordHash == "" {
			return ErrNoPassword
		}
		if cur.PasswordResetRequired {
			return nil // flagged already: nothing changes, nothing to log
		}
		return s.forceResetTx(ctx, tx, cur.ID, ptr(actor.ID), origin, nil)
	})
}

// RequireResetForWeaker is the Passwords page's "Require a reset for these users": every user
// whose password was set under a weaker rule than the current one is flagged, each with its own
// password_reset_forced (and token revocation), in one transaction. It returns how many.
func (s *Service) RequireResetForWeaker(ctx context.Context, actor store.User, origin store.Origin) (int, error) {
	n := 0
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		st, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		ids, err := tx.WeakerPasswordUsers(ctx, CurrentRule(st))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.forceResetTx(ctx, tx, id, ptr(actor.ID), origin, map[string]any{"reason": "password_policy"}); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// forceResetTx flags a user for a forced password reset inside tx, logs password_reset_forced
// (details say why) and revokes their OAuth2 tokens (docs/passwords.md).
func (s *Service) forceResetTx(ctx context.Context, tx *store.Tx, userID int64, actor *int64, origin store.Origin, details map[string]any) error {
	now := s.now()
	if err := tx.RequirePasswordReset(ctx, userID, now); err != nil {
		return err
	}
	if err := tx.AddEvent(ctx, origin.Event(now, store.EventPasswordResetForced, actor, ptr(userID), details)); err != nil {
		return err
	}
	return s.revokeTokensTx(ctx, tx, origin.Event(now, store.EventOAuth2UserTokensRevoked, actor, ptr(userID), map[string]any{"reason": "password_reset_forced"}))
}

// CurrentRule is the password rule in force, as the store compares it with the rule each
// password was set under.
func CurrentRule(st store.Settings) store.Rule {
	p := policyOf(st)
	return store.Rule{
		Length:           p.MinLengthFor(auth.PasswordSubject{}),
		SuperAdminLength: p.MinLengthFor(auth.PasswordSubject{SuperAdmin: true}),
		Score:            p.ScoreFloor(),
	}
}

// WeakerPasswords counts the users whose password was set under a weaker rule than st's.
func (s *Service) WeakerPasswords(ctx context.Context, st store.Settings) (int, error) {
	return s.store.CountWeakerPasswords(ctx, CurrentRule(st))
}
