// Package metrics is weftid's Prometheus instrumentation: a registry of its own (never the
// global default), the metric families the layers record into, and the handler that the separate
// --metrics-addr listener serves. Every name starts with weftid_.
//
// It sits beside the services rather than inside them: handlers (requests by route), services
// (sign-ins, throttle refusals) and main (replication) record into one *Metrics through small
// methods that do nothing on a nil *Metrics, so code built without metrics (tests, the command
// line) passes nil. What already has a state of its own (the hashing pool, the database pool, the
// breach job) is read at scrape time by collectors (collectors.go) and needs no hook at all.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the families that are recorded into (the others are read at
// scrape time by the collectors Watch adds). A nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	signIns      *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	replication  *replication
}

// New makes the registry with weftid's families and the Go runtime and process collectors
// (their names prefixed weftid_ too: weftid_go_goroutines, weftid_process_resident_memory_bytes).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), now: time.Now}
	prefixed := prometheus.WrapRegistererWithPrefix("weftid_", m.reg)
	prefixed.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weftid_http_requests_total",
		Help: "HTTP requests answered, by route pattern (the matched route, not the path), method and status code.",
	}, []string{"route", "method", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "weftid_http_request_duration_seconds",
		Help:    "Time from a request's arrival to its answer, by route pattern, method and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method", "code"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weftid_signin_attempts_total",
		Help: "Sign-in steps tried, by method (password, email, totp, backup, passkey) and result (success, failure, throttled, busy, rejected, error).",
	}, []string{"method", "result"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weftid_throttle_refusals_total",
		Help: "Requests a limit refused, by rule (services/throttle's table, e.g. password_per_ip; a rule's ceiling across all addresses ends in _ceiling).",
	}, []string{"rule"})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.signIns, m.refusals)
	return m
}

// Handler serves the registry in the Prometheus text format (OpenMetrics when asked for). A
// family that cannot be read (the breach job's row, say) is left out of the answer; the rest is
// served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true, ErrorHandling: promhttp.ContinueOnError})
}

// Registry is the registry every family is in, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Unmatched is the route label of a request that no route matched (a 404), so scanners asking
// for a thousand paths add one series, not a thousand.
const Unmatched = "unmatched"

// HTTP records one answered request: route is the pattern it matched (e.g. /users/:id/profile)
// or Unmatched.
func (m *Metrics) HTTP(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(route, method, code).Inc()
	m.httpDuration.WithLabelValues(route, method, code).Observe(took.Seconds())
}

// The results of a sign-in step.
const (
	ResultSuccess   = "success"
	ResultFailure   = "failure"   // wrong password or code, unknown address, refused passkey
	ResultThrottled = "throttled" // a limit refused the guess before it was checked
	ResultBusy      = "busy"      // the hashing pool was full: 503, not a guess
	ResultRejected  = "rejected"  // not a guess: a field missing, no sign-in in progress, another step
	ResultError     = "error"     // anything else (the database, a cancelled request)
)

// SignIn records one sign-in step: method is password, email, totp, backup or passkey, result
// one of the Result constants.
func (m *Metrics) SignIn(method, result string) {
	if m == nil {
		return
	}
	m.signIns.WithLabelValues(method, result).Inc()
}

// Refused records one request refused by the throttle rule named rule.
func (m *Metrics) Refused(rule string) {
	if m == nil {
		return
	}
	m.refusals.WithLabelValues(rule).Inc()
}
