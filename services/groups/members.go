package groups

// Membership: admins add a user to a group (by address on the group's page, or by choosing the
// group on the user's Groups tab) and remove them.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weftid/weftid/store"
)

// AddMemberByEmail adds the user with that address to group groupID and logs
// group_member_added. Problems: no address, no such user, a member already; ErrNotFound: no
// such group.
func (s *Service) AddMemberByEmail(ctx context.Context, adminID int64, from store.Origin, groupID int64, email string) (store.User, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return store.User{}, Problems{"Enter the email address of the user to add."}
	}
	u, err := s.st.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return u, Problems{fmt.Sprintf("No user has the address %s. Add them under Users first.", store.NormalizeEmail(email))}
	}
	if err != nil {
		return u, err
	}
	return u, s.AddMember(ctx, adminID, from, groupID, u.ID)
}

// AddMember adds user userID to group groupID and logs group_member_added (the user its
// subject). Problems: a member already; ErrNotFound: no such group or user.
func (s *Service) AddMember(ctx context.Context, adminID int64, from store.Origin, groupID, userID int64) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		g, u, err := groupAndUser(ctx, tx, groupID, userID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.AddGroupMember(ctx, g.ID, u.ID, now); errors.Is(err, store.ErrConflict) {
			return Problems{fmt.Sprintf("%s is a member of %s already.", u.Email, g.Name)}
		} else if err != nil {
			return err
		}
		return tx.AddEvent(ctx, from.Event(now, store.EventGroupMemberAdded, ptr(adminID), ptr(u.ID), groupDetails(g)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// RemoveMember ends user userID's membership of group groupID and logs group_member_removed.
// Their next sign-in to an application that only this group opened to them is refused.
// ErrNotFound: no such group or user, or not a member.
func (s *Service) RemoveMember(ctx context.Context, adminID int64, from store.Origin, groupID, userID int64) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		g, u, err := groupAndUser(ctx, tx, groupID, userID)
		if err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, g.ID, u.ID); err != nil {
			return err
		}
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventGroupMemberRemoved, ptr(adminID), ptr(u.ID), groupDetails(g)))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// groupAndUser reads both inside the transaction of a membership change (store.ErrNotFound
// when either is gone).
func groupAndUser(ctx context.Context, tx *store.Tx, groupID, userID int64) (store.Group, store.User, error) {
	g, err := tx.GroupByID(ctx, groupID)
	if err != nil {
		return g, store.User{}, err
	}
	u, err := tx.UserByID(ctx, userID)
	return g, u, err
}

// UserGroups is a user's Groups tab: the groups they are in, and the others they can be added to.
type UserGroups struct {
	Member []store.Group
	Others []store.Group
}

// OfUser returns the groups user userID is in and the others, each by name.
func (s *Service) OfUser(ctx context.Context, userID int64) (UserGroups, error) {
	all, err := s.st.ListGroups(ctx)
	if err != nil {
		return UserGroups{}, err
	}
	mine, err := s.st.GroupsOfUser(ctx, userID)
	if err != nil {
		return UserGroups{}, err
	}
	in := map[int64]bool{}
	for _, g := range mine {
		in[g.ID] = true
	}
	ug := UserGroups{Member: mine}
	for _, g := range all {
		if !in[g.ID] {
			ug.Others = append(ug.Others, g)
		}
	}
	return ug, nil
}
