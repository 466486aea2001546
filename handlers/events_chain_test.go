package handlers_test

// The Events page says whether the event log's hash chain was intact at its last verification.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/storetest"
)

func TestEventsPageShowsChainStatus(t *testing.T) {
	ctx := context.Background()
	path := storetest.DB(t)
	e := newEnvWith(t, envOptions{db: path})
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	ids := e.addEvents(
		store.Event{At: day(1), Type: store.EventUserCreated, ActorID: &adminUser.ID, UserID: &adminUser.ID},
		store.Event{At: day(2), Type: store.EventLoginFailed, IP: "192.0.2.7"},
	)
	at := time.Date(2026, 3, 4, 9, 30, 0, 0, time.UTC)
	verifier := audit.New(audit.Config{Store: e.store, Now: func() time.Time { return at }})

	if r := admin.get("/events"); r.Status != 200 || !strings.Contains(r.Body, "Hash chain not verified yet") {
		t.Fatalf("/events before any verification: %d, want it to say so:\n%s", r.Status, r.Body)
	}

	first, err := verifier.Verify(ctx)
	if err != nil || !first.Intact {
		t.Fatalf("Verify = %+v, %v", first.ChainCheck, err)
	}
	want := fmt.Sprintf(`Chain intact as of <time datetime="2026-03-04T09:30:00Z">2026-03-04 09:30 UTC</time> (%d events).`, first.Events)
	if r := admin.get("/events"); !strings.Contains(r.Body, want) {
		t.Fatalf("/events after an intact verification lacks %q:\n%s", want, r.Body)
	}

	raw := storetest.RawDB(t, path)
	if err := raw.DropTrigger("events", "events_no_update"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE events SET ip = '203.0.113.1' WHERE id = ?`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if r, err := verifier.Verify(ctx); err != nil || r.Intact {
		t.Fatalf("Verify after the edit = %+v, %v; want broken", r.ChainCheck, err)
	}
	r := admin.get("/events")
	for _, want := range []string{
		`<p role="alert" id="chain-status">`,
		"The event log has been tampered with.",
		fmt.Sprintf(`<a href="/events?before=%d#event-%d">event %d (login_failed)</a>`, ids[1]+1, ids[1], ids[1]),
		"was changed or removed",
	} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("/events after a broken verification lacks %q", want)
		}
	}
	if strings.Contains(r.Body, "Chain intact") {
		t.Error("/events still says the chain is intact")
	}
}

// TestVerifyNowButton: "Verify now" verifies the chain at once for an admin and is refused to
// anyone else.
func TestVerifyNowButton(t *testing.T) {
	e := newEnv(t)
	adminUser, admin := e.signedIn("admin@example.com", "Ada Admin", store.RoleAdmin)
	_, plain := e.signedIn("pat@example.com", "Pat", store.RoleUser)
	e.addEvents(store.Event{At: day(1), Type: store.EventUserCreated, UserID: &adminUser.ID})

	page := admin.get("/events")
	if !strings.Contains(page.Body, `<form id="chain-verify" method="post" action="/events/verify">`) || !strings.Contains(page.Body, `<button form="chain-verify" class="link-button">Verify now</button>`) {
		t.Fatalf("/events has no Verify now form:\n%s", page.Body)
	}
	expectStatus(t, plain.post("/events/verify", nil), http.StatusForbidden)
	if _, err := e.store.LastChainCheck(context.Background()); err == nil {
		t.Fatal("a plain user's Verify now recorded a verification")
	}

	expectRedirect(t, admin.post("/events/verify", nil), "/events#chain-status")
	c, err := e.store.LastChainCheck(context.Background())
	if err != nil || !c.Intact || c.Events == 0 {
		t.Fatalf("recorded check %+v %v, want intact", c, err)
	}
	if r := admin.get("/events"); !strings.Contains(r.Body, fmt.Sprintf("(%d events).", c.Events)) || !strings.Contains(r.Body, "Chain intact as of") {
		t.Errorf("/events after Verify now does not show the intact chain of %d events", c.Events)
	}
}
