package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/oidc"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// forceReset flags a user for a forced password reset inside tx, logs password_reset_forced
// and revokes their OAuth2 tokens at once (docs/passwords.md). Their browser sessions end on
// their next page request (loadSession), and their next sign-in asks for a new password right
// after the current one (auth.NextStep). forced and revoked are the two events, built by the
// caller with its actor; details say why.
func forceReset(ctx context.Context, tx *store.Tx, userID int64, forced, revoked store.Event) error {
	if err := tx.RequirePasswordReset(ctx, userID, forced.At); err != nil {
		return err
	}
	if err := tx.AddEvent(ctx, forced); err != nil {
		return err
	}
	return oidc.RevokeUserTokens(ctx, tx, revoked)
}

// forcePasswordReset is Danger > Force Password Reset: admins, and for a super admin only a
// super admin; not on yourself, and only for a user who has a password.
func (h *Handler) forcePasswordReset(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor, u, err := h.managedUser(c)
	if err != nil {
		return err
	}
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		cur, err := stillManaged(ctx, tx, actor, u.ID)
		if err != nil {
			return err
		}
		if cur.PasswordHash == "" {
			return errNoPassword
		}
		if cur.PasswordResetRequired {
			return nil // flagged already: nothing changes, nothing to log
		}
		reason := map[string]any{"reason": "password_reset_forced"}
		return forceReset(ctx, tx, u.ID,
			h.event(c, store.EventPasswordResetForced, ptr(actor.ID), ptr(u.ID), nil),
			h.event(c, store.EventOAuth2UserTokensRevoked, ptr(actor.ID), ptr(u.ID), reason))
	})
	if errors.Is(err, errNoPassword) {
		return render(c, fiber.StatusConflict, views.UserActionRefusedPage(h.pageBase(c, "Force Password Reset", "users"), u.ID,
			views.DisplayName(u)+" has no password yet, so there is nothing to reset."))
	}
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/users/%d/danger?notice=password_reset_forced", u.ID))
}

// errNoPassword refuses a forced reset of a user who has no password.
var errNoPassword = errors.New("the user has no password")

// requireResetForWeaker is the Passwords page's "Require a reset for these users": every user
// whose password was set under a weaker rule than the current one is flagged, each with its
// own password_reset_forced (and token revocation), in one transaction.
func (h *Handler) requireResetForWeaker(c *fiber.Ctx) error {
	ctx := c.UserContext()
	actor := currentUser(c)
	n := 0
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		ids, err := weakerPasswordUsers(ctx, tx)
		if err != nil {
			return err
		}
		details := map[string]any{"reason": "password_policy"}
		for _, id := range ids {
			err := forceReset(ctx, tx, id,
				h.event(c, store.EventPasswordResetForced, ptr(actor.ID), ptr(id), details),
				h.event(c, store.EventOAuth2UserTokensRevoked, ptr(actor.ID), ptr(id), map[string]any{"reason": "password_reset_forced"}))
			if err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return err
	}
	return redirect(c, fmt.Sprintf("/settings/security/passwords?notice=resets_required&n=%d", n))
}

// currentRule is the password rule in force, as the store compares it with the rule each
// password was set under.
func currentRule(s store.Settings) store.Rule {
	p := auth.PasswordPolicy{MinLength: s.MinimumPasswordLength, MinScore: s.MinimumStrengthScore}
	return store.Rule{
		Length:           p.MinLengthFor(auth.PasswordSubject{}),
		SuperAdminLength: p.MinLengthFor(auth.PasswordSubject{SuperAdmin: true}),
		Score:            p.ScoreFloor(),
	}
}

func weakerPasswordUsers(ctx context.Context, tx *store.Tx) ([]int64, error) {
	s, err := tx.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return tx.WeakerPasswordUsers(ctx, currentRule(s))
}
