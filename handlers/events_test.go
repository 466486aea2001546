package handlers_test

// The event log (/events and /events.csv) through the real app: filters by type, user and
// date range, paging with "Load more" (plain links and htmx), and the CSV export.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/store"
)

const (
	msgNoSuchUser = "No user has that email address."
	msgBadDate    = "Enter dates as YYYY-MM-DD."
)

var (
	eventRowID   = regexp.MustCompile(`<tr id="event-(\d+)">`)
	typeOptions  = regexp.MustCompile(`<option value="([a-z0-9_]+)"`)
	typeGroups   = regexp.MustCompile(`(?s)<optgroup label="([^"]+)">(.*?)</optgroup>`)
	optionLabels = regexp.MustCompile(`<option value="[a-z0-9_]+"[^>]*>([^<]*)</option>`)
	loadMoreHref = regexp.MustCompile(`<tr id="events-more">\s*<td[^>]*>\s*<a href="([^"]*)"`)
)

// listedEvents are the ids of the event rows a page shows, in order.
func listedEvents(t *testing.T, body string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range eventRowID.FindAllStringSubmatch(body, -1) {
		id, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	return out
}

// loadMore is the address of the page's "Load more" link, "" when it has none.
func loadMore(body string) string {
	m := loadMoreHref.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// addEvents stores events in one transaction and returns their ids, in order.
func (e *env) addEvents(evs ...store.Event) []int64 {
	e.t.Helper()
	ctx := context.Background()
	var ids []int64
	err := e.store.InTx(ctx, func(tx *store.Tx) error {
		for _, ev := range evs {
			if err := tx.AddEvent(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("AddEvent: %v", err)
	}
	all, err := e.store.ListEvents(ctx, store.EventFilter{Limit: len(evs)})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range all {
		ids = append(ids, ev.ID)
	}
	slices.Reverse(ids)
	return ids
}

// day is midnight UTC of a day in March 2026, long before the test clock's now.
func day(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }

func TestEventLogFilters(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	bob := e.createUser("bob@example.com", "Bob", store.RoleUser, store.StatusActive)
	ids := e.addEvents(
		store.Event{At: day(1), Type: "user_created", ActorID: &adminUser.ID, UserID: &ann.ID},                           // 0
		store.Event{At: day(2).Add(-time.Second), Type: "login_failed", UserID: &ann.ID},                                 // 1: last second of 1 March
		store.Event{At: day(2), Type: "login_failed", UserID: &bob.ID},                                                   // 2: first second of 2 March
		store.Event{At: day(2).Add(12 * time.Hour), Type: "mfa_reset_by_admin", ActorID: &adminUser.ID, UserID: &ann.ID}, // 3
		store.Event{At: day(3), Type: "passkey_revoked", ActorID: &adminUser.ID, UserID: &bob.ID},                        // 4
	)
	pick := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}

	tests := []struct {
		name, query string
		want        []int64
	}{
		{"type", "type=login_failed", pick(2, 1)},
		{"user", "user=ann@example.com", pick(3, 1, 0)},
		{"user in another case", "user=%20Ann@Example.COM%20", pick(3, 1, 0)},
		{"what a user did to others", "type=mfa_reset_by_admin&user=admin@example.com", pick(3)},
		{"one day, both ends inclusive", "from=2026-03-01&to=2026-03-01", pick(1, 0)},
		{"the next day", "from=2026-03-02&to=2026-03-02", pick(3, 2)},
		{"two days", "from=2026-03-01&to=2026-03-02", pick(3, 2, 1, 0)},
		{"until a day", "to=2026-03-02", pick(3, 2, 1, 0)},
		{"from a day", "from=2026-03-03&to=2026-03-31", pick(4)},
		{"type, user and days", "type=login_failed&user=bob@example.com&from=2026-03-01&to=2026-03-03", pick(2)},
		{"reversed days", "from=2026-03-03&to=2026-03-01", nil},
		{"unknown type is ignored", "type=nope&to=2026-03-31", pick(4, 3, 2, 1, 0)},
	}
	for _, tt := range tests {
		r := admin.get("/events?" + tt.query)
		expectStatus(t, r, http.StatusOK)
		if got := listedEvents(t, r.Body); !slices.Equal(got, tt.want) {
			t.Errorf("%s: /events?%s lists %v, want %v", tt.name, tt.query, got, tt.want)
		}
		expectNoAlert(t, r)
	}

	// From a day on, with no end: today's sign-in is there too.
	if got := listedEvents(t, admin.get("/events?from=2026-03-03").Body); len(got) < 2 || !slices.Contains(got, ids[4]) {
		t.Errorf("from 3 March: %v, want the passkey_revoked event and the sign-in events", got)
	}

	// The form shows the filter as accepted, and the export link carries it.
	r := admin.get("/events?type=login_failed&user=ANN@example.com&from=2026-03-01&to=2026-03-02")
	bodyHas(t, "filtered page", r.Body,
		`<option value="login_failed" selected>`, `name="user" value="ann@example.com"`,
		`name="from" value="2026-03-01"`, `name="to" value="2026-03-02"`,
		`href="/events.csv?from=2026-03-01&amp;to=2026-03-02&amp;type=login_failed&amp;user=ann%40example.com"`)
	if got := listedEvents(t, r.Body); !slices.Equal(got, pick(1)) {
		t.Errorf("combined filter lists %v, want %v", got, pick(1))
	}

	// An address nobody has matches nothing, and says so; so does a date that is not one.
	r = admin.get("/events?user=nobody@example.com")
	expectAlert(t, r, msgNoSuchUser)
	if got := listedEvents(t, r.Body); len(got) != 0 {
		t.Errorf("unknown user lists %v, want nothing", got)
	}
	bodyHas(t, "unknown user", r.Body, "No events match.")
	r = admin.get("/events?from=yesterday&to=2026-03-01")
	expectAlert(t, r, msgBadDate)
	if got := listedEvents(t, r.Body); !slices.Equal(got, pick(1, 0)) {
		t.Errorf("a bad from date with a good to: %v, want %v", got, pick(1, 0))
	}

	// Users are named by address and linked to their pages.
	bodyHas(t, "event log", admin.get("/events?type=mfa_reset_by_admin").Body,
		fmt.Sprintf(`<a href="/users/%d/profile">admin@example.com</a>`, adminUser.ID),
		fmt.Sprintf(`<a href="/users/%d/profile">ann@example.com</a>`, ann.ID))

	// Admins only.
	_, plain := e.signedIn("plain@example.com", "Pat", store.RoleUser)
	expectStatus(t, plain.get("/events"), http.StatusForbidden)
	expectStatus(t, plain.get("/events.csv"), http.StatusForbidden)
}

// The type filter offers every event type the code writes and every type DESIGN.md names.
func TestEventLogOffersEveryType(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	body := admin.get("/events").Body
	var offered []string
	for _, m := range typeOptions.FindAllStringSubmatch(body, -1) {
		offered = append(offered, m[1])
	}

	// The types the code can write: every EventType constant of the store package, which the
	// typed Event.Type and h.event take; and no code writes a bare string literal as a type.
	consts, err := eventTypeConstants("../store/event_types.go")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, v := range consts {
		want = append(want, v)
	}
	if len(want) < 10 {
		t.Fatalf("found only %d event types in the code: %v", len(want), want)
	}
	bare := regexp.MustCompile(`(?:event\(c, |Type:\s*|\btyp(?:, \w+)? :?= )"([a-z0-9_]+)"`)
	files, _ := filepath.Glob("../*/*.go")
	more, _ := filepath.Glob("../*.go")
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_templ.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range bare.FindAllStringSubmatch(string(src), -1) {
			if m[2] != "xs:string" {
				t.Errorf("%s writes event type %q as a bare string: use its store.Event constant", f, m[2])
			}
		}
	}
	want = append(want,
		"password_changed", "password_reset_forced", "password_reset_completed",
		"password_reset_requested", "password_self_reset_completed", "password_breach_detected",
		"password_policy_updated", "tenant_auth_policy_updated", "user_signed_in", "user_signed_out",
		"login_failed", "email_code_sent", "mfa_totp_enabled", "mfa_backup_codes_regenerated",
		"mfa_reset_by_admin", "passkey_registered", "passkey_revoked", "user_enhanced_auth_enrolled",
		"oauth2_user_tokens_revoked", "user_created", "user_role_changed")
	for _, typ := range want {
		if !slices.Contains(offered, typ) {
			t.Errorf("the type filter does not offer %q", typ)
		}
	}
	// Each type once, under a heading of the filter (an optgroup), sorted by label within it.
	if sorted := slices.Sorted(slices.Values(offered)); len(slices.Compact(sorted)) != len(offered) {
		t.Errorf("types offered are not unique: %v", offered)
	}
	inGroups := 0
	for _, g := range typeGroups.FindAllStringSubmatch(body, -1) {
		labels := optionLabels.FindAllStringSubmatch(g[2], -1)
		inGroups += len(labels)
		if !slices.IsSortedFunc(labels, func(a, b []string) int { return strings.Compare(a[1], b[1]) }) {
			t.Errorf("the types under %q are not sorted by label", g[1])
		}
	}
	if inGroups != len(offered) {
		t.Errorf("%d of the %d types offered are under a heading", inGroups, len(offered))
	}
}

func TestEventLogPaging(t *testing.T) {
	e := newEnv(t)
	_, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	var evs []store.Event
	for i := range 120 {
		evs = append(evs, store.Event{At: day(1).Add(time.Duration(i) * time.Minute), Type: "login_failed", IP: fmt.Sprintf("192.0.2.%d", i)})
	}
	ids := e.addEvents(evs...)
	slices.Reverse(ids) // newest first, as listed

	// Page 1: the newest 50, and a link to the next page that keeps the filter.
	r := admin.get("/events?type=login_failed")
	if got := listedEvents(t, r.Body); !slices.Equal(got, ids[:50]) {
		t.Fatalf("page 1 lists %v, want %v", got, ids[:50])
	}
	next := loadMore(r.Body)
	if want := fmt.Sprintf("/events?before=%d&type=login_failed", ids[49]); next != want {
		t.Fatalf("Load more: got %q, want %q", next, want)
	}
	bodyHas(t, "page 1", r.Body, `hx-get="`+strings.ReplaceAll(next, "&", "&amp;")+`"`, `hx-target="#events-more"`, `hx-swap="outerHTML"`)

	// Load more with htmx: only the next rows and the next button, to replace the old button.
	f := admin.htmxGet(next)
	expectStatus(t, f, http.StatusOK)
	if !strings.HasPrefix(strings.TrimSpace(f.Body), `<tr id="event-`) {
		t.Errorf("Load more fragment: %.200s", f.Body)
	}
	bodyLacks(t, "Load more fragment", f.Body, "<html", "<table", "<tbody", "<form")
	if got := listedEvents(t, f.Body); !slices.Equal(got, ids[50:100]) {
		t.Errorf("page 2 lists %v, want %v", got, ids[50:100])
	}
	last := loadMore(f.Body)
	if want := fmt.Sprintf("/events?before=%d&type=login_failed", ids[99]); last != want {
		t.Fatalf("page 2's Load more: got %q, want %q", last, want)
	}
	f = admin.htmxGet(last)
	if got := listedEvents(t, f.Body); !slices.Equal(got, ids[100:]) {
		t.Errorf("page 3 lists %v, want %v", got, ids[100:])
	}
	bodyLacks(t, "last page", f.Body, "events-more", "Load more")

	// Without JavaScript the link is a page of its own.
	p := admin.get(next)
	bodyHas(t, "page 2 without htmx", p.Body, "<html", `<tbody id="event-rows">`, `<option value="login_failed" selected>`)
	if got := listedEvents(t, p.Body); !slices.Equal(got, ids[50:100]) {
		t.Errorf("page 2 without htmx lists %v", got)
	}
}

// exportCSV fetches /events.csv with a query and parses it.
func exportCSV(t *testing.T, c *client, query string) [][]string {
	t.Helper()
	r := c.get("/events.csv?" + query)
	expectStatus(t, r, http.StatusOK)
	if got := r.Header.Get("Content-Type"); got != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type: got %q", got)
	}
	if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="weftid-events.csv"`; got != want {
		t.Errorf("Content-Disposition: got %q, want %q", got, want)
	}
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%.500s", err, r.Body)
	}
	want := []string{"id", "time", "type", "actor_email", "user_email", "ip", "user_agent", "details"}
	if len(rows) == 0 || !slices.Equal(rows[0], want) {
		t.Fatalf("CSV header: got %v, want %v", rows, want)
	}
	return rows[1:]
}

func TestEventExportCSV(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ann := e.createUser("ann@example.com", "Ann", store.RoleUser, store.StatusActive)
	odd := e.createUser("+1@example.com", "Odd", store.RoleUser, store.StatusActive)

	// More events than one batch of the export, so it has to page.
	var bulk []store.Event
	for i := range 1100 {
		bulk = append(bulk, store.Event{At: day(1).Add(time.Duration(i) * time.Second), Type: "login_failed", UserID: &ann.ID, IP: "192.0.2.1"})
	}
	bulkIDs := e.addEvents(bulk...)
	special := e.addEvents(
		store.Event{At: day(5), Type: "mfa_reset_by_admin", ActorID: &adminUser.ID, UserID: &ann.ID,
			IP: "198.51.100.7", UserAgent: "Mozilla/5.0, \"quoted\"", Details: map[string]any{"totp": true, "backup_codes": 10}},
		store.Event{At: day(6), Type: "@sum", ActorID: &odd.ID, UserID: &odd.ID,
			IP: "-1", UserAgent: `=HYPERLINK("http://evil.example","click")`, Details: map[string]any{"x": "=1+1"}},
	)

	// Everything, newest first: the two special events on top, every bulk event, the sign-in.
	all := exportCSV(t, admin, "")
	var got []int64
	for _, row := range all {
		id, _ := strconv.ParseInt(row[0], 10, 64)
		got = append(got, id)
	}
	if !slices.IsSortedFunc(got, func(a, b int64) int { return int(b - a) }) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Error("export is not newest first without repeats")
	}
	for _, id := range append(bulkIDs, special...) {
		if !slices.Contains(got, id) {
			t.Fatalf("export lacks event %d (has %d rows)", id, len(all))
		}
	}
	if got[0] != special[1] || got[1] != special[0] {
		t.Errorf("export starts with %v, want %v", got[:2], []int64{special[1], special[0]})
	}

	// Columns: UTC RFC 3339 time, addresses, JSON details; quoting survives.
	want := []string{strconv.FormatInt(special[0], 10), "2026-03-05T00:00:00Z", "mfa_reset_by_admin",
		"admin@example.com", "ann@example.com", "198.51.100.7", "Mozilla/5.0, \"quoted\"", `{"backup_codes":10,"totp":true}`}
	if !slices.Equal(all[1], want) {
		t.Errorf("row: got %q, want %q", all[1], want)
	}
	var details map[string]any
	if err := json.Unmarshal([]byte(all[1][7]), &details); err != nil {
		t.Errorf("details are not JSON: %v", err)
	}
	// Cells a spreadsheet would run as formulas start with a quote.
	want = []string{strconv.FormatInt(special[1], 10), "2026-03-06T00:00:00Z", "'@sum",
		"'+1@example.com", "'+1@example.com", "'-1", `'=HYPERLINK("http://evil.example","click")`, `{"x":"=1+1"}`}
	if !slices.Equal(all[0], want) {
		t.Errorf("row: got %q, want %q", all[0], want)
	}

	// The filters of the page apply.
	rows := exportCSV(t, admin, "type=login_failed&user=ann@example.com")
	if len(rows) != len(bulk) {
		t.Errorf("type and user: %d rows, want %d", len(rows), len(bulk))
	}
	rows = exportCSV(t, admin, "from=2026-03-05&to=2026-03-05")
	if len(rows) != 1 || rows[0][0] != strconv.FormatInt(special[0], 10) {
		t.Errorf("one day: got %v, want only event %d", rows, special[0])
	}
	rows = exportCSV(t, admin, "type=mfa_reset_by_admin&user=bob@example.com")
	if len(rows) != 0 {
		t.Errorf("unknown user: %d rows, want 0", len(rows))
	}
	// A page's before= is not a filter: the export has everything the filters match.
	rows = exportCSV(t, admin, fmt.Sprintf("type=login_failed&before=%d", bulkIDs[10]))
	if len(rows) != len(bulk) {
		t.Errorf("with before=: %d rows, want %d", len(rows), len(bulk))
	}
}

// eventTypeConstants reads the EventType constants declared in a Go file: name to value.
func eventTypeConstants(path string) (map[string]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "EventType" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					return nil, fmt.Errorf("%s: %s is not a string literal", path, name.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					return nil, err
				}
				out[name.Name] = v
			}
		}
	}
	return out, nil
}
