package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/weftid/weftid/migrations"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/eventchain"
	"github.com/weftid/weftid/store/storetest"
)

// chainOK walks the whole chain as the store hands it out and fails the test at the first event
// whose stored hash is not the hash of its content and its predecessor's. It returns the count.
func chainOK(t *testing.T, s *store.Store) int {
	t.Helper()
	links, err := s.EventChain(context.Background(), 0, 1_000_000)
	if err != nil {
		t.Fatalf("EventChain: %v", err)
	}
	prev := ""
	for i, l := range links {
		if i > 0 && l.ID != links[i-1].ID+1 {
			t.Errorf("event %d follows event %d: ids have a gap", l.ID, links[i-1].ID)
		}
		l.Prev = prev
		if got := eventchain.Hash(l.Link); got != l.Hash {
			t.Fatalf("event %d (%s): stored hash %q, want %q", l.ID, l.Type, l.Hash, got)
		}
		prev = l.Hash
	}
	return len(links)
}

// TestAddEventChainsConcurrently: many goroutines adding events at once, on the Store and on
// transactions, still leave one unbroken chain with every event in it.
func TestAddEventChainsConcurrently(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	const workers, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := store.Event{At: t0, Type: store.EventLoginFailed, IP: fmt.Sprintf("192.0.2.%d", w), Details: map[string]any{"i": i}}
				if w%2 == 0 {
					errs <- s.AddEvent(ctx, e)
				} else {
					errs <- s.InTx(ctx, func(tx *store.Tx) error { return tx.AddEvent(ctx, e) })
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("AddEvent: %v", err)
		}
	}
	if n := chainOK(t, s); n != workers*each {
		t.Errorf("chain holds %d events, want %d", n, workers*each)
	}
}

// TestEventWithoutHashRefused: an insert that bypasses AddEvent (and so has no hash) is refused
// by the database rather than silently breaking the chain.
func TestEventWithoutHashRefused(t *testing.T) {
	s, _ := newStore(t)
	_, err := store.RawDB(s).Exec(`INSERT INTO events (at, type) VALUES (1, 'login_failed')`)
	if err == nil {
		t.Fatal("insert without a hash succeeded, want it refused")
	}
}

// TestEventChainMigration: events written before migration 14 get a valid chain from it; down
// removes the hash and the checks table, and up again chains the events anew.
func TestEventChainMigration(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t)
	db := secondHandle(t, path)
	p, err := migrations.Provider(db.DB, storetest.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatalf("down to 13: %v", err)
	}
	// Events as the server before the chain wrote them, odd columns included.
	for i, stmt := range []string{
		`INSERT INTO events (at, type, user_id, details) VALUES (100, 'user_created', 1, '{"role":"user"}')`,
		`INSERT INTO events (at, type, actor_id, user_id, ip, user_agent) VALUES (101, 'login_failed', 1, NULL, '192.0.2.1', 'ua "quoted"')`,
		`INSERT INTO events (at, type, details) VALUES (102, 'login_failed', '{"a": [1, 2],  "b":"é"}')`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if _, err := s.EventChain(ctx, 0, 10); !errors.Is(err, store.ErrNoEventChain) {
		t.Errorf("EventChain before migration 14 = %v, want ErrNoEventChain", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	if n := chainOK(t, s); n != 3 {
		t.Errorf("chain after migration holds %d events, want 3", n)
	}
	if err := s.AddEvent(ctx, store.Event{At: t0, Type: store.EventLoginFailed}); err != nil {
		t.Fatal(err)
	}
	if n := chainOK(t, s); n != 4 {
		t.Errorf("chain after a new event holds %d events, want 4", n)
	}
	if _, err := db.ExecContext(ctx, `UPDATE events SET ip = 'x' WHERE id = 1`); err == nil {
		t.Error("update after the migration succeeded, want the append-only trigger back")
	}

	if _, err := p.DownTo(ctx, 13); err != nil {
		t.Fatalf("down to 13 again: %v", err)
	}
	if hasColumn(t, s, "events", "hash") {
		t.Error("down left the hash column")
	}
	if objs := append(schemaObjects(t, s, "event_chain_checks"), schemaObjects(t, s, "events_hash_required")...); len(objs) != 0 {
		t.Errorf("down left the checks table or the hash trigger: %q", objs)
	}
	if n := count(t, db, `SELECT count(*) FROM events`); n != 4 {
		t.Errorf("down kept %d events, want 4", n)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if n := chainOK(t, s); n != 4 {
		t.Errorf("chain after up/down/up holds %d events, want 4", n)
	}
}
