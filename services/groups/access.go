package groups

// Who may sign in to an application: the setting its form saves, and the check at every
// sign-in.

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/weftid/weftid/store"
)

// Access is the "Who may sign in" choice of an application's form (its field `access`).
type Access string

// The two choices.
const (
	AccessEveryone Access = "everyone" // every active user (the default)
	AccessGroups   Access = "groups"   // only the members of the chosen groups
)

// Setting is who may sign in to an application, as its form says it: Access, and with
// AccessGroups the ids of the chosen groups (the form's `groups` values). An empty Access
// changes nothing (a new application lets everyone in).
type Setting struct {
	Access   Access
	GroupIDs []int64
}

// Check says what is wrong with the setting, in words for the admin (Problems), or nil.
func (st Setting) Check() error {
	switch st.Access {
	case "", AccessEveryone:
		return nil
	case AccessGroups:
		if len(st.GroupIDs) == 0 {
			return Problems{"Choose at least one group that may sign in, or let everyone sign in."}
		}
		return nil
	}
	return Problems{"Choose who may sign in: everyone, or the members of some groups."}
}

// access is the setting as the store keeps it.
func (st Setting) access(app store.AppRef) store.AppAccess {
	a := store.AppAccess{App: app, Restricted: st.Access == AccessGroups}
	if a.Restricted {
		a.GroupIDs = slices.Clone(st.GroupIDs)
		slices.Sort(a.GroupIDs)
		a.GroupIDs = slices.Compact(a.GroupIDs)
	}
	return a
}

// Save stores the setting as who may sign in to app, on the transaction of the application's
// own change (its create or update), and reports whether that changed anything. Problems: the
// setting is refused (Check), or a chosen group was deleted meanwhile.
func (st Setting) Save(ctx context.Context, tx *store.Tx, app store.AppRef, now time.Time) (changed bool, err error) {
	if err := st.Check(); err != nil || st.Access == "" {
		return false, err
	}
	old, err := tx.AppAccessOf(ctx, app)
	if err != nil {
		return false, err
	}
	a := st.access(app)
	if old.Restricted == a.Restricted && slices.Equal(old.GroupIDs, a.GroupIDs) {
		return false, nil
	}
	if err := tx.SetAppAccess(ctx, a, now); errors.Is(err, store.ErrNotFound) {
		return false, Problems{"A chosen group was deleted meanwhile. Choose the groups again."}
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// AddDetails puts the setting into the details of the application's event: access, and the
// group ids with AccessGroups. An empty setting adds nothing.
func (st Setting) AddDetails(d map[string]any) {
	if st.Access == "" {
		return
	}
	d["access"] = string(st.Access)
	if st.Access == AccessGroups {
		d["groups"] = st.access(store.AppRef{}).GroupIDs
	}
}

// Forget deletes app's access rule, on the transaction that deletes the application (a new
// application may get its id).
func Forget(ctx context.Context, tx *store.Tx, app store.AppRef) error {
	return tx.DeleteAppAccess(ctx, app)
}

// Reason says why a user may open an application: it lets everyone in, or they are in Via (the
// groups of theirs that the application lets in).
type Reason struct {
	Everyone bool
	Via      []store.Group
}

// AllowedFor reports whether user userID may sign in to the application appID of kind kind,
// and why. It reads the rule as it is now (nothing is cached), so a change to a group or to the
// application applies at the next sign-in. It does not look at the user's status: only an
// active user has a session to ask with.
func (s *Service) AllowedFor(ctx context.Context, userID int64, kind store.AppKind, appID string) (bool, Reason, error) {
	a, err := s.st.AppAccessOf(ctx, store.AppRef{Kind: kind, ID: appID})
	if err != nil {
		return false, Reason{}, err
	}
	var mine []store.Group
	if a.Restricted {
		if mine, err = s.st.GroupsOfUser(ctx, userID); err != nil {
			return false, Reason{}, err
		}
	}
	ok, r := allowed(a, mine)
	return ok, r, nil
}

// Allows is the rule on what was read already: the access rule a of an application (the zero
// AppAccess, of one that has none, lets everyone in) and the groups mine of a user. The
// forward-auth check reads both in its own queries (services/proxy).
func Allows(a store.AppAccess, mine []store.Group) bool {
	ok, _ := allowed(a, mine)
	return ok
}

// allowed is the rule: an unrestricted application lets everyone in, a restricted one the
// members of its groups.
func allowed(a store.AppAccess, mine []store.Group) (bool, Reason) {
	if !a.Restricted {
		return true, Reason{Everyone: true}
	}
	var r Reason
	for _, g := range mine {
		if slices.Contains(a.GroupIDs, g.ID) {
			r.Via = append(r.Via, g)
		}
	}
	return len(r.Via) > 0, r
}

// App is an application as the access check names it: its kind and id, and its name for people.
type App struct {
	store.AppRef
	Name string
}

// ErrAccessDenied is what a *Denied is: the user may not sign in to the application.
var ErrAccessDenied = errors.New("groups: the user may not sign in to this application")

// maxContacts bounds the admins a refused user is told to ask.
const maxContacts = 5

// Denied refuses a user an application (errors.Is(err, ErrAccessDenied)). It says which
// application, and whom to ask: a few of the active admins.
type Denied struct {
	App    App
	Admins []store.User
	// ReturnURL, when set by the application's service, takes the user back to the application
	// telling it the sign-in was refused (OpenID Connect: the redirect URI with
	// error=access_denied). Redirect: go there at once, without a page (prompt=none).
	ReturnURL string
	Redirect  bool
}

func (d *Denied) Error() string { return "groups: access to " + d.App.Name + " denied" }

// Unwrap makes a *Denied an ErrAccessDenied.
func (d *Denied) Unwrap() error { return ErrAccessDenied }

// Admit is the check at every sign-in to an application: nil when user userID may sign in to
// app; otherwise it logs app_access_denied (the user its subject and actor, the application in
// the details) and returns a *Denied, and the application must get nothing (no code, no
// assertion, no forward-auth 200).
func (s *Service) Admit(ctx context.Context, userID int64, app App, from store.Origin) error {
	ok, _, err := s.AllowedFor(ctx, userID, app.Kind, app.ID)
	if err != nil || ok {
		return err
	}
	err = s.st.AddEvent(ctx, from.Event(s.now(), store.EventAppAccessDenied, ptr(userID), ptr(userID), map[string]any{
		"app_kind": string(app.Kind), "app_id": app.ID, "app": app.Name,
	}))
	if err != nil {
		return err
	}
	admins, err := s.st.ActiveAdmins(ctx, maxContacts)
	if err != nil {
		return err
	}
	return &Denied{App: app, Admins: admins}
}

// Opens is what one user may open, read once for a list of applications (the dashboard).
type Opens struct {
	restricted map[store.AppRef]store.AppAccess
	mine       []store.Group
}

// OpensFor reads the access rules and user userID's groups in two queries.
func (s *Service) OpensFor(ctx context.Context, userID int64) (Opens, error) {
	r, err := s.st.RestrictedApps(ctx)
	if err != nil {
		return Opens{}, err
	}
	mine, err := s.st.GroupsOfUser(ctx, userID)
	return Opens{restricted: r, mine: mine}, err
}

// May reports whether the user may sign in to app, and why.
func (o Opens) May(app store.AppRef) (bool, Reason) {
	a, ok := o.restricted[app]
	if !ok {
		return true, Reason{Everyone: true}
	}
	return allowed(a, o.mine)
}

// Openable returns the items (applications of kind, each named by id) that user userID may
// sign in to: a list such as the dashboard's. With no service (s nil) there are no rules, and
// every item is kept.
func Openable[T any](ctx context.Context, s *Service, userID int64, kind store.AppKind, items []T, id func(T) string) ([]T, error) {
	if s == nil {
		return items, nil
	}
	o, err := s.OpensFor(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, it := range items {
		if ok, _ := o.May(store.AppRef{Kind: kind, ID: id(it)}); ok {
			out = append(out, it)
		}
	}
	return out, nil
}

// restrictedTo lists the applications whose access lists name group groupID.
func restrictedTo(ctx context.Context, q interface {
	RestrictedApps(context.Context) (map[store.AppRef]store.AppAccess, error)
}, groupID int64) ([]store.AppRef, error) {
	all, err := q.RestrictedApps(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.AppRef
	for ref, a := range all {
		if slices.Contains(a.GroupIDs, groupID) {
			out = append(out, ref)
		}
	}
	return out, nil
}
