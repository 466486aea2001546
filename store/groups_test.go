package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/weftid/weftid/store"
)

func newGroup(t *testing.T, s *store.Store, name string) store.Group {
	t.Helper()
	g, err := s.CreateGroup(context.Background(), store.Group{Name: name, Description: "About " + name, CreatedAt: t0})
	if err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

func groupNames(gs []store.Group) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

func TestGroupsNamesAreUniqueInAnyCase(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	ops := newGroup(t, s, "Ops")
	if ops.ID == 0 || !ops.UpdatedAt.Equal(t0) {
		t.Errorf("created group %+v: want an id and UpdatedAt = CreatedAt", ops)
	}
	if _, err := s.CreateGroup(ctx, store.Group{Name: " OPS ", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a second group \" OPS \": %v, want ErrConflict", err)
	}
	dev := newGroup(t, s, "dev")
	dev.Name = "ops"
	if err := s.UpdateGroup(ctx, dev); !errors.Is(err, store.ErrConflict) {
		t.Errorf("renaming dev to ops: %v, want ErrConflict", err)
	}
	ops.Name, ops.Description, ops.UpdatedAt = "OPS", "Operations", t0.Add(1)
	if err := s.UpdateGroup(ctx, ops); err != nil {
		t.Errorf("renaming Ops to OPS (its own name in other case): %v", err)
	}
	got, err := s.GroupByID(ctx, ops.ID)
	if err != nil || got.Name != "OPS" || got.Description != "Operations" {
		t.Errorf("GroupByID after update = %+v, %v", got, err)
	}
	if err := s.UpdateGroup(ctx, store.Group{ID: 999, Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a missing group: %v, want ErrNotFound", err)
	}
	all, err := s.ListGroups(ctx)
	if want := []string{"dev", "OPS"}; err != nil || !reflect.DeepEqual(groupNames(all), want) {
		t.Errorf("ListGroups = %q, %v; want %q (by name, whatever the case)", groupNames(all), err, want)
	}
	if err := s.DeleteGroup(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, dev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := s.GroupByID(ctx, dev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GroupByID of a deleted group: %v, want ErrNotFound", err)
	}
}

func TestGroupMembers(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	ops, dev := newGroup(t, s, "Ops"), newGroup(t, s, "Dev")
	ann := createUser(t, s, "ann@example.com", "Ann", store.RoleUser)
	bob := createUser(t, s, "bob@example.com", "bob", store.RoleUser)
	for _, m := range []struct{ g, u int64 }{{ops.ID, bob.ID}, {ops.ID, ann.ID}, {dev.ID, ann.ID}} {
		if err := s.AddGroupMember(ctx, m.g, m.u, t0); err != nil {
			t.Fatalf("AddGroupMember(%d, %d): %v", m.g, m.u, err)
		}
	}
	if err := s.AddGroupMember(ctx, ops.ID, ann.ID, t0); !errors.Is(err, store.ErrConflict) {
		t.Errorf("adding a member twice: %v, want ErrConflict", err)
	}
	if err := s.AddGroupMember(ctx, ops.ID, 999, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("adding a missing user: %v, want ErrNotFound", err)
	}
	if err := s.AddGroupMember(ctx, 999, ann.ID, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("adding to a missing group: %v, want ErrNotFound", err)
	}
	members, err := s.GroupMembers(ctx, ops.ID)
	if err != nil || len(members) != 2 || members[0].ID != ann.ID || members[1].ID != bob.ID {
		t.Errorf("GroupMembers(Ops) = %+v, %v; want Ann then bob", members, err)
	}
	if g, _ := s.GroupByID(ctx, ops.ID); g.Members != 2 {
		t.Errorf("Ops has %d members, want 2", g.Members)
	}
	mine, err := s.GroupsOfUser(ctx, ann.ID)
	if want := []string{"Dev", "Ops"}; err != nil || !reflect.DeepEqual(groupNames(mine), want) {
		t.Errorf("GroupsOfUser(Ann) = %q, %v; want %q", groupNames(mine), err, want)
	}
	names, err := s.GroupNamesOfUser(ctx, ann.ID)
	if want := []string{"Dev", "Ops"}; err != nil || !reflect.DeepEqual(names, want) {
		t.Errorf("GroupNamesOfUser(Ann) = %q, %v; want %q", names, err, want)
	}
	if err := s.RemoveGroupMember(ctx, ops.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveGroupMember(ctx, ops.ID, ann.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("removing a member twice: %v, want ErrNotFound", err)
	}
	// Deleting a group, or a user, ends their memberships.
	if err := s.DeleteGroup(ctx, dev.ID); err != nil {
		t.Fatal(err)
	}
	if names, err := s.GroupNamesOfUser(ctx, ann.ID); err != nil || names == nil || len(names) != 0 {
		t.Errorf("Ann's group names after Dev was deleted = %#v, %v; want an empty list", names, err)
	}
	if _, err := store.RawDB(s).Exec(`DELETE FROM users WHERE id = ?`, bob.ID); err != nil {
		t.Fatal(err)
	}
	if g, _ := s.GroupByID(ctx, ops.ID); g.Members != 0 {
		t.Errorf("Ops has %d members after bob was deleted, want 0", g.Members)
	}
}

func TestAppAccess(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	ops, dev := newGroup(t, s, "Ops"), newGroup(t, s, "Dev")
	wiki := store.AppRef{Kind: store.AppOIDC, ID: "wiki-client"}
	crm := store.AppRef{Kind: store.AppSAML, ID: "7"}

	if a, err := s.AppAccessOf(ctx, wiki); err != nil || a.Restricted {
		t.Errorf("a new app's access = %+v, %v; want everyone", a, err)
	}
	set := func(a store.AppAccess) error {
		return s.InTx(ctx, func(tx *store.Tx) error { return tx.SetAppAccess(ctx, a, t0) })
	}
	if err := set(store.AppAccess{App: wiki, Restricted: true, GroupIDs: []int64{dev.ID, ops.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := set(store.AppAccess{App: crm, Restricted: true, GroupIDs: []int64{ops.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := set(store.AppAccess{App: crm, Restricted: true, GroupIDs: []int64{999}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("restricting to a missing group: %v, want ErrNotFound", err)
	}
	a, err := s.AppAccessOf(ctx, crm)
	if want := (store.AppAccess{App: crm, Restricted: true, GroupIDs: []int64{ops.ID}}); err != nil || !reflect.DeepEqual(a, want) {
		t.Errorf("the refused change changed the access: %+v, %v; want %+v", a, err, want)
	}
	// Deleting a group takes it off the lists; an app left with none lets nobody in.
	if err := s.DeleteGroup(ctx, ops.ID); err != nil {
		t.Fatal(err)
	}
	all, err := s.RestrictedApps(ctx)
	want := map[store.AppRef]store.AppAccess{
		wiki: {App: wiki, Restricted: true, GroupIDs: []int64{dev.ID}},
		crm:  {App: crm, Restricted: true},
	}
	if err != nil || !reflect.DeepEqual(all, want) {
		t.Errorf("RestrictedApps = %+v, %v; want %+v", all, err, want)
	}
	// Everyone again, and an app that is deleted is forgotten.
	if err := set(store.AppAccess{App: wiki}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAppAccess(ctx, crm); err != nil {
		t.Fatal(err)
	}
	if all, err := s.RestrictedApps(ctx); err != nil || len(all) != 0 {
		t.Errorf("RestrictedApps after both were opened = %+v, %v; want none", all, err)
	}
	if n := count(t, store.RawDB(s), `SELECT count(*) FROM app_access_groups`); n != 0 {
		t.Errorf("%d app_access_groups rows remain, want 0", n)
	}
}

func TestActiveAdmins(t *testing.T) {
	s, _ := newStore(t)
	createUser(t, s, "user@example.com", "A user", store.RoleUser)
	createUser(t, s, "zed@example.com", "Zed", store.RoleAdmin)
	createUser(t, s, "amy@example.com", "amy", store.RoleAdmin)
	createUser(t, s, "root@example.com", "Root", store.RoleSuperAdmin)
	gone := createUser(t, s, "gone@example.com", "Gone", store.RoleSuperAdmin)
	if err := s.SetUserStatus(context.Background(), gone.ID, store.StatusInactive, t0); err != nil {
		t.Fatal(err)
	}
	admins, err := s.ActiveAdmins(context.Background(), 2)
	var got []string
	for _, u := range admins {
		got = append(got, u.Email)
	}
	if want := []string{"root@example.com", "amy@example.com"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ActiveAdmins(2) = %q, %v; want %q", got, err, want)
	}
}

func TestGroupsMigrationDownUp(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	newGroup(t, s, "Ops")
	if err := s.MigrateDownAll(ctx); err != nil {
		t.Fatalf("MigrateDownAll: %v", err)
	}
	if objs := append(schemaObjects(t, s, "user_group%"), schemaObjects(t, s, "app_access%")...); len(objs) != 0 {
		t.Errorf("after down, group or access tables or indexes remain: %q", objs)
	}
	if err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	if g := newGroup(t, s, "Ops"); g.ID == 0 {
		t.Errorf("no group after down and up")
	}
}
