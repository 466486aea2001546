package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weftid/weftid/mail"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
)

// AllRoles are the roles, highest first.
var AllRoles = []store.Role{store.RoleSuperAdmin, store.RoleAdmin, store.RoleUser}

// GrantableRoles are the roles actor may give: only a super admin makes super admins.
func GrantableRoles(actor store.User) []store.Role {
	if actor.Role == store.RoleSuperAdmin {
		return AllRoles
	}
	return []store.Role{store.RoleAdmin, store.RoleUser}
}

// MayManage reports whether actor may change target's role, status or factors: admins manage
// users and admins, only super admins manage super admins.
func MayManage(actor, target store.User) bool {
	return target.Role != store.RoleSuperAdmin || actor.Role == store.RoleSuperAdmin
}

// RolesFor are the roles actor may set on target: none when actor may not change target at all,
// and none on themselves (ErrRoleSelf).
func RolesFor(actor, target store.User) []store.Role {
	if !MayManage(actor, target) || actor.ID == target.ID {
		return nil
	}
	return GrantableRoles(actor)
}

// The refusals of lifecycle changes.
var (
	ErrLastSuperAdminRole = Refusal{"Role not changed",
		"This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."}
	ErrLastSuperAdminStatus = Refusal{"User not deactivated",
		"This is the last active super admin. Make another user a super admin first, so that someone can still change every setting."}
	ErrDeactivateSelf = Refusal{"User not deactivated",
		"You cannot deactivate your own account. Ask another admin to do it."}
	ErrReactivateSelf = Refusal{"User not reactivated",
		"You cannot reactivate your own account. Ask another admin to do it."}
	ErrRoleSelf = Refusal{"Role not changed",
		"You cannot change your own role. Ask another admin to do it."}
)

// User is the user with that id, or ErrNotFound.
func (s *Service) User(ctx context.Context, id int64) (store.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, ErrNotFound
	}
	return u, err
}

// stillManaged reads the user inside the transaction of a change and checks MayManage against
// them as they are now (another admin may have made them a super admin meanwhile).
func stillManaged(ctx context.Context, tx *store.Tx, actor store.User, userID int64) (store.User, error) {
	cur, err := tx.UserForUpdate(ctx, userID) // and no other instance changes them until the change is done
	if errors.Is(err, store.ErrNotFound) {
		return cur, ErrNotFound
	}
	if err != nil {
		return cur, err
	}
	if !MayManage(actor, cur) {
		return cur, ErrForbidden
	}
	return cur, nil
}

// managedOther is stillManaged for a change to someone else's factors or sessions: your own
// change under Account, which asks for your password or a code first, so a stolen admin session
// must not clear them without it.
func managedOther(ctx context.Context, tx *store.Tx, actor store.User, userID int64) (store.User, error) {
	if actor.ID == userID {
		return store.User{}, ErrForbidden
	}
	return stillManaged(ctx, tx, actor, userID)
}

// wouldLoseLastSuperAdmin reports whether taking away target's super admin role or active status
// would leave nobody active with it. Call it in the transaction of the change.
func wouldLoseLastSuperAdmin(ctx context.Context, tx *store.Tx, target store.User) (bool, error) {
	if target.Role != store.RoleSuperAdmin || !target.Active() {
		return false, nil
	}
	n, err := tx.CountActiveSuperAdmins(ctx)
	return n <= 1, err
}

// revokeTokensTx revokes the OAuth2 tokens of ev.UserID through the provider's one way.
func (s *Service) revokeTokensTx(ctx context.Context, tx *store.Tx, ev store.Event) error {
	return oidc.RevokeUserTokens(ctx, tx, ev)
}

// ChangeRole changes a user's role (admins; super admin only by super admins: ErrForbidden).
// Nobody changes their own role (ErrRoleSelf: as with every change to a user, another admin
// does it) or takes the role from the last active super admin (ErrLastSuperAdminRole). Logs
// user_role_changed with old and new; nothing when the role is the same.
func (s *Service) ChangeRole(ctx context.Context, actor store.User, userID int64, role store.Role, origin store.Origin) error {
	if userID == actor.ID {
		return ErrRoleSelf
	}
	if !slices.Contains(GrantableRoles(actor), role) {
		return ErrForbidden
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, userID)
		if err != nil || cur.Role == role {
			return err // nothing changed, nothing to log
		}
		if role != store.RoleSuperAdmin {
			last, err := wouldLoseLastSuperAdmin(ctx, tx, cur)
			if err != nil {
				return err
			}
			if last {
				return ErrLastSuperAdminRole
			}
		}
		now := s.now()
		if err := tx.SetUserRole(ctx, cur.ID, role, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, origin.Event(now, store.EventUserRoleChanged, ptr(actor.ID), ptr(cur.ID), map[string]any{"old": string(cur.Role), "new": string(role)}))
	})
}

// SetStatus deactivates or reactivates a user (admins; super admins only by super admins).
// Deactivating stops them signing in and, in the same transaction, ends their sessions and
// sign-ins, forgets their devices, deletes their reset links and revokes their OAuth2 tokens;
// nobody can deactivate or reactivate themselves (ErrDeactivateSelf, ErrReactivateSelf) or
// deactivate the last active super admin (ErrLastSuperAdminStatus).
func (s *Service) SetStatus(ctx context.Context, actor store.User, userID int64, status store.Status, origin store.Origin) error {
	if userID == actor.ID {
		if status == store.StatusInactive {
			return ErrDeactivateSelf
		}
		return ErrReactivateSelf
	}
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, userID)
		if err != nil || cur.Status == status {
			return err // nothing changed, nothing to log
		}
		now := s.now()
		if status == store.StatusActive {
			if err := tx.SetUserStatus(ctx, cur.ID, status, now); err != nil {
				return err
			}
			return tx.AddEvent(ctx, origin.Event(now, store.EventUserReactivated, ptr(actor.ID), ptr(cur.ID), nil))
		}
		last, err := wouldLoseLastSuperAdmin(ctx, tx, cur)
		if err != nil {
			return err
		}
		if last {
			return ErrLastSuperAdminStatus
		}
		return deactivateTx(ctx, tx, cur, ptr(actor.ID), origin, now, nil)
	})
}

// SignOutEverywhere ends every browser session and sign-in in progress of a user, forgets
// their devices (no browser stays trusted) and revokes all of their OAuth2 tokens, at once.
// Same rule as resetting two-step verification: admins, and for a super admin only a super
// admin; not on yourself.
func (s *Service) SignOutEverywhere(ctx context.Context, actor store.User, userID int64, origin store.Origin) error {
	return s.adminChange(ctx, actor, userID, origin, store.EventUserSignedOutEverywhere, func(tx *store.Tx, cur store.User) (map[string]any, error) {
		sessions, err := endSessionsTx(ctx, tx, cur.ID, nil)
		if err != nil {
			return nil, err
		}
		devices, err := forgetDevicesTx(ctx, tx, cur.ID)
		return map[string]any{"sessions": sessions, "devices": devices}, err
	}, func(tx *store.Tx, cur store.User, now time.Time) error {
		return s.revokeTokensTx(ctx, tx, origin.Event(now, store.EventOAuth2UserTokensRevoked, ptr(actor.ID), ptr(cur.ID), map[string]any{"reason": "sign_out_everywhere"}))
	})
}

// adminChange runs an admin's change to another user's factors or sessions in one
// transaction: the rules (managedOther), the change (which returns its event's details), the
// event of type typ, then after, if any.
func (s *Service) adminChange(ctx context.Context, actor store.User, userID int64, origin store.Origin, typ store.EventType,
	change func(tx *store.Tx, cur store.User) (map[string]any, error), after func(tx *store.Tx, cur store.User, now time.Time) error) error {
	return s.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := managedOther(ctx, tx, actor, userID)
		if err != nil {
			return err
		}
		details, err := change(tx, cur)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.AddEvent(ctx, origin.Event(now, typ, ptr(actor.ID), ptr(cur.ID), details)); err != nil {
			return err
		}
		if after == nil {
			return nil
		}
		return after(tx, cur, now)
	})
}

// ErrNoMFA refuses to reset the two-step verification of a user who has no TOTP and no backup
// codes: there is nothing to reset, so nothing is logged and no mail says it was.
var ErrNoMFA = Refusal{"Two-step verification not reset",
	"This user has no authenticator app and no backup codes, so there is nothing to reset. Passkeys are revoked one by one on the Profile tab."}

// ResetMFA clears a user's TOTP secret and backup codes (not their passkeys), ends their
// sessions and sign-ins, logs mfa_reset_by_admin and then tells the user by email; ErrNoMFA
// when they have neither. The reset stands when the mail fails: mailed is false and the admin
// should tell them.
func (s *Service) ResetMFA(ctx context.Context, actor store.User, userID int64, origin store.Origin) (mailed bool, err error) {
	var u store.User
	err = s.adminChange(ctx, actor, userID, origin, store.EventMFAResetByAdmin, func(tx *store.Tx, cur store.User) (map[string]any, error) {
		u = cur
		backup, err := tx.CountBackupCodes(ctx, cur.ID)
		if err != nil {
			return nil, err
		}
		hadTOTP, err := tx.DeleteTOTP(ctx, cur.ID)
		if err != nil {
			return nil, err
		}
		if !hadTOTP && backup == 0 {
			return nil, ErrNoMFA // the transaction rolls back: nothing changed
		}
		if _, err := endSessionsTx(ctx, tx, cur.ID, nil); err != nil {
			return nil, err
		}
		return map[string]any{"totp": hadTOTP, "backup_codes": backup}, nil
	}, nil)
	if err != nil {
		return false, err
	}
	mctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := s.send(mctx, mfaResetMail(u, actor)); err != nil {
		s.log.Warn("mfa reset email not sent", "user_id", u.ID, "err", err)
		return false, nil
	}
	return true, nil
}

// mfaResetMail tells a user that an admin reset their two-step verification.
func mfaResetMail(u, admin store.User) mail.Message {
	intro := fmt.Sprintf("Hello %s,\n\n"+
		"Your two-step verification for weftid (%s) was reset by an administrator, %s (%s). "+
		"Your authenticator app and your backup codes no longer work; passkeys you registered still do.\n\n"+
		"At your next sign-in you may be asked to set up TOTP or a passkey again.\n\n"+
		"If you did not ask for this, contact them.",
		displayName(u), u.Email, displayName(admin), admin.Email)
	return mail.Generic(u.Email, "Your two-step verification was reset", intro, "", "")
}

// RevokePasskey deletes one of a user's passkeys at once (ErrNotFound when it is not theirs);
// the others and TOTP stay. A revoked passkey is a lost laptop or phone, so whoever holds it
// may be signed in: the user's sessions and sign-ins end. Logs passkey_revoked, by the admin.
func (s *Service) RevokePasskey(ctx context.Context, actor store.User, userID, passkeyID int64, origin store.Origin) error {
	var u store.User
	var p store.Passkey
	err := s.adminChange(ctx, actor, userID, origin, store.EventPasskeyRevoked, func(tx *store.Tx, cur store.User) (map[string]any, error) {
		var err error
		if p, err = tx.DeletePasskey(ctx, cur.ID, passkeyID); err != nil {
			return nil, err
		}
		u = cur
		if _, err := endSessionsTx(ctx, tx, cur.ID, nil); err != nil {
			return nil, err
		}
		return map[string]any{"passkey_id": p.ID, "name": p.Name, "by": "admin"}, nil
	}, nil)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err == nil {
		s.Notify(Notice{Kind: NoticePasskeyRemoved, User: u, At: s.now(), Origin: origin, By: &actor, Detail: p.Name})
	}
	return err
}
