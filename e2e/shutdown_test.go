package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestGracefulShutdown sends SIGTERM while a request is in flight: the first super admin's
// setup, held in its breach check by a range service that answers only when the test says so.
// The server stops accepting (a new connection is refused) but finishes that request (303, the
// user created), stops its jobs and its replicator after a final sync, closes the database
// (no -wal file is left, integrity_check is ok) and exits 0. The replica has the user.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	held, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	hibp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isFirst := false
		first.Do(func() { isFirst = true; close(held) })
		if isFirst {
			<-release
		}
		fmt.Fprintf(w, "%035X:0\r\n", 7) // padding only: the password is in no breach
	}))
	defer hibp.Close()
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	defer free()

	replica := "file://" + filepath.Join(dir, "replica")
	s := startOpsServer(t, dir, nil, "--hibp-url", hibp.URL, "--replicate", replica)
	link := regexp.MustCompile(`/setup\?token=[\w-]+`).FindString(s.out.String())
	if link == "" {
		t.Fatal("no setup link in the server's output")
	}
	form := url.Values{"_csrf": {s.csrf(t, link)}, "token": {strings.TrimPrefix(link, "/setup?token=")},
		"email": {"ada@example.com"}, "name": {"Ada Lovelace"},
		"new_password": {"violet tractor juggles quietly 1987"}, "confirm_password": {"violet tractor juggles quietly 1987"}}
	type answer struct {
		resp *http.Response
		err  error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := s.client.PostForm(s.public+"/setup", form)
		if err == nil {
			resp.Body.Close()
		}
		answered <- answer{resp, err}
	}()
	select {
	case <-held:
	case a := <-answered:
		t.Fatalf("setup answered before its breach check was held: %v %v", a.resp, a.err)
	case <-time.After(opsTimeout):
		t.Fatal("setup never asked the range service")
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, `"shutting down" in the log`, func() bool { return strings.Contains(s.out.String(), `msg="shutting down"`) })
	addr := strings.TrimPrefix(s.public, "http://")
	s.waitFor(t, "a refused connection", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	select {
	case a := <-answered:
		t.Fatalf("the held request ended before it was released: %v %v", a.resp, a.err)
	default:
	}

	free()
	a := <-answered
	if a.err != nil || a.resp.StatusCode != http.StatusSeeOther || a.resp.Header.Get("Location") != "/login?notice=setup_done" {
		t.Fatalf("the request in flight at SIGTERM: %v %v, want 303 to /login?notice=setup_done", a.resp, a.err)
	}
	select {
	case <-s.exited:
	case <-time.After(opsTimeout):
		t.Fatal("the server did not exit")
	}
	if s.waitErr != nil {
		t.Errorf("exit: %v, want status 0", s.waitErr)
	}
	for _, want := range []string{`msg="replication stopped after a final sync"`} {
		if !strings.Contains(s.out.String(), want) {
			t.Errorf("the log lacks %s", want)
		}
	}
	if _, err := os.Stat(s.db + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s-wal after exit: %v, want none (the database closed cleanly)", s.db, err)
	}
	if n := users(t, s.db, "ada@example.com"); n != 1 {
		t.Errorf("the database has %d users ada@example.com, want 1", n)
	}
	restored := filepath.Join(dir, "restored.db")
	restoreTo(t, nil, replica, "", restored)
	if n := users(t, restored, "ada@example.com"); n != 1 {
		t.Errorf("the replica has %d users ada@example.com, want 1 (the final sync)", n)
	}

	// The next start on the same file and replica carries on where this one stopped.
	again := startOpsServer(t, dir, nil, "--replicate", replica)
	ack, err := again.failedSignIn("after-restart@example.com", again.csrf(t, "/login"), 1)
	if err != nil {
		t.Fatal(err)
	}
	again.waitSynced(t, ack)
	replicator := again.replicatorPID(t)
	kill9(t, replicator)
	kill9(t, again.cmd.Process.Pid)
	<-again.exited
	waitUntil(t, "the replicator's exit", func() bool { return gone(replicator) })
	restored = filepath.Join(dir, "restored-after-restart.db")
	restoreTo(t, nil, replica, "", restored)
	if n := users(t, restored, "ada@example.com"); n != 1 || !failedAddresses(t, restored)["after-restart@example.com"] {
		t.Errorf("after a restart the replica has %d users ada@example.com and the new write: %v; want both",
			n, failedAddresses(t, restored)["after-restart@example.com"])
	}
}

// users checks a database's integrity and counts its users with the address.
func users(t *testing.T, path, email string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("%s: integrity_check = %q, %v; want ok", path, check, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
