package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/replication"
	"github.com/weftid/weftid/store"
)

// opsConfig is the operations settings of serve: continuous replication and the metrics listener.
type opsConfig struct {
	replicate, replicateInterval, metricsAddr string
}

// opsFlags registers the operations settings on fs.
func opsFlags(fs *flag.FlagSet, cfg *opsConfig, env func(name, def string) string) {
	fs.StringVar(&cfg.replicate, "replicate", env("WEFTID_REPLICATE", ""), "replicate the SQLite file continuously to file:///dir or s3://bucket/path (S3 endpoint, region and credentials from the AWS_* variables); empty: off (WEFTID_REPLICATE)")
	fs.StringVar(&cfg.replicateInterval, "replicate-interval", env("WEFTID_REPLICATE_INTERVAL", replication.DefaultInterval.String()), "time between two syncs to the replica: at most this much of acknowledged writes is lost with the disk (WEFTID_REPLICATE_INTERVAL)")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", env("WEFTID_METRICS_ADDR", ""), "listen address of the Prometheus /metrics endpoint, e.g. 127.0.0.1:9090; empty: off (WEFTID_METRICS_ADDR)")
}

// minReplicateInterval is the shortest sync interval accepted: below it each sync's fixed cost
// (reading the WAL header, listing and writing replica files) is most of the work.
const minReplicateInterval = 100 * time.Millisecond

// interval is the sync interval the settings give.
func (c *opsConfig) interval() (time.Duration, error) {
	d, err := time.ParseDuration(c.replicateInterval)
	if err != nil || d < minReplicateInterval {
		return 0, fmt.Errorf("--replicate-interval %q: want a duration of at least %v, such as 1s or 500ms", c.replicateInterval, minReplicateInterval)
	}
	return d, nil
}

// ops is the operations side of a running server: the metrics and their listener, and the
// replicator process.
type ops struct {
	metrics  *metrics.Metrics     // nil without --metrics-addr
	server   *http.Server         // the metrics listener; nil without --metrics-addr
	replicas *replication.Process // nil without --replicate
	log      *slog.Logger
}

// checkOps refuses settings that cannot work before anything starts.
func checkOps(cfg *config) error {
	if cfg.replicate == "" {
		return nil
	}
	if store.IsPostgresURL(cfg.db) {
		return errors.New("--replicate copies the SQLite file; a PostgreSQL database is replicated by PostgreSQL itself (a standby, or a managed service's backups)")
	}
	if _, err := cfg.interval(); err != nil {
		return err
	}
	return replication.CheckURL(cfg.replicate)
}

// startOps starts the metrics listener (when --metrics-addr is set) and the replicator (when
// --replicate is). The public listener never serves /metrics: it has no such route.
func startOps(cfg *config, st *store.Store, hasher *auth.Hasher, log *slog.Logger) (*ops, error) {
	o := &ops{log: log}
	if cfg.metricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
		o.metrics = metrics.New()
		o.metrics.WatchHasher(hasher)
		o.metrics.WatchDB(st.DBStats)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", o.metrics.Handler())
		o.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go o.server.Serve(ln)
		log.Info("metrics listening", "addr", ln.Addr().String())
	}
	if cfg.replicate != "" {
		interval, _ := cfg.interval() // checked by checkOps
		exe, err := os.Executable()
		if err != nil {
			o.stop()
			return nil, fmt.Errorf("--replicate: %w", err)
		}
		o.metrics.EnableReplication()
		o.replicas, err = replication.Start([]string{exe, "replicate", "--db", cfg.db, "--replicate", cfg.replicate,
			"--replicate-interval", interval.String()}, o.metrics, log)
		if err != nil {
			o.stop()
			return nil, err
		}
	}
	return o, nil
}

// replicating reports whether Litestream replicates the database: then it owns checkpoints.
func (o *ops) replicating() bool { return o.replicas != nil }

// stop stops the replicator after a final sync (the server has stopped writing by then) and
// the metrics listener.
func (o *ops) stop() {
	if o.replicas != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		if err := o.replicas.Stop(ctx); err != nil {
			o.log.Error("replication did not stop cleanly", "err", err)
		}
		cancel()
	}
	if o.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		o.server.Shutdown(ctx)
		cancel()
	}
}
