package auth

// HasherStats is the state of the hashing pool at one moment, for the metrics.
type HasherStats struct {
	Workers int    // hashes that may run at once
	Running int    // hashes running
	Queued  int    // callers waiting for a worker, trusted or not
	Busy    uint64 // callers refused with ErrBusy since the pool was made (each a 503)
}

// Stats reports the pool's state.
func (h *Hasher) Stats() HasherStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HasherStats{Workers: h.workers, Running: h.running, Queued: len(h.trusted) + len(h.others), Busy: h.busy}
}
