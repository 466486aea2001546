package groups

// The applications of every kind, as the access pages list them: a user's Apps tab, a group's
// page, and the "Who may sign in" part of an application's form.

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/weftid/weftid/store"
)

// apps lists every registered application, of every kind, by name. A new kind of application
// (proxied apps) adds its list here.
func (s *Service) apps(ctx context.Context) ([]App, error) {
	clients, err := s.st.ListOAuthClients(ctx)
	if err != nil {
		return nil, err
	}
	sps, err := s.st.SAMLServiceProviders(ctx)
	if err != nil {
		return nil, err
	}
	proxied, err := s.st.ProxyApps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]App, 0, len(clients)+len(sps)+len(proxied))
	for _, c := range clients {
		out = append(out, App{AppRef: store.AppRef{Kind: store.AppOIDC, ID: c.ClientID}, Name: c.Name})
	}
	for _, sp := range sps {
		out = append(out, App{AppRef: SAMLApp(sp.ID), Name: sp.Name})
	}
	for _, a := range proxied {
		out = append(out, App{AppRef: ProxyApp(a.ID), Name: a.Name})
	}
	slices.SortStableFunc(out, func(a, b App) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out, nil
}

// SAMLApp names SAML service provider id for the access check.
func SAMLApp(id int64) store.AppRef {
	return store.AppRef{Kind: store.AppSAML, ID: strconv.FormatInt(id, 10)}
}

// ProxyApp names proxied application id for the access check.
func ProxyApp(id int64) store.AppRef {
	return store.AppRef{Kind: store.AppProxy, ID: strconv.FormatInt(id, 10)}
}

// appsOfGroup lists the applications whose access lists name group groupID, by name.
func (s *Service) appsOfGroup(ctx context.Context, groupID int64) ([]App, error) {
	refs, err := restrictedTo(ctx, s.st, groupID)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	all, err := s.apps(ctx)
	if err != nil {
		return nil, err
	}
	var out []App
	for _, a := range all {
		if slices.Contains(refs, a.AppRef) {
			out = append(out, a)
		}
	}
	return out, nil
}

// UserApp is one line of a user's Apps tab: an application, whether they may open it and why,
// and for a restricted one the groups it lets in (none: nobody may).
type UserApp struct {
	App     App
	Allowed bool
	Reason  Reason
	Groups  []store.Group
}

// UserApps lists every application with whether user userID may open it and why, by name.
func (s *Service) UserApps(ctx context.Context, userID int64) ([]UserApp, error) {
	o, err := s.OpensFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	apps, err := s.apps(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.st.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]UserApp, 0, len(apps))
	for _, a := range apps {
		line := UserApp{App: a}
		line.Allowed, line.Reason = o.May(a.AppRef)
		for _, g := range all {
			if slices.Contains(o.restricted[a.AppRef].GroupIDs, g.ID) {
				line.Groups = append(line.Groups, g)
			}
		}
		out = append(out, line)
	}
	return out, nil
}

// AccessForm is the "Who may sign in" part of an application's form: the setting saved for the
// application, and every group to choose from.
type AccessForm struct {
	Setting Setting
	Groups  []store.Group
}

// AccessForm returns app's saved setting (an app with no id yet: everyone) and every group.
func (s *Service) AccessForm(ctx context.Context, app store.AppRef) (AccessForm, error) {
	f := AccessForm{Setting: Setting{Access: AccessEveryone}}
	var err error
	if f.Groups, err = s.st.ListGroups(ctx); err != nil {
		return f, err
	}
	if app.ID == "" {
		return f, nil
	}
	a, err := s.st.AppAccessOf(ctx, app)
	if err != nil {
		return f, err
	}
	if a.Restricted {
		f.Setting = Setting{Access: AccessGroups, GroupIDs: a.GroupIDs}
	}
	return f, nil
}
