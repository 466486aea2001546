package saml

// Who may sign in to a service provider (services/groups keeps the rule), and the groups
// attribute.

import (
	"context"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// admit is the access check of Issue, at every assertion (SP- and IdP-initiated): a user outside
// the service provider's groups gets a *groups.Denied and no assertion.
func (s *Service) admit(ctx context.Context, sp store.SAMLServiceProvider, who SignedIn, from store.Origin) error {
	if s.access == nil {
		return nil
	}
	return s.access.Admit(ctx, who.User.ID, groups.App{AppRef: groups.SAMLApp(sp.ID), Name: sp.Name}, from)
}

// addGroups adds the multi-valued groups attribute to the session: the names of the user's
// groups, one value each; none when they are in no group.
func (s *Service) addGroups(ctx context.Context, cs *crewjam.Session, userID int64) error {
	names, err := s.store.GroupNamesOfUser(ctx, userID)
	if err != nil || len(names) == 0 {
		return err
	}
	a := crewjam.Attribute{FriendlyName: "groups", Name: "groups", NameFormat: attrFormat}
	for _, n := range names {
		a.Values = append(a.Values, crewjam.AttributeValue{Type: "xs:string", Value: n})
	}
	cs.CustomAttributes = append(cs.CustomAttributes, a)
	return nil
}
