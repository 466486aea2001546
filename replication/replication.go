// Package replication copies weftid's SQLite file continuously to a replica (a directory or an
// S3-compatible bucket) with Litestream, and restores it from there, as of any moment its
// history still covers.
//
// Litestream reads the database through its own SQLite (modernc.org/sqlite), while weftid
// writes through mattn/go-sqlite3. SQLite's POSIX locks belong to a process, not to a
// connection, so two SQLite libraries in one process do not see each other's locks: a checkpoint
// or write of one could run under a reader or writer of the other and corrupt the file.
// Litestream's own documentation says so. The replicator therefore always runs in a process of
// its own, the weftid binary started by the server (Start, `weftid replicate`), where the locks
// work as they do between any two processes. It reports every sync on its standard output
// (Status lines), and stops, after a final sync, when its standard input closes: when the server
// stops it, or when the server dies.
package replication

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	"github.com/benbjohnson/litestream/s3"
)

// DefaultInterval is the time between two syncs: a write acknowledged just after one sync is in
// the replica after the next, so a lost disk loses at most about this much.
const DefaultInterval = time.Second

// Options say what to replicate where.
type Options struct {
	DB       string        // the SQLite file
	URL      string        // file:///dir or s3://bucket/path
	Interval time.Duration // between syncs; DefaultInterval when zero
}

// CheckURL reports whether raw is a replica URL weftid can use, and says why not.
func CheckURL(raw string) error {
	_, err := newClient(raw)
	return err
}

// newClient makes the Litestream client of a replica URL:
//
//   - file:///dir: a directory (an absolute path), created when missing;
//   - s3://bucket/path: a bucket of S3 or of any S3-compatible store. The endpoint, the region
//     and the credentials come from the usual AWS variables: AWS_ENDPOINT_URL_S3 or
//     AWS_ENDPOINT_URL (a set endpoint means an S3-compatible store, addressed path-style),
//     AWS_REGION or AWS_DEFAULT_REGION, and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
//     AWS_SESSION_TOKEN (or a profile or instance role, as every AWS tool finds them).
func newClient(raw string) (litestream.ReplicaClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("replica URL %q: %w", raw, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("replica URL %q: no query, fragment or user allowed (S3 settings come from the AWS_* variables)", raw)
	}
	switch u.Scheme {
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) || filepath.Clean(u.Path) == "/" {
			return nil, fmt.Errorf("replica URL %q: want file:///absolute/directory", raw)
		}
		return file.NewReplicaClient(filepath.Clean(u.Path)), nil
	case "s3":
		path := strings.Trim(u.Path, "/")
		if u.Host == "" || path == "" {
			return nil, fmt.Errorf("replica URL %q: want s3://bucket/path (a path inside the bucket, so several databases can share it)", raw)
		}
		c := s3.NewReplicaClient()
		c.Bucket, c.Path = u.Host, path
		c.Endpoint = firstEnv("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
		c.ForcePathStyle = c.Endpoint != ""
		c.Region = firstEnv("AWS_REGION", "AWS_DEFAULT_REGION")
		return c, nil
	}
	return nil, fmt.Errorf("replica URL %q: want file:///dir or s3://bucket/path", raw)
}

// useCABundle lets the S3 client trust AWS_CA_BUNDLE. Litestream hands the AWS SDK an
// http.Client of its own, to which the SDK cannot add the bundle, so it refuses to load its
// configuration while AWS_CA_BUNDLE is set. Go's TLS reads extra roots from SSL_CERT_FILE (on
// Linux, besides the system's certificate directory), so the bundle moves there unless that is
// set already. Only the replicator and restore call it: they make no other TLS connection.
func useCABundle() {
	bundle := os.Getenv("AWS_CA_BUNDLE")
	if bundle == "" {
		return
	}
	os.Unsetenv("AWS_CA_BUNDLE")
	if os.Getenv("SSL_CERT_FILE") == "" {
		os.Setenv("SSL_CERT_FILE", bundle)
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// ErrNothingToRestore is returned by Restore when the replica holds no database, or nothing as
// old as the moment asked for.
var ErrNothingToRestore = errors.New("replication: the replica holds nothing to restore")
