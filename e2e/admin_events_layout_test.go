package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// admEventsLayout is where the event log's filter form puts things, in CSS pixels.
type admEventsLayout struct {
	Form    admBox            `json:"form"`
	Fields  map[string]admBox `json:"fields"`  // select and inputs, by name
	Buttons map[string]admBox `json:"buttons"` // Filter, Clear, Export CSV, by text
	// Wrapped are the labels whose own text takes more than one line.
	Wrapped []string `json:"wrapped"`
	// TimeLines is how many lines the tallest time of the table takes.
	TimeLines float64 `json:"timeLines"`
}

type admBox struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Right  float64 `json:"right"`
	Bottom float64 `json:"bottom"`
}

func (b admBox) overlaps(o admBox) bool {
	return b.Left < o.Right-0.5 && o.Left < b.Right-0.5 && b.Top < o.Bottom-0.5 && o.Top < b.Bottom-0.5
}

func (b admBox) width() float64 { return b.Right - b.Left }

var admReadEventsLayout = chromedp.Evaluate[admEventsLayout](`(() => {
	const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
	const form = document.querySelector(` + jsString(admEventsForm) + `);
	const fields = {}, buttons = {}, wrapped = [];
	form.querySelectorAll("select, input:not([type=hidden])").forEach(e => fields[e.name] = box(e));
	form.querySelectorAll("button, a[role=button]").forEach(e => buttons[e.innerText.trim()] = box(e));
	form.querySelectorAll("label").forEach(l => {
		const text = Array.from(l.childNodes).find(n => n.nodeType === 3 && n.textContent.trim());
		const range = document.createRange();
		range.selectNodeContents(text);
		const tops = new Set(Array.from(range.getClientRects(), r => Math.round(r.top)));
		if (tops.size > 1) wrapped.push(text.textContent.trim());
	});
	let timeLines = 0;
	document.querySelectorAll("#event-rows time").forEach(t => {
		const lh = parseFloat(getComputedStyle(t).lineHeight) || 24;
		timeLines = Math.max(timeLines, t.getBoundingClientRect().height / lh);
	});
	return {form: box(form), fields, buttons, wrapped, timeLines};
})()`)

// TestEventLogLayoutAndLocalTime: at 390 and 1280 px the Events page does not scroll sideways,
// the filter's labels stay on one line, its Filter, Clear and Export CSV are separate buttons
// clear of the fields (four fields in a row on a desktop, stacked full width on a phone), and
// the event times are in the browser's time zone, each on one line.
func TestEventLogLayoutAndLocalTime(t *testing.T) {
	const adminEmail = "hedy@example.com"
	srv := startServer(t)
	srv.addUser(t, adminEmail, "Hedy Lamarr", "admin", admPassword)
	ctx := newBrowser(t)
	// India: +05:30 all year, so no day of the year makes the local time look like UTC.
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Kolkata"}); err != nil {
		t.Fatalf("emulate a time zone: %v", err)
	}
	pwSignIn(t, ctx, srv, adminEmail, admPassword)
	do(t, ctx, "open Events", chromedp.Navigate(srv.url("/events")), waitPath("/events"), chromedp.WaitVisible(chromedp.CSS(admEventRows)))

	// The newest event (the sign-in) in local time, the UTC text kept as the title.
	type shown struct {
		Datetime string `json:"datetime"`
		Text     string `json:"text"`
		Title    string `json:"title"`
		Left     int    `json:"left"` // times the script has not localised
	}
	s := read(t, ctx, "read the first time", chromedp.Evaluate[shown](`(() => {
		const t = document.querySelector("#event-rows time");
		return {datetime: t.getAttribute("datetime"), text: t.innerText, title: t.title,
			left: document.querySelectorAll("time[data-local]").length};
	})()`))
	at, err := time.Parse(time.RFC3339, s.Datetime)
	if err != nil {
		t.Fatalf("datetime %q: %v", s.Datetime, err)
	}
	ist := time.FixedZone("IST", 5*3600+30*60)
	if want := at.In(ist).Format("2006-01-02 15:04:05"); !strings.HasPrefix(s.Text, want) || strings.Contains(s.Text, "UTC") {
		t.Errorf("a time in Asia/Kolkata reads %q, want it to start with %q (not UTC)", s.Text, want)
	}
	if want := at.UTC().Format("2006-01-02 15:04:05") + " UTC"; s.Title != want {
		t.Errorf("the time's title is %q, want the UTC time %q", s.Title, want)
	}
	if s.Left != 0 {
		t.Errorf("%d times left in UTC", s.Left)
	}

	for _, vp := range []struct{ w, h int64 }{{390, 844}, {1280, 900}} {
		file := fmt.Sprintf("/tmp/weftid-events-%d.png", vp.w)
		admShot(t, ctx, file, vp.w, vp.h, func() {
			checkNoSidewaysScroll(t, ctx, fmt.Sprintf("/events at %d px", vp.w))
			l := read(t, ctx, "measure the filter form", admReadEventsLayout)
			admCheckEventsLayout(t, vp.w, l)
		})
	}
}

// admCheckEventsLayout checks the filter form and the times as measured at width w.
func admCheckEventsLayout(t *testing.T, w int64, l admEventsLayout) {
	t.Helper()
	if len(l.Fields) != 4 || len(l.Buttons) != 3 {
		t.Fatalf("at %d px: fields %v, buttons %v; want 4 and Filter, Clear, Export CSV", w, l.Fields, l.Buttons)
	}
	for name, b := range l.Buttons {
		for field, f := range l.Fields {
			if b.overlaps(f) {
				t.Errorf("at %d px the %s button covers the %s field: %+v over %+v", w, name, field, b, f)
			}
		}
		for other, o := range l.Buttons {
			if other != name && b.overlaps(o) {
				t.Errorf("at %d px the %s and %s buttons overlap", w, name, other)
			}
		}
		if b.Left < l.Form.Left-0.5 || b.Right > l.Form.Right+0.5 {
			t.Errorf("at %d px the %s button sticks out of the form: %+v in %+v", w, name, b, l.Form)
		}
	}
	if len(l.Wrapped) > 0 {
		t.Errorf("at %d px these labels wrap: %q", w, l.Wrapped)
	}
	if l.TimeLines > 1.5 {
		t.Errorf("at %d px a time takes %.1f lines", w, l.TimeLines)
	}
	typ := l.Fields["type"]
	if w >= 1000 {
		for name, f := range l.Fields {
			if f.Top != typ.Top {
				t.Errorf("at %d px the %s field is not in the row of fields (top %.0f, Type's %.0f)", w, name, f.Top, typ.Top)
			}
		}
		for name, b := range l.Buttons {
			if b.width() > 250 {
				t.Errorf("at %d px the %s button is %.0f px wide", w, name, b.width())
			}
		}
		return
	}
	for name, f := range l.Fields {
		if f.width() < l.Form.width()-1 {
			t.Errorf("at %d px the %s field is %.0f px wide in a %.0f px form: not full width", w, name, f.width(), l.Form.width())
		}
	}
	if l.Fields["user"].Top <= typ.Top {
		t.Errorf("at %d px the fields are not stacked", w)
	}
}
