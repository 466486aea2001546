package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftid/weftid/mail/mailtest"
)

const (
	// buildTimeout bounds `go build` of the server; a cold build compiles
	// SQLite with cgo, which takes a few minutes on a small machine.
	buildTimeout = 8 * time.Minute
	// healthTimeout is how long a started server has to answer /healthz.
	healthTimeout = 15 * time.Second
	// cliTimeout bounds one run of a CLI subcommand such as `user add`.
	cliTimeout = 30 * time.Second
)

// The server binary, built once by TestMain. When the build fails, serverBin
// is empty and buildErr holds the compiler's output; every test that needs
// the server then fails with it, while tests that need only the browser
// (TestBrowserWorks) still run.
var (
	serverBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "weftid-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	serverBin, buildErr = buildServer(filepath.Join(dir, "weftid"))
	if buildErr != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAILED to build the weftid binary; every test that starts the server will fail:\n%v\n", buildErr)
	}
	return m.Run()
}

// buildServer runs `go build -o bin .` in the module root and returns bin.
func buildServer(bin string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build -o %s . (in %s): %w\n%s", bin, root, err, out)
	}
	return bin, nil
}

// moduleRoot is the directory of the go.mod that holds this package.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// server is a running weftid binary with its own database and mail server.
type server struct {
	baseURL string           // http://localhost:PORT, the origin the browser uses
	addr    string           // 127.0.0.1:PORT, where it listens
	mail    *mailtest.Server // receives everything the server sends
	dir     string           // the server's working directory, holding the database
	db      string           // path of the SQLite database
	out     *syncBuffer      // the process's stdout and stderr
}

// url is the absolute URL of path on the server, for the browser.
func (s *server) url(path string) string {
	return s.baseURL + path
}

// startServer starts `weftid serve` on a free loopback port with a fresh
// database and an in-process SMTP server, waits until /healthz answers, and
// stops the process when the test ends. The server's output is logged if the
// test fails. extra are more flags of serve.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	if serverBin == "" {
		t.Fatalf("the weftid binary did not build, so there is no server to test:\n%v", buildErr)
	}

	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dir := t.TempDir()
	s := &server{
		// WebAuthn needs the origin to be localhost, while the server
		// listens on 127.0.0.1 only; Chromium reaches it through localhost.
		baseURL: "http://localhost:" + strconv.Itoa(port),
		addr:    addr,
		mail:    mailtest.Start(t),
		dir:     dir,
		db:      filepath.Join(dir, "weftid.db"),
		out:     new(syncBuffer),
	}

	startProcess(t, dir, addr, s.out, append([]string{
		"--addr", addr,
		"--db", s.db,
		"--base-url", s.baseURL,
		"--smtp", s.mail.URL(),
		"--hibp-url", "off",
	}, extra...)...)
	return s
}

// process is a running `weftid serve`.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it exited
}

// kill ends the process at once (SIGKILL: no shutdown, as a crash or kill -9) and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// startProcess starts `weftid serve` with args in dir, its output into out, waits until addr
// answers /healthz, and kills it when the test ends, logging its output if the test failed.
func startProcess(t *testing.T, dir, addr string, out *syncBuffer, args ...string) *process {
	t.Helper()
	cmd := exec.Command(serverBin, append([]string{"serve"}, args...)...)
	cmd.Dir = dir
	cmd.Env = environWithoutWeftid()
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s serve: %v", serverBin, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("weftid serve %s output:\n%s", addr, out)
		}
	})

	healthz := "http://" + addr + "/healthz"
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(healthTimeout)
	var last string
	for {
		select {
		case <-p.exited:
			t.Fatalf("weftid serve exited before it answered %s: %v", healthz, waitErr)
		default:
		}
		resp, err := client.Get(healthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("weftid serve did not answer 200 on %s within %v; last answer: %s", healthz, healthTimeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addUser creates a user with `weftid user add`, the password on stdin. It
// may run while the server is running (SQLite WAL).
func (s *server) addUser(t *testing.T, email, name, role, password string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBin, append([]string{"user", "add",
		"--email", email,
		"--name", name,
		"--role", role,
		"--db", s.db,
		"--hibp-url", "off",
	}, extra...)...)
	cmd.Dir = s.dir
	cmd.Env = environWithoutWeftid()
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("weftid user add --email %s --role %s: %v\n%s", email, role, err, out)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// environWithoutWeftid is this process's environment without WEFTID_*
// variables, so that a developer's settings cannot leak into a test server.
func environWithoutWeftid() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WEFTID_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer is a bytes.Buffer that a process can write to while a test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
