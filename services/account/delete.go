package account

import (
	"context"
	"errors"
	"strings"

	"github.com/weftid/weftid/store"
)

// The refusals of deleting a user.
var (
	ErrDeleteSelf = Refusal{"User not deleted",
		"You cannot delete your own account. Ask another super admin to do it."}
	ErrLastSuperAdminDelete = Refusal{"User not deleted",
		"This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."}
)

// MsgConfirmEmail refuses a deletion whose typed address is not the user's.
const MsgConfirmEmail = "Type the user's email address exactly to confirm: what you typed is not it."

// DeleteUser is Danger > Delete user: super admins only (ErrForbidden), not themselves
// (ErrDeleteSelf), never the last active super admin (ErrLastSuperAdminDelete), and only when
// confirmEmail is the user's address, ignoring case and surrounding spaces (Problems
// {MsgConfirmEmail}). In one transaction their OAuth2 tokens and codes are revoked
// (oauth2_user_tokens_revoked), who they were is kept for the event log (store.DeletedUser),
// and the user is deleted with everything that is theirs: sessions, sign-ins in progress, TOTP,
// backup codes, passkeys, devices, reset and invitation links, group memberships. Their events
// stay; user_deleted records their address, name and role and what went with them. It returns
// the user as they were.
func (s *Service) DeleteUser(ctx context.Context, actor store.User, userID int64, confirmEmail string, origin store.Origin) (store.User, error) {
	if actor.Role != store.RoleSuperAdmin {
		return store.User{}, ErrForbidden
	}
	if actor.ID == userID {
		return store.User{}, ErrDeleteSelf
	}
	var gone store.User
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.UserForUpdate(ctx, userID) // no other instance changes or deletes them meanwhile
		if err != nil {
			return err
		}
		gone = cur
		if store.NormalizeEmail(confirmEmail) != strings.ToLower(cur.Email) {
			return Problems{MsgConfirmEmail}
		}
		last, err := wouldLoseLastSuperAdmin(ctx, tx, cur)
		if err != nil {
			return err
		}
		if last {
			return ErrLastSuperAdminDelete
		}
		f, err := tx.UserFootprint(ctx, cur.ID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.revokeTokensTx(ctx, tx, origin.Event(now, store.EventOAuth2UserTokensRevoked, ptr(actor.ID), ptr(cur.ID), map[string]any{"reason": "user_deleted"})); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, cur, actor.ID, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserDeleted, ptr(actor.ID), ptr(cur.ID), map[string]any{
			"email": cur.Email, "name": cur.Name, "role": string(cur.Role), "status": string(cur.Status),
			"sessions": f.Sessions, "signins": f.SignIns, "totp": f.TOTP, "backup_codes": f.BackupCodes,
			"passkeys": f.Passkeys, "devices": f.Devices,
		}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return gone, ErrNotFound
	}
	return gone, err
}
