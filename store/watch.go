package store

import "sync"

// Writes that end sessions, or that end what a user's sessions may do (deactivation, a forced
// password reset), are announced to whoever keeps sessions in memory: the cache of forward-auth
// checks (services/proxy) forgets them at once instead of trusting them until it would read them
// again. A write in a transaction is announced after the transaction commits, so a reader that
// hears of it can no longer read the old rows.

// watcher hears that sessions ended.
type watcher interface{ sessionsChanged() }

// watches are the functions OnSessionsChanged registered.
type watches struct {
	mu  sync.RWMutex
	fns []func()
}

func (w *watches) sessionsChanged() {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, fn := range w.fns {
		fn()
	}
}

// txWatch remembers, inside a transaction, that sessions ended; InTx tells the store's watches
// once it has committed.
type txWatch struct{ changed bool }

func (t *txWatch) sessionsChanged() { t.changed = true }

// OnSessionsChanged registers fn to run after every write that ended sessions, deactivated a user
// or required a new password of them (after its transaction commits). fn must be quick and must
// not use the store.
func (s *Store) OnSessionsChanged(fn func()) {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	s.watches.fns = append(s.watches.fns, fn)
}

// sessionsChanged announces such a write (q.watch is nil only in a q built by hand).
func (q q) sessionsChanged() {
	if q.watch != nil {
		q.watch.sessionsChanged()
	}
}
