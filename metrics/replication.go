package metrics

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// replication is the state of continuous replication, as the replicator last reported it.
type replication struct {
	mu      sync.Mutex
	started time.Time // when replication was switched on
	synced  time.Time // every write committed before this is in the replica

	txid   prometheus.Gauge
	up     prometheus.Gauge
	errors prometheus.Counter
}

// EnableReplication adds the replication families; without it (no --replicate) they are absent.
//
// weftid_replication_synced_timestamp_seconds is the point in time up to which the replica is
// complete: every write committed (so every write acknowledged) before it is in the replica, and
// a restore finds it. weftid_replication_lag_seconds is how far that point is behind now: what a
// lost disk would lose at most, about the sync interval while replication keeps up.
func (m *Metrics) EnableReplication() {
	if m == nil || m.replication != nil {
		return
	}
	r := &replication{
		started: m.now(),
		txid: prometheus.NewGauge(prometheus.GaugeOpts{Name: "weftid_replication_txid",
			Help: "The replica's position: the last Litestream transaction (LTX) ID it holds."}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{Name: "weftid_replication_up",
			Help: "1 while the replicator process runs."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "weftid_replication_sync_errors_total",
			Help: "Syncs to the replica that failed (each is retried at the next interval)."}),
	}
	m.replication = r
	m.reg.MustRegister(r.txid, r.up, r.errors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weftid_replication_synced_timestamp_seconds",
			Help: "Every write committed before this time (Unix seconds) is in the replica; absent (NaN) before the first sync."},
			func() float64 {
				synced := r.syncedAt()
				if synced.IsZero() {
					return math.NaN()
				}
				return unixSeconds(synced)
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weftid_replication_lag_seconds",
			Help: "Seconds since the point up to which the replica is complete (since replication started, before the first sync)."},
			func() float64 {
				since := r.syncedAt()
				if since.IsZero() {
					since = r.started
				}
				return m.now().Sub(since).Seconds()
			}),
	)
}

func (r *replication) syncedAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.synced
}

// ReplicationUp records whether the replicator process runs.
func (m *Metrics) ReplicationUp(up bool) {
	if m == nil || m.replication == nil {
		return
	}
	m.replication.up.Set(boolValue(up))
}

// ReplicationSynced records a finished sync: every write committed before through is in the
// replica, whose position is txid.
func (m *Metrics) ReplicationSynced(through time.Time, txid uint64) {
	if m == nil || m.replication == nil {
		return
	}
	r := m.replication
	r.mu.Lock()
	if through.After(r.synced) {
		r.synced = through
	}
	r.mu.Unlock()
	r.txid.Set(float64(txid))
}

// ReplicationFailed records a sync that failed.
func (m *Metrics) ReplicationFailed() {
	if m == nil || m.replication == nil {
		return
	}
	m.replication.errors.Inc()
}
