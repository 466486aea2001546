// Package audit owns reading the event log and its integrity: the pages of events (filtered,
// with the people they name resolved to addresses) and the CSV export (events.go); and the hash
// chain that links each event to the one before (see store/eventchain), whose verification it
// records for the Events page to show. The command line (weftid events verify) and a daily job
// run the verification.
package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/store/eventchain"
)

// batch is how many events Verify reads at a time. Each batch is its own read, so a long walk
// holds no snapshot that would keep the WAL from being checkpointed.
const batch = 1000

// Config is what the service needs. Now and Log default to time.Now and slog.Default.
type Config struct {
	Store *store.Store
	Now   func() time.Time
	Log   *slog.Logger
}

// Service verifies the event chain.
type Service struct {
	store *store.Store
	now   func() time.Time
	log   *slog.Logger
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{store: cfg.Store, now: cfg.Now, log: cfg.Log}
}

// Result is one verification of the chain, as recorded.
type Result struct{ store.ChainCheck }

// ErrBroken is what Result.Err wraps when the chain is not intact.
var ErrBroken = errors.New("event chain broken")

// Err is nil when the chain was intact, and otherwise an error (wrapping ErrBroken) that names
// the first bad event and what is wrong with it.
func (r Result) Err() error {
	if r.Intact {
		return nil
	}
	if r.BadType == "" {
		return fmt.Errorf("%w at event %d: %s", ErrBroken, r.BadID, r.Problem)
	}
	return fmt.Errorf("%w at event %d (%s): %s", ErrBroken, r.BadID, r.BadType, r.Problem)
}

// The problems a verification can find with an event.
const (
	problemHash      = "its hash does not match its content and the hash of the event before it: it, or the event before it, was changed or removed"
	problemRewritten = "its hash is not the one an earlier verification recorded: the chain up to it was rewritten"
	problemMissing   = "it was the newest event at an earlier verification and is gone: events were removed from the end of the log"
)

// Verify walks the chain in id order, recomputing each event's hash, and checks that the head
// the last verification vouched for is still there with the same hash, which finds the newest
// events removed (or the whole chain recomputed) since then. It records and returns the result:
// intact with the number of events and the new head, or the first bad event. A broken chain is a
// result, not an error: err is only for a verification that could not run.
func (s *Service) Verify(ctx context.Context) (Result, error) {
	last, err := s.store.LastChainCheck(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Result{}, err
	}
	r := Result{store.ChainCheck{At: s.now().UTC(), Intact: true}}
	headSeen := last.HeadID == 0
	bad := func(l store.ChainLink, problem string) {
		r.Intact, r.BadID, r.BadType, r.Problem = false, l.ID, store.EventType(l.Type), problem
	}
	prev := ""
	var after int64
walk:
	for {
		links, err := s.store.EventChain(ctx, after, batch)
		if err != nil {
			return Result{}, err
		}
		for _, l := range links {
			r.Events++
			l.Prev = prev
			if eventchain.Hash(l.Link) != l.Hash {
				bad(l, problemHash)
				break walk
			}
			if l.ID == last.HeadID {
				headSeen = true
				if l.Hash != last.HeadHash {
					bad(l, problemRewritten)
					break walk
				}
			}
			prev, after = l.Hash, l.ID
		}
		if len(links) < batch {
			break
		}
	}
	if r.Intact && !headSeen {
		r.Intact, r.BadID, r.Problem = false, last.HeadID, problemMissing
	}
	if r.Intact {
		r.HeadID, r.HeadHash = after, prev
	} else {
		r.HeadID, r.HeadHash = last.HeadID, last.HeadHash // keep vouching only for what was verified
	}
	if err := s.store.SaveChainCheck(ctx, r.ChainCheck); err != nil {
		return r, err
	}
	return r, nil
}

// Last returns the last verification; ok is false when there has been none.
func (s *Service) Last(ctx context.Context) (r Result, ok bool, err error) {
	c, err := s.store.LastChainCheck(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, err
	}
	return Result{c}, true, nil
}

// Run verifies the chain and logs the outcome: the daily job.
func (s *Service) Run(ctx context.Context) {
	r, err := s.Verify(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("event chain verification failed", "err", err)
	case err == nil && !r.Intact:
		s.log.Error("event log tampered with", "err", r.Err())
	case err == nil:
		s.log.Info("event chain intact", "events", r.Events)
	}
}
