// Package groups owns weftid's groups and who may sign in to each application.
//
// Admins make groups, name and describe them, and add and remove members. Every application
// (an OpenID Connect client, a SAML service provider, later a proxied app) lets either everyone
// sign in (the default) or only the members of some groups (Setting, saved by the application's
// own service in its transaction with Setting.Save). The sign-in to an application asks Admit,
// at every sign-in: a user outside the application's groups gets a *Denied error and an
// app_access_denied event, and the application gets nothing. The dashboard (Openable), a user's
// Apps tab (UserApps) and a group's page read the same rules.
//
// A new kind of application (proxied apps) uses the same pieces: store.AppProxy names it
// (store.AppRef{Kind: store.AppProxy, ID: its id as text}); its create and update call
// Setting.Save on their transaction, its delete calls Forget; each request it lets through
// asks Admit (or AllowedFor, which writes nothing); its list goes through Openable; apps lists
// it for the Apps tab and the group page.
//
// Each exported method is one use case; what writes more than one row does it in one
// transaction, with its event.
package groups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// Config is what the service needs.
type Config struct {
	Store *store.Store
	Log   *slog.Logger     // slog.Default when nil
	Now   func() time.Time // time.Now when nil
}

// Service is the group and application access use cases over one store.
type Service struct {
	st  *store.Store
	log *slog.Logger
	now func() time.Time
}

// New returns the service for cfg.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{st: cfg.Store, log: cfg.Log, now: cfg.Now}
}

// ErrNotFound: there is no group with that id (or no user with that id to add).
var ErrNotFound = errors.New("groups: not found")

// Problems is a form's refusal: what is wrong, in words for the admin, each shown as is.
type Problems []string

func (p Problems) Error() string { return "groups: " + strings.Join(p, " ") }

// Bounds of what a group form takes.
const (
	maxName        = 100
	maxDescription = 500
)

// The refusals of text that is not plain (auth.PlainText, auth.PlainLines): names and
// descriptions go on into pages, events, tokens and SAML attributes.
const (
	MsgNameText        = auth.MsgNameNotPlain
	MsgDescriptionText = "The description cannot contain control characters (line breaks aside) or text-direction characters."
)

// Input is the group form: a name and a description.
type Input struct {
	Name        string
	Description string
}

// check trims the form and says what is wrong with it: a name that is empty, too long or not
// plain text, a description too long or not plain lines.
func (in Input) check() (Input, error) {
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	var p Problems
	switch {
	case in.Name == "":
		p = append(p, "Enter a name for the group.")
	case utf8.RuneCountInString(in.Name) > maxName:
		p = append(p, fmt.Sprintf("The name can be at most %d characters.", maxName))
	case !auth.PlainText(in.Name):
		p = append(p, MsgNameText)
	}
	switch {
	case utf8.RuneCountInString(in.Description) > maxDescription:
		p = append(p, fmt.Sprintf("The description can be at most %d characters.", maxDescription))
	case !auth.PlainLines(in.Description):
		p = append(p, MsgDescriptionText)
	}
	if len(p) > 0 {
		return in, p
	}
	return in, nil
}

// nameTaken is the problem of a name another group has, whatever its case.
func nameTaken(name string) Problems {
	return Problems{fmt.Sprintf("A group named “%s” exists already. Choose another name.", name)}
}

// ptr returns a pointer to id, for the optional actor and subject of events.
func ptr(id int64) *int64 { return &id }

// groupDetails are what every group event says of the group.
func groupDetails(g store.Group) map[string]any {
	return map[string]any{"group_id": g.ID, "name": g.Name}
}

// List returns every group with its member count, by name.
func (s *Service) List(ctx context.Context) ([]store.Group, error) {
	return s.st.ListGroups(ctx)
}

// Group returns one group, or ErrNotFound.
func (s *Service) Group(ctx context.Context, id int64) (store.Group, error) {
	g, err := s.st.GroupByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return g, ErrNotFound
	}
	return g, err
}

// Detail is a group's page: the group, its members and the applications that let it in.
type Detail struct {
	Group   store.Group
	Members []store.User
	Apps    []App
}

// Detail returns a group with its members and the applications whose access lists name it.
// ErrNotFound when there is no such group.
func (s *Service) Detail(ctx context.Context, id int64) (Detail, error) {
	g, err := s.Group(ctx, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Group: g}
	if d.Members, err = s.st.GroupMembers(ctx, id); err != nil {
		return d, err
	}
	d.Apps, err = s.appsOfGroup(ctx, id)
	return d, err
}

// Create makes a group (Problems: the name is empty, too long or taken) and logs group_created.
func (s *Service) Create(ctx context.Context, adminID int64, from store.Origin, in Input) (store.Group, error) {
	in, err := in.check()
	if err != nil {
		return store.Group{}, err
	}
	now := s.now()
	var g store.Group
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if g, err = tx.CreateGroup(ctx, store.Group{Name: in.Name, Description: in.Description, CreatedAt: now}); err != nil {
			return err
		}
		d := groupDetails(g)
		d["description"] = g.Description
		return tx.AddEvent(ctx, from.Event(now, store.EventGroupCreated, ptr(adminID), nil, d))
	})
	if errors.Is(err, store.ErrConflict) {
		return store.Group{}, nameTaken(in.Name)
	}
	return g, err
}

// Update renames and describes group id and logs group_updated with what changed (and the old
// name); nothing changed, nothing is written. Problems as Create's; ErrNotFound.
func (s *Service) Update(ctx context.Context, adminID int64, from store.Origin, id int64, in Input) error {
	in, err := in.check()
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.GroupByID(ctx, id)
		if err != nil {
			return err
		}
		d := groupDetails(store.Group{ID: id, Name: in.Name})
		var changed []string
		if in.Name != old.Name {
			changed, d["previous_name"] = append(changed, "name"), old.Name
		}
		if in.Description != old.Description {
			changed, d["description"] = append(changed, "description"), in.Description
		}
		if len(changed) == 0 {
			return nil
		}
		d["changed"] = changed
		now := s.now()
		if err := tx.UpdateGroup(ctx, store.Group{ID: id, Name: in.Name, Description: in.Description, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.AddEvent(ctx, from.Event(now, store.EventGroupUpdated, ptr(adminID), nil, d))
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return nameTaken(in.Name)
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	}
	return err
}

// Delete removes group id: its memberships end and it leaves every application's access list
// (an application restricted to it alone then lets nobody in). It logs group_deleted with the
// number of members and of such applications. ErrNotFound when there is no such group.
func (s *Service) Delete(ctx context.Context, adminID int64, from store.Origin, id int64) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		g, err := tx.GroupByID(ctx, id)
		if err != nil {
			return err
		}
		apps, err := restrictedTo(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, id); err != nil {
			return err
		}
		d := groupDetails(g)
		d["members"], d["apps"] = g.Members, len(apps)
		return tx.AddEvent(ctx, from.Event(s.now(), store.EventGroupDeleted, ptr(adminID), nil, d))
	})
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
