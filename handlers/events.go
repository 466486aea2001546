package handlers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

const (
	// exportTimeout bounds one export's database work once the response has started.
	exportTimeout = 10 * time.Minute
	// dateLayout is how input type=date sends a day.
	dateLayout = "2006-01-02"
)

// eventQuery is the event log's filter as read from the query string.
type eventQuery struct {
	filter   audit.Filter
	form     views.EventsFilter // the accepted values, which "Load more" and the export keep
	problems []string
}

// parseEventQuery reads the filters of /events and /events.csv: type (one of store.EventTypes), user
// (an address, or part of a name or address: the events of the users it names, see audit.Filter),
// from and to (days, inclusive, UTC) and before (an event id, for the next page). A value that
// cannot be used is left out and said so.
func parseEventQuery(c *fiber.Ctx) eventQuery {
	q := eventQuery{form: views.EventsFilter{Types: store.EventTypes}}
	if typ := store.EventType(c.Query("type")); slices.Contains(store.EventTypes, typ) {
		q.filter.Type, q.form.Type = typ, typ
	}
	user := strings.TrimSpace(c.Query("user"))
	if strings.Contains(user, "@") {
		user = store.NormalizeEmail(user)
	}
	if user != "" && len(user) <= 320 {
		q.filter.User, q.form.User = user, user
	}
	day := func(name string) (time.Time, bool) {
		v := strings.TrimSpace(c.Query(name))
		if v == "" {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(dateLayout, v, time.UTC)
		if err != nil {
			q.problems = append(q.problems, "Enter dates as YYYY-MM-DD.")
			return time.Time{}, false
		}
		return t, true
	}
	if from, ok := day("from"); ok {
		q.filter.From, q.form.From = from, from.Format(dateLayout)
	}
	if to, ok := day("to"); ok {
		q.filter.To, q.form.To = to, to.Format(dateLayout)
	}
	q.filter.Before = formInt(c.Query("before"))
	q.form.Export = q.form.Link("/events.csv", 0)
	return q
}

// showEvents is the event log (admins): newest first, filtered, 50 at a time. "Load more" asks
// for the next page with before=; htmx gets only its rows.
func (h *Handler) showEvents(c *fiber.Ctx) error {
	q := parseEventQuery(c)
	p, err := h.Audit.Events(c.UserContext(), q.filter)
	switch {
	case errors.Is(err, audit.ErrUnknownUser) && strings.Contains(q.form.User, "@"):
		q.problems = append([]string{"No user has that email address."}, q.problems...)
	case errors.Is(err, audit.ErrUnknownUser):
		q.problems = append([]string{"No user's name or email address contains that."}, q.problems...)
	case errors.Is(err, audit.ErrTooManyUsers):
		q.problems = append([]string{fmt.Sprintf("More than %d users match: type more of the name or address.", audit.MaxFilterUsers)}, q.problems...)
	case err != nil:
		return err
	}
	q.form.Error = strings.Join(slices.Compact(q.problems), " ")
	l := eventList(p, func(last int64) string { return q.form.Link("/events", last) })
	chain, err := h.chainStatus(c.UserContext())
	if err != nil {
		return err
	}
	page := views.EventsPage(h.pageBase(c, "Events", "events"), chain, q.form, l)
	return renderPart(c, fiber.StatusOK, page, views.EventRows(l))
}

// verifyEvents is "Verify now" (admins): the event chain is verified at once and the Events page
// shows the result.
func (h *Handler) verifyEvents(c *fiber.Ctx) error {
	if _, err := h.Audit.Verify(c.UserContext()); err != nil {
		return err
	}
	return redirect(c, "/events#chain-status")
}

// chainStatus is the last verification of the event chain, for the page.
func (h *Handler) chainStatus(ctx context.Context) (views.ChainStatus, error) {
	r, ok, err := h.Audit.Last(ctx)
	if err != nil || !ok {
		return views.ChainStatus{}, err
	}
	return views.ChainStatus{Verified: true, At: r.At, Events: r.Events, Intact: r.Intact,
		BadID: r.BadID, BadType: string(r.BadType), Problem: r.Problem}, nil
}

// eventList is a page of events as the views show it: each user links to their page, and next
// builds the address of the next page from the last id shown.
func eventList(p audit.Page, next func(last int64) string) views.EventList {
	var l views.EventList
	if p.More != 0 {
		l.More = next(p.More)
	}
	for _, r := range p.Rows {
		row := views.EventRow{Event: r.Event, Actor: r.Actor, User: r.User}
		if r.ActorFound {
			row.ActorURL = fmt.Sprintf("/users/%d/profile", *r.Event.ActorID)
		}
		if r.Event.ActorID == nil {
			row.Actor = "—"
		}
		if r.UserFound {
			row.UserURL = fmt.Sprintf("/users/%d/profile", *r.Event.UserID)
		}
		l.Rows = append(l.Rows, row)
	}
	return l
}

// exportEvents writes every event the filters match as CSV (admins), newest first. It streams
// (audit.Export): each batch is read, written and sent before the next is read.
func (h *Handler) exportEvents(c *fiber.Ctx) error {
	x, err := h.Audit.Export(c.UserContext(), parseEventQuery(c).filter)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="weftid-events.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	// The writer runs after this handler returns: it must not touch c.
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		if err := x.WriteTo(ctx, w); err != nil {
			h.log.Warn("event export cut short", "err", err)
		}
	})
	return nil
}
