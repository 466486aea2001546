package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// scrapeTimeout bounds the database read a scrape makes (the breach job's row).
const scrapeTimeout = 2 * time.Second

// WatchHasher reads the password hashing pool at every scrape: the hashes running, the callers
// queued for a worker, and the callers refused because the queue was full or their wait ran out
// (each of those is a 503 with Retry-After).
func (m *Metrics) WatchHasher(h *auth.Hasher) {
	if m == nil || h == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weftid_password_hash_workers", Help: "Password hashes that may run at once."},
			func() float64 { return float64(h.Stats().Workers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weftid_password_hash_running", Help: "Password hashes running now."},
			func() float64 { return float64(h.Stats().Running) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "weftid_password_hash_queued", Help: "Callers waiting for a password hashing worker."},
			func() float64 { return float64(h.Stats().Queued) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "weftid_password_hash_busy_total", Help: "Callers refused by the full hashing pool (answered 503)."},
			func() float64 { return float64(h.Stats().Busy) }),
	)
}

// WatchDB reads the database pool's statistics (database/sql's DBStats) at every scrape.
func (m *Metrics) WatchDB(stats func() sql.DBStats) {
	if m == nil {
		return
	}
	gauge := func(name, help string, v func(s sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	counter := func(name, help string, v func(s sql.DBStats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return v(stats()) })
	}
	m.reg.MustRegister(
		gauge("weftid_db_max_open_connections", "Most connections the pool opens.", func(s sql.DBStats) float64 { return float64(s.MaxOpenConnections) }),
		gauge("weftid_db_open_connections", "Connections open, in use or idle.", func(s sql.DBStats) float64 { return float64(s.OpenConnections) }),
		gauge("weftid_db_in_use_connections", "Connections in use.", func(s sql.DBStats) float64 { return float64(s.InUse) }),
		gauge("weftid_db_idle_connections", "Connections idle.", func(s sql.DBStats) float64 { return float64(s.Idle) }),
		counter("weftid_db_wait_count_total", "Times a query waited for a free connection.", func(s sql.DBStats) float64 { return float64(s.WaitCount) }),
		counter("weftid_db_wait_duration_seconds_total", "Time spent waiting for a free connection.", func(s sql.DBStats) float64 { return s.WaitDuration.Seconds() }),
		counter("weftid_db_max_idle_closed_total", "Connections closed because the idle pool was full.", func(s sql.DBStats) float64 { return float64(s.MaxIdleClosed) }),
		counter("weftid_db_max_idle_time_closed_total", "Connections closed after idling too long.", func(s sql.DBStats) float64 { return float64(s.MaxIdleTimeClosed) }),
		counter("weftid_db_max_lifetime_closed_total", "Connections closed at the end of their lifetime.", func(s sql.DBStats) float64 { return float64(s.MaxLifetimeClosed) }),
	)
}

// WatchBreach reads the weekly breach re-check's row at every scrape (its schedule and progress
// live in the database, so a restart loses none of them).
func (m *Metrics) WatchBreach(status func(ctx context.Context) (store.BreachJob, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&breachCollector{status: status})
}

var (
	breachRunning = prometheus.NewDesc("weftid_breach_check_running",
		"1 while a weekly breach re-check is under way (perhaps stopped by an error, to resume at the next run time).", nil, nil)
	breachUsers = prometheus.NewDesc("weftid_breach_check_users_checked",
		"Users whose passwords the run under way (or else the last finished run) has checked.", nil, nil)
	breachRequests = prometheus.NewDesc("weftid_breach_check_requests",
		"Range requests (one per distinct prefix) the run under way (or else the last finished run) has made.", nil, nil)
	breachHits = prometheus.NewDesc("weftid_breach_check_hits",
		"Breached passwords the run under way (or else the last finished run) has found.", nil, nil)
	breachLastSuccess = prometheus.NewDesc("weftid_breach_check_last_success_timestamp_seconds",
		"When the last run finished (Unix seconds); absent until one has.", nil, nil)
	breachNextRun = prometheus.NewDesc("weftid_breach_check_next_run_timestamp_seconds",
		"When the next run (or the resumption of a stopped one) is due (Unix seconds).", nil, nil)
	breachFailing = prometheus.NewDesc("weftid_breach_check_stopped_by_error",
		"1 when the run under way stopped on an error and waits to resume.", nil, nil)
)

// breachCollector reads the breach job's row once per scrape.
type breachCollector struct {
	status func(ctx context.Context) (store.BreachJob, error)
}

// Describe sends the descriptions of every family the collector may send.
func (c *breachCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{breachRunning, breachUsers, breachRequests, breachHits, breachLastSuccess, breachNextRun, breachFailing} {
		ch <- d
	}
}

// Collect reads the row; when it cannot, the scrape reports the error for these families.
func (c *breachCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	j, err := c.status(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(breachRunning, err)
		return
	}
	users, requests, hits := j.LastUsersChecked, j.LastRequests, j.LastHits
	if j.Running {
		users, requests, hits = j.UsersChecked, j.Requests, j.Hits
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(breachRunning, boolValue(j.Running))
	gauge(breachFailing, boolValue(j.Running && j.LastError != ""))
	gauge(breachUsers, float64(users))
	gauge(breachRequests, float64(requests))
	gauge(breachHits, float64(hits))
	if !j.LastFinishedAt.IsZero() {
		gauge(breachLastSuccess, unixSeconds(j.LastFinishedAt))
	}
	if !j.NextRunAt.IsZero() {
		gauge(breachNextRun, unixSeconds(j.NextRunAt))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds is t as fractional Unix seconds, the unit of Prometheus timestamps.
func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
