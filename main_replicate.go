package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/weftid/weftid/replication"
)

// replicate is the replicator process that serve --replicate starts (replication.Start); it is
// not meant to be run by hand. It replicates --db to --replicate and writes a status line on
// stdout after each sync, until its stdin closes: when the server stops it, or dies. Signals
// do not stop it: a Ctrl-C in a terminal or a service manager's SIGTERM reaches the whole
// process group, and the replicator must outlive the server's last writes to copy them.
func replicate(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	fs, cfg, err := parse("replicate", args, stdout)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 || cfg.replicate == "" {
		return errors.New("usage: weftid replicate --db FILE --replicate URL [--replicate-interval D] (serve --replicate runs it)")
	}
	if err := checkOps(cfg); err != nil {
		return err
	}
	interval, _ := cfg.interval()
	if _, err := os.Stat(cfg.db); err != nil {
		return err
	}
	// A status line written after the server died must fail (EPIPE), not kill this process
	// before its final sync.
	signal.Ignore(os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, stdin)
		close(stop)
	}()
	log = litestreamLog(log).With("process", "replicator")
	return replication.Replicate(ctx, replication.Options{DB: cfg.db, URL: cfg.replicate, Interval: interval}, stop, stdout, log)
}

// litestreamLog is the log of a process that runs Litestream: it logs every compaction at Info,
// so only its warnings and errors are kept, and what it writes to the default logger goes there
// too.
func litestreamLog(log *slog.Logger) *slog.Logger {
	log = slog.New(atLeast{log.Handler(), slog.LevelWarn})
	slog.SetDefault(log)
	return log
}

// atLeast is a log handler that drops records below a level.
type atLeast struct {
	slog.Handler
	min slog.Level
}

// Enabled reports whether a record at level is kept.
func (h atLeast) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.Handler.Enabled(ctx, level)
}

// WithAttrs keeps the level filter on the handler with attrs.
func (h atLeast) WithAttrs(attrs []slog.Attr) slog.Handler {
	return atLeast{h.Handler.WithAttrs(attrs), h.min}
}

// WithGroup keeps the level filter on the handler with the group.
func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{h.Handler.WithGroup(name), h.min}
}
