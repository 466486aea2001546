package e2e

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3Server starts an S3-compatible server (gofakes3, in memory) on loopback with one bucket, and
// returns the environment a weftid process needs to reach it: the usual AWS variables.
func s3Server(t testing.TB, bucket string) []string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	return s3Env(t, backend)
}

// s3Env serves backend on loopback and returns the AWS variables that reach it.
func s3Env(t testing.TB, backend *s3mem.Backend) []string {
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return []string{"AWS_ENDPOINT_URL_S3=" + srv.URL, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=weftid-test",
		"AWS_SECRET_ACCESS_KEY=weftid-test-secret", "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
}

// ack is one acknowledged write: a failed sign-in as email, answered at at.
type ack struct {
	email string
	at    time.Time
}

// load is writes from several clients at once.
type load struct {
	mu   sync.Mutex
	acks []ack
	wg   sync.WaitGroup
}

// writeLoad signs in wrongly from several clients at once until stop closes (or the server
// dies).
func writeLoad(s *opsServer, csrf string, clients int, stop <-chan struct{}) *load {
	l := &load{}
	for c := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("load-%d-%d@example.com", c, i)
				at, err := s.failedSignIn(email, csrf, c<<12|i)
				if err != nil {
					return // the server was killed
				}
				l.mu.Lock()
				l.acks = append(l.acks, ack{email, at})
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// count is how many writes were acknowledged so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// wait waits for the clients to stop and returns every write acknowledged.
func (l *load) wait() []ack {
	l.wg.Wait()
	return l.acks
}

// TestReplicationSurvivesKill writes while weftid replicates to a directory and to an
// S3-compatible server, kills it with SIGKILL, restores the replica to a new file, and finds
// every write acknowledged before the last sync the server reported, in a database whose
// integrity_check is ok. A point-in-time restore finds the state at that time: a write synced
// before it, none synced after.
//
// "Acknowledged before the last sync" is exact: the test reads the sync's moment from
// weftid_replication_synced_timestamp_seconds (every write committed before it is in the
// replica) and compares it with the moment each answer arrived. With the directory the replicator
// is killed too, first (the machine is gone: nothing after that sync may be saved); with S3 only
// the server is, and the replicator's final sync must save every write acknowledged at all.
func TestReplicationSurvivesKill(t *testing.T) {
	for _, tc := range []struct {
		name       string
		replica    func(t *testing.T, dir string) (url string, env []string)
		killServer bool // only the server: the replicator makes its final sync
	}{
		{"directory, machine lost", func(t *testing.T, dir string) (string, []string) {
			return "file://" + filepath.Join(dir, "replica"), nil
		}, false},
		{"S3-compatible, server killed", func(t *testing.T, dir string) (string, []string) {
			return "s3://weftid-backups/instance-1", s3Server(t, "weftid-backups")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			replica, env := tc.replica(t, dir)
			s := startOpsServer(t, dir, env, "--replicate", replica, "--replicate-interval", "200ms")
			csrf := s.csrf(t, "/login")

			// Point in time: A is synced before the moment T, B only after it.
			ackA, err := s.failedSignIn("a@example.com", csrf, 1)
			if err != nil {
				t.Fatal(err)
			}
			s.waitSynced(t, ackA)
			// T is a whole millisecond (the replica's timestamps are milliseconds) that a sync
			// has passed, so the sync that holds B starts after it.
			at := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
			s.waitSynced(t, at)
			ackB, err := s.failedSignIn("b@example.com", csrf, 2)
			if err != nil {
				t.Fatal(err)
			}
			s.waitSynced(t, ackB)

			// Load, syncs under it, then SIGKILL right after reading the last sync.
			stop := make(chan struct{})
			l := writeLoad(s, csrf, 4, stop)
			s.waitFor(t, "40 writes", func() bool { return l.count() >= 40 })
			s.waitSynced(t, time.Now())
			last := s.synced(t)
			replicator := s.replicatorPID(t)
			if !tc.killServer {
				kill9(t, replicator)
			}
			kill9(t, s.cmd.Process.Pid)
			<-s.exited
			close(stop)
			acks := l.wait()
			waitUntil(t, "the replicator's exit", func() bool { return gone(replicator) })

			restored := filepath.Join(dir, "restored.db")
			restoreTo(t, env, replica, "", restored)
			found := failedAddresses(t, restored)
			before, missing, later := 0, 0, 0
			for _, a := range append(acks, ack{"a@example.com", ackA}, ack{"b@example.com", ackB}) {
				switch {
				case a.at.Before(last) || tc.killServer:
					before++
					if !found[a.email] {
						missing++
						t.Errorf("the write acknowledged at %s (%s) is not in the restored database (last sync %s)",
							a.at.Format(time.RFC3339Nano), a.email, last.Format(time.RFC3339Nano))
					}
				case found[a.email]:
					later++
				}
			}
			if before < 10 {
				t.Errorf("only %d writes were acknowledged before the last sync: the test wrote too little to show anything", before)
			}
			t.Logf("%d writes acknowledged in all; %d of the %d that had to be are restored; %d acknowledged after the last sync are too",
				len(acks)+2, before-missing, before, later)

			pit := filepath.Join(dir, "at-T.db")
			restoreTo(t, env, replica, at.Format(time.RFC3339Nano), pit)
			then := failedAddresses(t, pit)
			if !then["a@example.com"] || then["b@example.com"] {
				t.Errorf("restored as at %s: has A %v, has B %v; want A (synced before) and not B (written after)",
					at.Format(time.RFC3339Nano), then["a@example.com"], then["b@example.com"])
			}
		})
	}
}

// When the replica cannot be written (here: the bucket does not exist yet), the server keeps
// serving, the replicator keeps running and retrying, every failed sync is counted, and the
// synced moment does not move; once the bucket exists, the next sync catches up.
func TestReplicationReportsFailures(t *testing.T) {
	dir := t.TempDir()
	backend := s3mem.New()
	env := s3Env(t, backend)
	s := startOpsServer(t, dir, env, "--replicate", "s3://later/weftid", "--replicate-interval", "100ms")
	s.waitFor(t, "failed syncs counted", func() bool { return s.gauge(t, "weftid_replication_sync_errors_total") >= 3 })
	if synced := s.synced(t); !synced.IsZero() {
		t.Errorf("a replica that was never written reports writes synced up to %s", synced.Format(time.RFC3339Nano))
	}
	if up := s.gauge(t, "weftid_replication_up"); up != 1 {
		t.Errorf("weftid_replication_up = %v while retrying, want 1", up)
	}
	ack, err := s.failedSignIn("during-outage@example.com", s.csrf(t, "/login"), 1)
	if err != nil {
		t.Fatalf("the server stopped serving while its replica failed: %v", err)
	}

	if err := backend.CreateBucket("later"); err != nil {
		t.Fatal(err)
	}
	s.waitSynced(t, ack)
	replicator := s.replicatorPID(t)
	kill9(t, replicator)
	kill9(t, s.cmd.Process.Pid)
	<-s.exited
	waitUntil(t, "the replicator's exit", func() bool { return gone(replicator) })
	restored := filepath.Join(dir, "restored.db")
	restoreTo(t, env, "s3://later/weftid", "", restored)
	if !failedAddresses(t, restored)["during-outage@example.com"] {
		t.Error("the write made while the replica failed is not in it after the replica came back")
	}
	if !strings.Contains(s.out.String(), "replication sync failed") || !strings.Contains(s.out.String(), "replication sync works again") {
		t.Error("the log does not say that syncs failed and then worked again")
	}
	if n := strings.Count(s.out.String(), "replication sync failed"); n != 1 {
		t.Errorf("the failure was logged %d times, want once (then once a minute)", n)
	}
}

// A replicator that dies while the server runs is started again, and replication carries on.
func TestReplicatorRestarts(t *testing.T) {
	dir := t.TempDir()
	replica := "file://" + filepath.Join(dir, "replica")
	s := startOpsServer(t, dir, nil, "--replicate", replica, "--replicate-interval", "100ms")
	s.waitSynced(t, time.Now())
	first := s.replicatorPID(t)
	kill9(t, first)
	s.waitFor(t, "a new replicator", func() bool { return s.replicatorPID(t) != first })
	ack, err := s.failedSignIn("after-replicator-died@example.com", s.csrf(t, "/login"), 1)
	if err != nil {
		t.Fatal(err)
	}
	s.waitSynced(t, ack)
	if !strings.Contains(s.out.String(), "the replicator exited; starting it again") {
		t.Error("the log does not say the replicator died")
	}
	if up := s.gauge(t, "weftid_replication_up"); up != 1 {
		t.Errorf("weftid_replication_up = %v after the restart, want 1", up)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	if s.waitErr != nil {
		t.Fatalf("exit: %v", s.waitErr)
	}
	restored := filepath.Join(dir, "restored.db")
	restoreTo(t, nil, replica, "", restored)
	if !failedAddresses(t, restored)["after-replicator-died@example.com"] {
		t.Error("the write after the new replicator started is not in the replica")
	}
}
