package handlers

import (
	"context"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// showUsers lists every account (admins).
func (h *Handler) showUsers(c *fiber.Ctx) error {
	users, err := h.store.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.UsersPage(h.pageBase(c, "Users", "users"), users))
}

// eventTypes are the types the event log filter offers.
var eventTypes = []string{
	"email_code_sent", "login_failed", "user_created", "user_signed_in", "user_signed_out",
}

// showEvents lists the newest events, optionally of one type (admins).
func (h *Handler) showEvents(c *fiber.Ctx) error {
	ctx := c.UserContext()
	typ := c.Query("type")
	if !slices.Contains(eventTypes, typ) {
		typ = ""
	}
	events, err := h.store.ListEvents(ctx, store.EventFilter{Type: typ, Limit: 200})
	if err != nil {
		return err
	}
	rows, err := h.eventRows(ctx, events)
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.EventsPage(h.pageBase(c, "Events", "events"), eventTypes, typ, rows))
}

// eventRows resolves the users events name to their addresses, looking each up once.
func (h *Handler) eventRows(ctx context.Context, events []store.Event) ([]views.EventRow, error) {
	emails := map[int64]string{}
	name := func(id *int64) (string, error) {
		if id == nil {
			return "", nil
		}
		if e, ok := emails[*id]; ok {
			return e, nil
		}
		u, err := h.store.UserByID(ctx, *id)
		if err != nil && err != store.ErrNotFound {
			return "", err
		}
		e := u.Email
		if e == "" {
			e = "(deleted user)"
		}
		emails[*id] = e
		return e, nil
	}
	rows := make([]views.EventRow, 0, len(events))
	for _, e := range events {
		actor, err := name(e.ActorID)
		if err != nil {
			return nil, err
		}
		subject, err := name(e.UserID)
		if err != nil {
			return nil, err
		}
		if e.ActorID == nil {
			actor = "—"
		}
		rows = append(rows, views.EventRow{Event: e, Actor: actor, User: subject})
	}
	return rows, nil
}

// showSettingsSecurity shows the tenant's security settings (super admins).
func (h *Handler) showSettingsSecurity(c *fiber.Ctx) error {
	s, err := h.store.Settings(c.UserContext())
	if err != nil {
		return err
	}
	return render(c, fiber.StatusOK, views.SettingsSecurityPage(h.pageBase(c, "Security settings", "settings"), s))
}
