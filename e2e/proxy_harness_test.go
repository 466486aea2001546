package e2e

// The forward-auth harness: a tiny app on loopback that echoes the Remote-* headers it gets,
// and Caddy or nginx in front of it, started from the README's own configuration (only its
// addresses changed), each on a *.localhost host that Chromium resolves to loopback.

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The binaries the tests run (Debian's caddy and nginx).
const (
	caddyBin = "/usr/bin/caddy"
	nginxBin = "/usr/sbin/nginx"
)

// The README's placeholders for the addresses the tests change.
const (
	readmeHost   = "wiki.example.com"
	readmeWeftid = "127.0.0.1:8080"
	readmeApp    = "127.0.0.1:3000"
)

// echoHeaders are the headers the echo app shows, in this order.
var echoHeaders = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups"}

// startEcho starts the app behind the proxy: every request gets a page that lists the
// Remote-* headers it came with and its path, in <pre id="echo">, one "Name: value" a line.
// It returns the app's address.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for _, h := range echoHeaders {
			fmt.Fprintf(&b, "%s: %s\n", h, strings.Join(r.Header.Values(h), " | "))
		}
		fmt.Fprintf(&b, "Path: %s", r.URL.RequestURI())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>echo</title><h1>The app</h1><pre id=\"echo\">%s</pre>", html.EscapeString(b.String()))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// echoed reads the echo page's text into its headers (and "Path").
func echoed(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			out[k] = v
		} else if k, ok := strings.CutSuffix(line, ":"); ok {
			out[k] = ""
		}
	}
	return out
}

// readmeConfig is the configuration of kind ("caddy" or "nginx") in README.md: the first
// fenced block after its <!-- forward-auth: kind --> marker.
func readmeConfig(t *testing.T, kind string) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- forward-auth: " + kind + " -->\\s*```\\w*\\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README.md has no %s configuration after <!-- forward-auth: %s -->", kind, kind)
	}
	return string(m[1])
}

// replaceOnce replaces old in s, which must hold it: the README and the test keep in step.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("the README's configuration no longer holds %q:\n%s", old, s)
	}
	return strings.ReplaceAll(s, old, new)
}

// proxied is a running proxy in front of the echo app: the host the browser uses for the app
// (with the proxy's port) and the proxy's own address.
type proxied struct {
	host string // e.g. wiki.localhost:41234
	addr string // 127.0.0.1:41234
}

// url is the app's address of path, for the browser.
func (p proxied) url(path string) string { return "http://" + p.host + path }

// startCaddy runs Caddy with the README's Caddyfile for name.localhost in front of the echo app
// at app, asking the weftid of srv.
func startCaddy(t *testing.T, srv *server, name, app string) proxied {
	t.Helper()
	port := freePort(t)
	p := proxied{host: name + ".localhost:" + strconv.Itoa(port), addr: "127.0.0.1:" + strconv.Itoa(port)}
	conf := readmeConfig(t, "caddy")
	conf = replaceOnce(t, conf, readmeHost+" {", "http://"+p.host+" {")
	conf = replaceOnce(t, conf, readmeWeftid, srv.addr)
	conf = replaceOnce(t, conf, readmeApp, app)
	dir := t.TempDir()
	// Test-only global options: no admin endpoint, no certificates, loopback only.
	conf = "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n" + conf
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runProxy(t, "caddy", p, conf, []string{"HOME=" + dir, "XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir},
		caddyBin, "run", "--config", file, "--adapter", "caddyfile")
	return p
}

// startNginx runs nginx with the README's server block for name.localhost in front of the
// echo app at app, asking the weftid of srv.
func startNginx(t *testing.T, srv *server, name, app string) proxied {
	t.Helper()
	port := freePort(t)
	p := proxied{host: name + ".localhost:" + strconv.Itoa(port), addr: "127.0.0.1:" + strconv.Itoa(port)}
	block := readmeConfig(t, "nginx")
	block = replaceOnce(t, block, "listen 443 ssl;", "listen "+p.addr+";")
	block = replaceOnce(t, block, "server_name "+readmeHost+";", "server_name "+name+".localhost;")
	for _, line := range []string{"    ssl_certificate     /etc/ssl/" + readmeHost + "/fullchain.pem;\n", "    ssl_certificate_key /etc/ssl/" + readmeHost + "/privkey.pem;\n"} {
		block = replaceOnce(t, block, line, "")
	}
	block = replaceOnce(t, block, readmeWeftid, srv.addr)
	block = replaceOnce(t, block, readmeApp, app)
	dir := t.TempDir()
	// Test-only main configuration around the README's server block: one process in the
	// foreground, every file in the test's directory.
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s}
`, dir, block)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runProxy(t, "nginx", p, conf, nil, nginxBin, "-p", dir, "-c", file, "-e", filepath.Join(dir, "error.log"))
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error.log:\n%s", log)
		}
	})
	return p
}

// runProxy runs the proxy name (args: its binary and arguments, env: added to this process's
// environment), waits until p answers HTTP, and kills it when the test ends; its output and
// configuration are logged if the test fails.
func runProxy(t *testing.T, name string, p proxied, conf string, env []string, args ...string) {
	t.Helper()
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		kill()
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		kill()
		<-exited
		if t.Failed() {
			t.Logf("%s configuration:\n%s\n%s output:\n%s", name, conf, name, out)
		}
	})
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(healthTimeout); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("%s stopped at start (%v):\n%s\nconfiguration:\n%s", name, cmd.ProcessState, out, conf)
		default:
		}
		// Any answer will do: weftid refuses a host nobody registered yet.
		resp, err := client.Get("http://" + p.addr + "/.weftid/ready")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer on %s within %v: %v\n%s", name, p.addr, healthTimeout, err, out)
		}
	}
}

// proxyRequest sends one request through the proxy from a plain HTTP client (no redirects
// followed), with cookies and extra headers, and returns the answer and its body.
func proxyRequest(t *testing.T, p proxied, path string, cookies []*http.Cookie, h http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = p.host
	for k, vs := range h {
		req.Header[k] = vs
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}
