package store

import "sync"

// Writes that end sessions, or that change what a user's sessions may open or say of them
// (deactivation, deletion, a forced password reset, a new name or address, a group's members or
// name, an application's access rule), are
// announced to whoever keeps answers about sessions in memory: the cache of forward-auth checks
// (services/proxy) forgets them at once instead of trusting them until it would read them
// again. A write in a transaction is announced after the transaction commits, so a reader that
// hears of it can no longer read the old rows.

// watcher hears of such a write.
type watcher interface{ accessChanged() }

// watches are the functions OnAccessChanged registered.
type watches struct {
	mu  sync.RWMutex
	fns []func()
}

func (w *watches) accessChanged() {
	w.mu.RLock()
	defer w.mu.RUnlock()
	for _, fn := range w.fns {
		fn()
	}
}

// txWatch remembers, inside a transaction, such a write; InTx tells the store's watches once
// it has committed.
type txWatch struct{ changed bool }

func (t *txWatch) accessChanged() { t.changed = true }

// OnAccessChanged registers fn to run after every write that ended sessions, deactivated a user,
// required a new password of them, or changed a group or who may open an application (after its
// transaction commits). fn must be quick and must not use the store.
func (s *Store) OnAccessChanged(fn func()) {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	s.watches.fns = append(s.watches.fns, fn)
}

// accessChanged announces such a write (q.watch is nil only in a q built by hand).
func (q q) accessChanged() {
	if q.watch != nil {
		q.watch.accessChanged()
	}
}
