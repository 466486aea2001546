package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/weftid/weftid/replication"
)

// restore writes the database a replica holds (its latest state, or with --at its state at that
// moment) to a new file; the server can then be started on it.
func restore(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("weftid restore", flag.ContinueOnError)
	from, at := restoreFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if fs.NArg() != 1 || *from == "" {
		return errors.New("usage: weftid restore --from URL [--at RFC3339] DEST")
	}
	var when time.Time
	if *at != "" {
		var err error
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-12-02T14:30:00Z", *at)
		}
	}
	dest := fs.Arg(0)
	if err := replication.Restore(ctx, *from, when, dest, litestreamLog(log)); err != nil {
		return err
	}
	state := "its latest state"
	if !when.IsZero() {
		state = "its state at " + when.Format(time.RFC3339Nano)
	}
	fmt.Fprintf(stdout, "restored %s from %s (%s); start weftid on it with the secret key file of the server it came from\n", dest, *from, state)
	return nil
}

// restoreFlags registers the flags of restore.
func restoreFlags(fs *flag.FlagSet) (from, at *string) {
	from = fs.String("from", "", "the replica: file:///dir or s3://bucket/path (S3 settings from the AWS_* variables)")
	at = fs.String("at", "", "restore the state at this moment (RFC 3339); empty: the latest")
	return from, at
}
