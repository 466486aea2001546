package audit

// Reading the event log: a page of events with the people they name resolved to addresses, and
// the whole filtered log as CSV, written batch by batch.

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftid/weftid/store"
)

const (
	// PerPage is how many events a page of the log (and each "Load more") shows.
	PerPage = 50
	// exportBatch is how many events the CSV export reads at a time; it writes each batch out
	// before reading the next, so its memory does not grow with the log.
	exportBatch = 500
)

// Filter is what the event log is narrowed to; the zero value keeps every event.
type Filter struct {
	// Type keeps the events of one type ("" any).
	Type store.EventType
	// User keeps the events that users did or that were done to them ("" anyone): the user with
	// exactly this address when there is one, else every user whose name or address contains it,
	// ignoring case (as the Users page's search).
	User string
	// UserID does the same by id (0 anyone); it is used when User is "".
	UserID int64
	// From and To are days (UTC midnight), inclusive; zero leaves that end open.
	From, To time.Time
	// Before keeps the events older than this id (the next page), 0 none.
	Before int64
}

// MaxFilterUsers is how many users a Filter.User text may match.
const MaxFilterUsers = 500

var (
	// ErrUnknownUser is what Events and Export say when Filter.User matches nobody: nothing
	// matches.
	ErrUnknownUser = errors.New("audit: no user matches")
	// ErrTooManyUsers is what Events says when Filter.User matches more than MaxFilterUsers.
	ErrTooManyUsers = errors.New("audit: too many users match")
)

// Row is one event with the people it names: Actor and User are their addresses ("" for none;
// for a deleted user the address they had, marked "(deleted)", or "(deleted user)" when it was
// not kept); ActorFound and UserFound say whether they still exist.
type Row struct {
	Event                 store.Event
	Actor, User           string
	ActorFound, UserFound bool
}

// Page is one page of events, newest first. More is the id of its last event when there are
// older ones (the next page's Filter.Before), 0 on the last page.
type Page struct {
	Rows []Row
	More int64
}

// storeFilter resolves f's user and turns its days into the store's range.
func (s *Service) storeFilter(ctx context.Context, f Filter) (store.EventFilter, error) {
	sf := store.EventFilter{Type: f.Type, InvolvingUser: f.UserID, From: f.From, BeforeID: max(f.Before, 0)}
	if !f.To.IsZero() {
		sf.To = f.To.AddDate(0, 0, 1) // through the end of that day
	}
	if f.User != "" {
		// What they did and what was done to them, as on their Events tab.
		ids, err := s.matchUsers(ctx, f.User)
		if err != nil {
			return sf, err
		}
		sf.InvolvingUsers = ids
	}
	return sf, nil
}

// matchUsers are the ids of the users a Filter.User text names, deleted users included (the
// log keeps their ids): those with exactly that address, or else those whose name or address
// contains it. Errors: ErrUnknownUser, ErrTooManyUsers.
func (s *Service) matchUsers(ctx context.Context, text string) ([]int64, error) {
	var ids []int64
	if strings.Contains(text, "@") {
		u, err := s.store.UserByEmail(ctx, store.NormalizeEmail(text))
		if err == nil {
			ids = append(ids, u.ID)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if ids, err = s.withDeleted(ctx, ids, text, true); err != nil || len(ids) > 0 {
			return ids, err
		}
	}
	found, err := s.store.SearchUsers(ctx, store.UserFilter{Q: text, Limit: MaxFilterUsers + 1})
	if err != nil {
		return nil, err
	}
	for _, u := range found {
		ids = append(ids, u.ID)
	}
	if ids, err = s.withDeleted(ctx, ids, text, false); err != nil {
		return nil, err
	}
	switch {
	case len(ids) == 0:
		return nil, ErrUnknownUser
	case len(ids) > MaxFilterUsers:
		return nil, ErrTooManyUsers
	}
	return ids, nil
}

// withDeleted adds to ids the deleted users text names (exact: by their whole address).
func (s *Service) withDeleted(ctx context.Context, ids []int64, text string, exact bool) ([]int64, error) {
	gone, err := s.store.SearchDeletedUsers(ctx, text, exact, MaxFilterUsers+1)
	for _, d := range gone {
		ids = append(ids, d.ID)
	}
	return ids, err
}

// Events is one page (PerPage events) of the log f keeps. Errors: ErrUnknownUser,
// ErrTooManyUsers.
func (s *Service) Events(ctx context.Context, f Filter) (Page, error) {
	sf, err := s.storeFilter(ctx, f)
	if err != nil {
		return Page{}, err
	}
	sf.Limit = PerPage + 1
	events, err := s.store.ListEvents(ctx, sf)
	if err != nil {
		return Page{}, err
	}
	var p Page
	if len(events) > PerPage {
		events = events[:PerPage]
		p.More = events[len(events)-1].ID
	}
	emails := s.newEmails()
	for _, e := range events {
		r := Row{Event: e}
		if r.Actor, r.ActorFound, err = emails.email(ctx, e.ActorID); err != nil {
			return Page{}, err
		}
		if r.User, r.UserFound, err = emails.email(ctx, e.UserID); err != nil {
			return Page{}, err
		}
		p.Rows = append(p.Rows, r)
	}
	return p, nil
}

// emails resolves the user ids events name to addresses, asking the store once per id.
type emails struct {
	store *store.Store
	known map[int64]named
}

// named is how the log names one user id: the address, and whether the user still exists.
type named struct {
	addr   string
	exists bool
}

func (s *Service) newEmails() *emails { return &emails{store: s.store, known: map[int64]named{}} }

// email is the address of the user id names: "" for none; for a deleted user the address they
// had followed by "(deleted)", or "(deleted user)" when it was not kept (deleted before weftid
// kept it). ok says whether the user exists.
func (e *emails) email(ctx context.Context, id *int64) (addr string, ok bool, err error) {
	if id == nil {
		return "", false, nil
	}
	n, seen := e.known[*id]
	if !seen {
		if n, err = e.lookup(ctx, *id); err != nil {
			return "", false, err
		}
		e.known[*id] = n
	}
	return n.addr, n.exists, nil
}

// lookup names one user id: a user, a deleted user, or neither.
func (e *emails) lookup(ctx context.Context, id int64) (named, error) {
	u, err := e.store.UserByID(ctx, id)
	if err == nil {
		return named{addr: u.Email, exists: true}, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return named{}, err
	}
	d, err := e.store.DeletedUserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return named{addr: "(deleted user)"}, nil
	}
	if err != nil {
		return named{}, err
	}
	return named{addr: d.Email + " (deleted)"}, nil
}

// Export is a CSV export of the log a filter keeps, whose first batch is read (so a database
// error is still an error page, not a cut file).
type Export struct {
	s      *Service
	filter store.EventFilter
	first  []store.Event
}

// Export reads the first batch of the CSV export of the log f keeps (f.Before is ignored: the
// export starts at the newest event). A Filter.User that matches nobody, or too many users,
// exports no event (as the page lists none).
func (s *Service) Export(ctx context.Context, f Filter) (*Export, error) {
	f.Before = 0
	sf, err := s.storeFilter(ctx, f)
	if errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrTooManyUsers) {
		return &Export{s: s}, nil
	}
	if err != nil {
		return nil, err
	}
	sf.Limit = exportBatch
	first, err := s.store.ListEvents(ctx, sf)
	if err != nil {
		return nil, err
	}
	return &Export{s: s, filter: sf, first: first}, nil
}

// csvHeader names the export's columns.
var csvHeader = []string{"id", "time", "type", "actor_email", "user_email", "ip", "user_agent", "details"}

// WriteTo writes the header, then batch after batch of events, newest first, flushing each to w
// before the next is read: an export of the whole log needs no more memory than one batch.
func (x *Export) WriteTo(ctx context.Context, w *bufio.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	emails := x.s.newEmails()
	f, batch := x.filter, x.first
	for {
		for _, e := range batch {
			record, err := csvRecord(ctx, emails, e)
			if err != nil {
				return err
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
		if len(batch) < f.Limit || len(batch) == 0 {
			return nil
		}
		f.BeforeID = batch[len(batch)-1].ID
		var err error
		if batch, err = x.s.store.ListEvents(ctx, f); err != nil {
			return err
		}
	}
}

// csvRecord is one event's row of the export.
func csvRecord(ctx context.Context, emails *emails, e store.Event) ([]string, error) {
	actor, _, err := emails.email(ctx, e.ActorID)
	if err != nil {
		return nil, err
	}
	subject, _, err := emails.email(ctx, e.UserID)
	if err != nil {
		return nil, err
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if details, err = json.Marshal(e.Details); err != nil {
			return nil, err
		}
	}
	return []string{
		strconv.FormatInt(e.ID, 10),
		e.At.UTC().Format(time.RFC3339),
		csvCell(string(e.Type)),
		csvCell(actor),
		csvCell(subject),
		csvCell(e.IP),
		csvCell(e.UserAgent),
		csvCell(string(details)),
	}, nil
}

// csvCell keeps a spreadsheet from reading a cell as a formula: a value that starts with = + - @
// (or a tab or carriage return, which some spreadsheets skip) gets a leading single quote.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
