package handlers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

const (
	// eventsPerPage is how many events a page of the log (and each "Load more") shows.
	eventsPerPage = 50
	// exportPage is how many events the CSV export reads at a time; it writes each batch out
	// before reading the next, so its memory does not grow with the log.
	exportPage = 500
	// exportTimeout bounds one export's database work once the response has started.
	exportTimeout = 10 * time.Minute
	// dateLayout is how input type=date sends a day.
	dateLayout = "2006-01-02"
)

// eventQuery is the event log's filter as read from the query string.
type eventQuery struct {
	filter store.EventFilter
	form   views.EventsFilter
	links  url.Values // the accepted filters, for "Load more" and the export
	none   bool       // a filter that matches nothing, such as an address nobody has
}

// parseEventQuery reads the filters of /events and /events.csv: type (one of store.EventTypes), user
// (an exact address: the events about that user), from and to (days, inclusive, UTC) and
// before (an event id, for the next page). A value that cannot be used is left out and said so.
func (h *Handler) parseEventQuery(c *fiber.Ctx) (eventQuery, error) {
	q := eventQuery{form: views.EventsFilter{Types: store.EventTypes}, links: url.Values{}}
	var problems []string
	if typ := store.EventType(c.Query("type")); slices.Contains(store.EventTypes, typ) {
		q.filter.Type, q.form.Type = typ, typ
		q.links.Set("type", string(typ))
	}
	if email := store.NormalizeEmail(c.Query("user")); email != "" && len(email) <= 320 {
		q.form.User = email
		q.links.Set("user", email)
		u, err := h.store.UserByEmail(c.UserContext(), email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			q.none = true
			problems = append(problems, "No user has that email address.")
		case err != nil:
			return q, err
		default:
			q.filter.InvolvingUser = u.ID // what they did and what was done to them, as on their Events tab
		}
	}
	day := func(name string) (time.Time, bool) {
		v := strings.TrimSpace(c.Query(name))
		if v == "" {
			return time.Time{}, false
		}
		t, err := time.ParseInLocation(dateLayout, v, time.UTC)
		if err != nil {
			problems = append(problems, "Enter dates as YYYY-MM-DD.")
			return time.Time{}, false
		}
		q.links.Set(name, v)
		return t, true
	}
	if from, ok := day("from"); ok {
		q.filter.From, q.form.From = from, from.Format(dateLayout)
	}
	if to, ok := day("to"); ok {
		q.filter.To, q.form.To = to.AddDate(0, 0, 1), to.Format(dateLayout) // through the end of that day
	}
	if before := formInt(c.Query("before")); before > 0 {
		q.filter.BeforeID = before
	}
	q.form.Export = "/events.csv"
	if len(q.links) > 0 {
		q.form.Export += "?" + q.links.Encode()
	}
	q.form.Error = strings.Join(slices.Compact(problems), " ")
	return q, nil
}

// showEvents is the event log (admins): newest first, filtered, 50 at a time. "Load more" asks
// for the next page with before=; htmx gets only its rows.
func (h *Handler) showEvents(c *fiber.Ctx) error {
	q, err := h.parseEventQuery(c)
	if err != nil {
		return err
	}
	var l views.EventList
	if !q.none {
		next := func(last int64) string {
			v := url.Values{}
			for k, vs := range q.links {
				v[k] = vs
			}
			v.Set("before", strconv.FormatInt(last, 10))
			return "/events?" + v.Encode()
		}
		if l, err = h.eventPage(c.UserContext(), q.filter, next); err != nil {
			return err
		}
	}
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
	if _, err := h.audit.Verify(c.UserContext()); err != nil {
		return err
	}
	return redirect(c, "/events#chain-status")
}

// chainStatus is the last verification of the event chain, for the page.
func (h *Handler) chainStatus(ctx context.Context) (views.ChainStatus, error) {
	r, ok, err := h.audit.Last(ctx)
	if err != nil || !ok {
		return views.ChainStatus{}, err
	}
	return views.ChainStatus{Verified: true, At: r.At, Events: r.Events, Intact: r.Intact,
		BadID: r.BadID, BadType: string(r.BadType), Problem: r.Problem}, nil
}

// eventPage reads one page of events with the people they name, and the address of the next
// page (next builds it from the last id shown; "" when this page is the last).
func (h *Handler) eventPage(ctx context.Context, f store.EventFilter, next func(last int64) string) (views.EventList, error) {
	f.Limit = eventsPerPage + 1
	events, err := h.store.ListEvents(ctx, f)
	if err != nil {
		return views.EventList{}, err
	}
	var l views.EventList
	if len(events) > eventsPerPage {
		events = events[:eventsPerPage]
		l.More = next(events[len(events)-1].ID)
	}
	if l.Rows, err = h.eventRows(ctx, events); err != nil {
		return views.EventList{}, err
	}
	return l, nil
}

// userEmails resolves the user ids events name to addresses, asking the store once per id.
type userEmails struct {
	store *store.Store
	known map[int64]string // "" for a user that no longer exists
}

func (h *Handler) newUserEmails() *userEmails {
	return &userEmails{store: h.store, known: map[int64]string{}}
}

// email is the address of the user id names: "" for none, "(deleted user)" for one that is gone.
// ok says whether the user exists.
func (e *userEmails) email(ctx context.Context, id *int64) (addr string, ok bool, err error) {
	if id == nil {
		return "", false, nil
	}
	addr, seen := e.known[*id]
	if !seen {
		u, err := e.store.UserByID(ctx, *id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", false, err
		}
		addr = u.Email
		e.known[*id] = addr
	}
	if addr == "" {
		return "(deleted user)", false, nil
	}
	return addr, true, nil
}

// eventRows resolves the users events name to their addresses and pages.
func (h *Handler) eventRows(ctx context.Context, events []store.Event) ([]views.EventRow, error) {
	emails := h.newUserEmails()
	rows := make([]views.EventRow, 0, len(events))
	for _, e := range events {
		r := views.EventRow{Event: e}
		actor, ok, err := emails.email(ctx, e.ActorID)
		if err != nil {
			return nil, err
		}
		r.Actor = actor
		if ok {
			r.ActorURL = fmt.Sprintf("/users/%d/profile", *e.ActorID)
		}
		if e.ActorID == nil {
			r.Actor = "—"
		}
		subject, ok, err := emails.email(ctx, e.UserID)
		if err != nil {
			return nil, err
		}
		r.User = subject
		if ok {
			r.UserURL = fmt.Sprintf("/users/%d/profile", *e.UserID)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// exportEvents writes every event the filters match as CSV (admins), newest first. It streams:
// each batch is read, written and sent before the next is read, so an export of the whole log
// needs no more memory than one batch.
func (h *Handler) exportEvents(c *fiber.Ctx) error {
	q, err := h.parseEventQuery(c)
	if err != nil {
		return err
	}
	f := q.filter
	f.BeforeID, f.Limit = 0, exportPage
	// The first batch is read here, so a database error is still an error page, not a cut file.
	var first []store.Event
	if !q.none {
		if first, err = h.store.ListEvents(c.UserContext(), f); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="weftid-events.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	// The writer runs after this handler returns: it must not touch c.
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		defer cancel()
		if err := h.writeEventsCSV(ctx, w, f, first); err != nil {
			h.log.Warn("event export cut short", "err", err)
		}
	})
	return nil
}

// csvHeader names the export's columns.
var csvHeader = []string{"id", "time", "type", "actor_email", "user_email", "ip", "user_agent", "details"}

// writeEventsCSV writes the header, then batch after batch of events (first is the first batch,
// read already), flushing each to the client.
func (h *Handler) writeEventsCSV(ctx context.Context, w *bufio.Writer, f store.EventFilter, batch []store.Event) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	emails := h.newUserEmails()
	for {
		for _, e := range batch {
			actor, _, err := emails.email(ctx, e.ActorID)
			if err != nil {
				return err
			}
			subject, _, err := emails.email(ctx, e.UserID)
			if err != nil {
				return err
			}
			details := []byte("{}")
			if len(e.Details) > 0 {
				if details, err = json.Marshal(e.Details); err != nil {
					return err
				}
			}
			record := []string{
				strconv.FormatInt(e.ID, 10),
				e.At.UTC().Format(time.RFC3339),
				csvCell(string(e.Type)),
				csvCell(actor),
				csvCell(subject),
				csvCell(e.IP),
				csvCell(e.UserAgent),
				csvCell(string(details)),
			}
			if err := cw.Write(record); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("send: %w", err) // the client went away
		}
		if len(batch) < f.Limit {
			return nil
		}
		f.BeforeID = batch[len(batch)-1].ID
		var err error
		if batch, err = h.store.ListEvents(ctx, f); err != nil {
			return err
		}
	}
}

// csvCell keeps a spreadsheet from reading a cell as a formula: a value that starts with = + - @
// (or a tab or carriage return, which some spreadsheets skip) gets a leading single quote.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
