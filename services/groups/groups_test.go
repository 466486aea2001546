package groups_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var from = store.Origin{IP: "192.0.2.1", UserAgent: "test"}

func newService(t *testing.T) (*groups.Service, *store.Store) {
	t.Helper()
	st := storetest.Open(t)
	return groups.New(groups.Config{Store: st, Now: func() time.Time { return now }}), st
}

func newUser(t *testing.T, st *store.Store, email string, role store.Role) store.User {
	t.Helper()
	u, err := st.CreateUser(context.Background(), store.User{Email: email, Name: email, Role: role}, now)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// events returns the events of typ, oldest first.
func events(t *testing.T, st *store.Store, typ store.EventType) []store.Event {
	t.Helper()
	evs, err := st.ListEvents(context.Background(), store.EventFilter{Type: typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(evs)
	return evs
}

func problems(err error) []string {
	var p groups.Problems
	if errors.As(err, &p) {
		return p
	}
	return nil
}

func TestCreateUpdateDeleteGroup(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	admin := newUser(t, st, "admin@example.com", store.RoleAdmin)

	for _, tc := range []struct {
		in   groups.Input
		want string
	}{
		{groups.Input{Name: "   "}, "Enter a name for the group."},
		{groups.Input{Name: string(make([]rune, 101))}, "The name can be at most 100 characters."},
	} {
		if _, err := s.Create(ctx, admin.ID, from, tc.in); !reflect.DeepEqual(problems(err), []string{tc.want}) {
			t.Errorf("Create(%q): %v, want %q", tc.in.Name, err, tc.want)
		}
	}
	ops, err := s.Create(ctx, admin.ID, from, groups.Input{Name: " Ops ", Description: " On call "})
	if err != nil || ops.Name != "Ops" || ops.Description != "On call" {
		t.Fatalf("Create = %+v, %v; want Ops, trimmed", ops, err)
	}
	if _, err := s.Create(ctx, admin.ID, from, groups.Input{Name: "OPS"}); !reflect.DeepEqual(problems(err), []string{"A group named “OPS” exists already. Choose another name."}) {
		t.Errorf("Create(OPS) after Ops: %v", err)
	}
	ev := events(t, st, store.EventGroupCreated)
	if len(ev) != 1 || ev[0].Details["name"] != "Ops" || *ev[0].ActorID != admin.ID {
		t.Errorf("group_created events: %+v", ev)
	}

	// Saving the same again writes nothing; a rename logs the old name.
	if err := s.Update(ctx, admin.ID, from, ops.ID, groups.Input{Name: "Ops", Description: "On call"}); err != nil {
		t.Fatal(err)
	}
	if n := len(events(t, st, store.EventGroupUpdated)); n != 0 {
		t.Errorf("%d group_updated events for no change, want 0", n)
	}
	if err := s.Update(ctx, admin.ID, from, ops.ID, groups.Input{Name: "Operations", Description: "On call"}); err != nil {
		t.Fatal(err)
	}
	ev = events(t, st, store.EventGroupUpdated)
	if len(ev) != 1 || ev[0].Details["previous_name"] != "Ops" || ev[0].Details["name"] != "Operations" ||
		!reflect.DeepEqual(ev[0].Details["changed"], []any{"name"}) {
		t.Errorf("group_updated events: %+v", ev)
	}
	if err := s.Update(ctx, admin.ID, from, 999, groups.Input{Name: "x"}); !errors.Is(err, groups.ErrNotFound) {
		t.Errorf("Update of a missing group: %v, want ErrNotFound", err)
	}
	if _, err := s.Create(ctx, admin.ID, from, groups.Input{Name: "Dev"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, admin.ID, from, ops.ID, groups.Input{Name: "dev"}); problems(err) == nil {
		t.Errorf("renaming to another group's name: %v, want Problems", err)
	}

	if err := s.Delete(ctx, admin.ID, from, ops.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, admin.ID, from, ops.ID); !errors.Is(err, groups.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if ev := events(t, st, store.EventGroupDeleted); len(ev) != 1 || ev[0].Details["name"] != "Operations" {
		t.Errorf("group_deleted events: %+v", ev)
	}
}

func TestMembers(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	admin := newUser(t, st, "admin@example.com", store.RoleAdmin)
	ann := newUser(t, st, "ann@example.com", store.RoleUser)
	ops, _ := s.Create(ctx, admin.ID, from, groups.Input{Name: "Ops"})
	dev, _ := s.Create(ctx, admin.ID, from, groups.Input{Name: "Dev"})

	for _, tc := range []struct{ email, want string }{
		{" ", "Enter the email address of the user to add."},
		{"Nobody@Example.com", "No user has the address nobody@example.com. Add them under Users first."},
	} {
		if _, err := s.AddMemberByEmail(ctx, admin.ID, from, ops.ID, tc.email); !reflect.DeepEqual(problems(err), []string{tc.want}) {
			t.Errorf("AddMemberByEmail(%q): %v, want %q", tc.email, err, tc.want)
		}
	}
	if u, err := s.AddMemberByEmail(ctx, admin.ID, from, ops.ID, "ANN@example.com "); err != nil || u.ID != ann.ID {
		t.Fatalf("AddMemberByEmail(ANN@example.com) = %+v, %v", u, err)
	}
	if _, err := s.AddMemberByEmail(ctx, admin.ID, from, ops.ID, "ann@example.com"); !reflect.DeepEqual(problems(err), []string{"ann@example.com is a member of Ops already."}) {
		t.Errorf("adding twice: %v", err)
	}
	if err := s.AddMember(ctx, admin.ID, from, 999, ann.ID); !errors.Is(err, groups.ErrNotFound) {
		t.Errorf("AddMember to a missing group: %v, want ErrNotFound", err)
	}
	ev := events(t, st, store.EventGroupMemberAdded)
	if len(ev) != 1 || *ev[0].UserID != ann.ID || *ev[0].ActorID != admin.ID || ev[0].Details["name"] != "Ops" {
		t.Errorf("group_member_added events: %+v", ev)
	}

	ug, err := s.OfUser(ctx, ann.ID)
	if err != nil || len(ug.Member) != 1 || ug.Member[0].ID != ops.ID || len(ug.Others) != 1 || ug.Others[0].ID != dev.ID {
		t.Errorf("OfUser = %+v, %v; want member of Ops, Dev to add", ug, err)
	}
	if err := s.RemoveMember(ctx, admin.ID, from, ops.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(ctx, admin.ID, from, ops.ID, ann.ID); !errors.Is(err, groups.ErrNotFound) {
		t.Errorf("removing twice: %v, want ErrNotFound", err)
	}
	if ev := events(t, st, store.EventGroupMemberRemoved); len(ev) != 1 || *ev[0].UserID != ann.ID {
		t.Errorf("group_member_removed events: %+v", ev)
	}
}

// restrict makes app let in only groupIDs, as an application's service does in its transaction.
func restrict(t *testing.T, st *store.Store, app store.AppRef, set groups.Setting) (bool, error) {
	t.Helper()
	var changed bool
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		changed, err = set.Save(context.Background(), tx, app, now)
		return err
	})
	return changed, err
}

func TestSettingSave(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	ops, _ := s.Create(ctx, 1, from, groups.Input{Name: "Ops"})
	app := store.AppRef{Kind: store.AppOIDC, ID: "wiki"}
	for _, tc := range []struct {
		set  groups.Setting
		want string
	}{
		{groups.Setting{Access: "admins"}, "Choose who may sign in: everyone, or the members of some groups."},
		{groups.Setting{Access: groups.AccessGroups}, "Choose at least one group that may sign in, or let everyone sign in."},
		{groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{ops.ID, 999}}, "A chosen group was deleted meanwhile. Choose the groups again."},
	} {
		if _, err := restrict(t, st, app, tc.set); !reflect.DeepEqual(problems(err), []string{tc.want}) {
			t.Errorf("Save(%+v): %v, want %q", tc.set, err, tc.want)
		}
	}
	for _, tc := range []struct {
		set     groups.Setting
		changed bool
	}{
		{groups.Setting{}, false},                              // nothing said: nothing changes
		{groups.Setting{Access: groups.AccessEveryone}, false}, // everyone already
		{groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{ops.ID, ops.ID}}, true},
		{groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{ops.ID}}, false},
		{groups.Setting{}, false},
		{groups.Setting{Access: groups.AccessEveryone}, true},
	} {
		if changed, err := restrict(t, st, app, tc.set); err != nil || changed != tc.changed {
			t.Errorf("Save(%+v) = %v, %v; want changed %v", tc.set, changed, err, tc.changed)
		}
	}
	d := map[string]any{}
	groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{3, 1, 3}}.AddDetails(d)
	if want := map[string]any{"access": "groups", "groups": []int64{1, 3}}; !reflect.DeepEqual(d, want) {
		t.Errorf("AddDetails = %v, want %v", d, want)
	}
}

// TestAdmit is the check at every sign-in: everyone by default, only the members of its groups
// once restricted (with app_access_denied and whom to ask), nobody once its groups are gone,
// and a change applies at the next check.
func TestAdmit(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	admin := newUser(t, st, "admin@example.com", store.RoleSuperAdmin)
	ann := newUser(t, st, "ann@example.com", store.RoleUser)
	ops, _ := s.Create(ctx, admin.ID, from, groups.Input{Name: "Ops"})
	dev, _ := s.Create(ctx, admin.ID, from, groups.Input{Name: "Dev"})
	wiki := groups.App{AppRef: store.AppRef{Kind: store.AppSAML, ID: "7"}, Name: "Wiki"}

	if err := s.Admit(ctx, ann.ID, wiki, from); err != nil {
		t.Fatalf("Admit to an app that lets everyone in: %v", err)
	}
	if _, err := restrict(t, st, wiki.AppRef, groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{ops.ID, dev.ID}}); err != nil {
		t.Fatal(err)
	}
	err := s.Admit(ctx, ann.ID, wiki, from)
	var d *groups.Denied
	if !errors.As(err, &d) || !errors.Is(err, groups.ErrAccessDenied) || d.App != wiki || len(d.Admins) != 1 || d.Admins[0].ID != admin.ID {
		t.Fatalf("Admit outside the groups: %#v, want a *Denied naming Wiki and the admin", err)
	}
	ev := events(t, st, store.EventAppAccessDenied)
	if len(ev) != 1 || *ev[0].UserID != ann.ID || *ev[0].ActorID != ann.ID ||
		!reflect.DeepEqual(ev[0].Details, map[string]any{"app_kind": "saml", "app_id": "7", "app": "Wiki"}) {
		t.Errorf("app_access_denied events: %+v", ev)
	}
	if err := s.AddMember(ctx, admin.ID, from, dev.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Admit(ctx, ann.ID, wiki, from); err != nil {
		t.Errorf("Admit once in Dev: %v", err)
	}
	ok, why, err := s.AllowedFor(ctx, ann.ID, store.AppSAML, "7")
	if err != nil || !ok || why.Everyone || len(why.Via) != 1 || why.Via[0].ID != dev.ID {
		t.Errorf("AllowedFor = %v, %+v, %v; want allowed via Dev", ok, why, err)
	}
	o, err := s.OpensFor(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	other := store.AppRef{Kind: store.AppOIDC, ID: "7"} // the same id, another kind
	if ok, why := o.May(other); !ok || !why.Everyone {
		t.Errorf("Opens.May(an unrestricted app) = %v, %+v; want everyone", ok, why)
	}
	kept, err := groups.Openable(ctx, s, ann.ID, store.AppSAML, []string{"7", "8"}, func(id string) string { return id })
	if err != nil || !reflect.DeepEqual(kept, []string{"7", "8"}) {
		t.Errorf("Openable = %q, %v; want both", kept, err)
	}

	// Both groups deleted: the app lets nobody in.
	for _, g := range []int64{ops.ID, dev.ID} {
		if err := s.Delete(ctx, admin.ID, from, g); err != nil {
			t.Fatal(err)
		}
	}
	if ev := events(t, st, store.EventGroupDeleted); ev[0].Details["apps"] != float64(1) || ev[1].Details["members"] != float64(1) {
		t.Errorf("group_deleted details: %v, %v; want Ops on 1 app, Dev with 1 member", ev[0].Details, ev[1].Details)
	}
	if err := s.Admit(ctx, admin.ID, wiki, from); !errors.Is(err, groups.ErrAccessDenied) {
		t.Errorf("Admit to an app whose groups are all gone: %v, want ErrAccessDenied", err)
	}
	if kept, err := groups.Openable(ctx, s, ann.ID, store.AppSAML, []string{"7", "8"}, func(id string) string { return id }); err != nil || !reflect.DeepEqual(kept, []string{"8"}) {
		t.Errorf("Openable after the groups were deleted = %q, %v; want [8]", kept, err)
	}
	if kept, err := groups.Openable(ctx, nil, ann.ID, store.AppSAML, []string{"7"}, func(id string) string { return id }); err != nil || len(kept) != 1 {
		t.Errorf("Openable without a service = %q, %v; want all", kept, err)
	}
}

func TestUserAppsAndGroupDetail(t *testing.T) {
	ctx := context.Background()
	s, st := newService(t)
	ann := newUser(t, st, "ann@example.com", store.RoleUser)
	ops, _ := s.Create(ctx, 1, from, groups.Input{Name: "Ops"})
	dev, _ := s.Create(ctx, 1, from, groups.Input{Name: "Dev"})
	if err := s.AddMember(ctx, 1, from, ops.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.OAuthClient{{ClientID: "c1", Name: "wiki"}, {ClientID: "c2", Name: "Chat"}} {
		c.RedirectURIs, c.CreatedAt = []string{"https://x.example/cb"}, now
		if err := st.CreateOAuthClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	sp, err := st.CreateSAMLServiceProvider(ctx, store.SAMLServiceProvider{EntityID: "https://crm", Name: "CRM", Metadata: "<x/>", ACSURL: "https://crm/acs", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for app, g := range map[store.AppRef]int64{{Kind: store.AppOIDC, ID: "c1"}: ops.ID, groups.SAMLApp(sp.ID): dev.ID} {
		if _, err := restrict(t, st, app, groups.Setting{Access: groups.AccessGroups, GroupIDs: []int64{g}}); err != nil {
			t.Fatal(err)
		}
	}

	lines, err := s.UserApps(ctx, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		name     string
		allowed  bool
		everyone bool
		via      int
		groups   int
	}
	var got []line
	for _, l := range lines {
		got = append(got, line{l.App.Name, l.Allowed, l.Reason.Everyone, len(l.Reason.Via), len(l.Groups)})
	}
	want := []line{{"Chat", true, true, 0, 0}, {"CRM", false, false, 0, 1}, {"wiki", true, false, 1, 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UserApps = %+v, want %+v", got, want)
	}
	d, err := s.Detail(ctx, ops.ID)
	if err != nil || len(d.Members) != 1 || len(d.Apps) != 1 || d.Apps[0].Name != "wiki" {
		t.Errorf("Detail(Ops) = %+v, %v; want Ann and wiki", d, err)
	}
	if _, err := s.Detail(ctx, 999); !errors.Is(err, groups.ErrNotFound) {
		t.Errorf("Detail of a missing group: %v, want ErrNotFound", err)
	}
	f, err := s.AccessForm(ctx, groups.SAMLApp(sp.ID))
	if err != nil || f.Setting.Access != groups.AccessGroups || !reflect.DeepEqual(f.Setting.GroupIDs, []int64{dev.ID}) || len(f.Groups) != 2 {
		t.Errorf("AccessForm(CRM) = %+v, %v", f, err)
	}
	if f, err := s.AccessForm(ctx, store.AppRef{Kind: store.AppOIDC}); err != nil || f.Setting.Access != groups.AccessEveryone {
		t.Errorf("AccessForm of a new app = %+v, %v; want everyone", f, err)
	}
}
