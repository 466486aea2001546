package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftid/weftid/services/audit"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/eventchain"
	"github.com/weftid/weftid/store/storetest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// setup opens a store with n events and a raw handle on the same database, its append-only triggers
// dropped, through which the tests tamper with the log as someone with the file could.
func setup(t *testing.T, n int) (*store.Store, *storetest.Raw, *audit.Service) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DB(t)
	st := storetest.OpenAt(t, dsn)
	for i := range n {
		typ := store.EventLoginFailed
		if i%2 == 0 {
			typ = store.EventUserCreated
		}
		if err := st.AddEvent(ctx, store.Event{At: t0.Add(time.Duration(i) * time.Second), Type: typ, IP: "192.0.2.1", Details: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	db := storetest.RawDB(t, dsn)
	for _, trigger := range []string{"events_no_update", "events_no_delete"} {
		if err := db.DropTrigger("events", trigger); err != nil {
			t.Fatal(err)
		}
	}
	return st, db, audit.New(audit.Config{Store: st, Now: func() time.Time { return t0.Add(time.Hour) }})
}

func exec(t *testing.T, db *storetest.Raw, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func verify(t *testing.T, a *audit.Service) audit.Result {
	t.Helper()
	r, err := a.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// wantBroken checks that r names event id of type typ and says problem.
func wantBroken(t *testing.T, r audit.Result, id int64, typ store.EventType, problem string) {
	t.Helper()
	if r.Intact || r.BadID != id || r.BadType != typ || !strings.Contains(r.Problem, problem) {
		t.Fatalf("result %+v, want broken at event %d (%s) saying %q", r.ChainCheck, id, typ, problem)
	}
	if err := r.Err(); !errors.Is(err, audit.ErrBroken) {
		t.Errorf("Err() = %v, want ErrBroken", err)
	}
}

func TestVerifyIntactRecordsHead(t *testing.T) {
	st, _, a := setup(t, 5)
	r := verify(t, a)
	if !r.Intact || r.Events != 5 || r.HeadID != 5 || len(r.HeadHash) != 64 || r.Err() != nil {
		t.Fatalf("result %+v, want 5 intact events with head 5", r.ChainCheck)
	}
	last, ok, err := a.Last(context.Background())
	if err != nil || !ok || last.ChainCheck != r.ChainCheck {
		t.Errorf("Last = %+v %v %v, want the result just recorded %+v", last.ChainCheck, ok, err, r.ChainCheck)
	}
	if _, err := st.LastChainCheck(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestVerifyEmptyLog(t *testing.T) {
	_, _, a := setup(t, 0)
	if _, ok, err := a.Last(context.Background()); ok || err != nil {
		t.Errorf("Last before any verification = %v, %v; want none", ok, err)
	}
	if r := verify(t, a); !r.Intact || r.Events != 0 || r.HeadID != 0 {
		t.Errorf("result %+v, want 0 intact events", r.ChainCheck)
	}
}

func TestVerifyFindsEditedEvent(t *testing.T) {
	_, db, a := setup(t, 5)
	exec(t, db, `UPDATE events SET ip = '203.0.113.9' WHERE id = 3`)
	wantBroken(t, verify(t, a), 3, store.EventUserCreated, "hash does not match")
}

func TestVerifyFindsEditedHash(t *testing.T) {
	_, db, a := setup(t, 5)
	exec(t, db, `UPDATE events SET hash = '`+strings.Repeat("0", 64)+`' WHERE id = 2`)
	wantBroken(t, verify(t, a), 2, store.EventLoginFailed, "hash does not match")
}

func TestVerifyFindsDeletedEvent(t *testing.T) {
	_, db, a := setup(t, 5)
	exec(t, db, `DELETE FROM events WHERE id = 3`)
	wantBroken(t, verify(t, a), 4, store.EventLoginFailed, "hash does not match")
}

// TestVerifyFindsTruncation: removing the newest events leaves a chain that is valid on its own;
// the head the last verification recorded is what finds it, also once new events take the ids.
func TestVerifyFindsTruncation(t *testing.T) {
	st, db, a := setup(t, 5)
	verify(t, a)
	exec(t, db, `DELETE FROM events WHERE id >= 4`)
	r := verify(t, a)
	wantBroken(t, r, 5, "", "is gone")
	if r.HeadID != 5 {
		t.Errorf("a broken check vouches for head %d, want the last verified head 5 kept", r.HeadID)
	}
	for range 2 {
		if err := st.AddEvent(context.Background(), store.Event{At: t0, Type: store.EventLoginFailed}); err != nil {
			t.Fatal(err)
		}
	}
	wantBroken(t, verify(t, a), 5, store.EventLoginFailed, "not the one an earlier verification recorded")
}

// TestVerifyFindsRewrittenChain: someone who edits an event and recomputes every hash after it
// makes a chain valid on its own; it no longer ends in the head the last verification recorded.
func TestVerifyFindsRewrittenChain(t *testing.T) {
	st, db, a := setup(t, 5)
	verify(t, a)
	exec(t, db, `UPDATE events SET ip = '203.0.113.9' WHERE id = 2`)
	links, err := st.EventChain(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, l := range links {
		l.Prev = prev
		prev = eventchain.Hash(l.Link)
		if _, err := db.Exec(`UPDATE events SET hash = ? WHERE id = ?`, prev, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	wantBroken(t, verify(t, a), 5, store.EventUserCreated, "was rewritten")
}

// TestVerifyAfterNewEvents: events written after an intact verification extend the chain; the
// next verification moves the head to the newest.
func TestVerifyAfterNewEvents(t *testing.T) {
	st, _, a := setup(t, 3)
	verify(t, a)
	if err := st.InTx(context.Background(), func(tx *store.Tx) error {
		return tx.AddEvent(context.Background(), store.Event{At: t0, Type: store.EventLoginFailed})
	}); err != nil {
		t.Fatal(err)
	}
	if r := verify(t, a); !r.Intact || r.Events != 4 || r.HeadID != 4 {
		t.Errorf("result %+v, want 4 intact events with head 4", r.ChainCheck)
	}
}
