package breach

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
)

// Client is a client of the Have I Been Pwned "Pwned Passwords" range API (k-anonymity: only the
// first 5 hex characters of a password's SHA-1 leave the server; the answer lists every known
// hash with that prefix and how often it was seen), or of a directory of range files in the
// layout the official downloader writes, for servers without internet. A nil *Client, or one
// made from "off", checks nothing.
type Client struct {
	base      *url.URL // https (or loopback http) base; nil in file mode
	dir       string   // range files; "" in HTTP mode
	http      *http.Client
	userAgent string

	// Timeout is the limit on one request to the range API, answer read included (NewClient
	// sets DefaultTimeout; 0: none but ctx's).
	Timeout time.Duration
	// Attempts is how many times one range is asked for before giving up (429, 5xx, network).
	Attempts int
	// Backoff is the wait before the first retry when the answer has no Retry-After; it doubles.
	Backoff time.Duration
	// MaxRetryAfter bounds the Retry-After the client honours: a longer one is not waited for.
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends; tests replace it to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultTimeout is the limit on one request to the range API unless Timeout says otherwise.
const DefaultTimeout = 3 * time.Second

// maxRangeBody bounds what is read of one range answer (a real one is about 40 KB with padding).
const maxRangeBody = 4 << 20

// ErrOff is returned by a client that is switched off.
var ErrOff = errors.New("hibp: breach checking is off")

// NewClient makes the client for the --hibp-url setting: an https base URL (http only for a
// loopback address, for tests), file:///dir for a directory of range files (dir/00000.txt to
// dir/FFFFF.txt, lines "SUFFIX:COUNT"), or "off". Anything else is refused with the reason.
// version goes into the User-Agent.
func NewClient(setting, version string) (*Client, error) {
	// The weekly job asks for ranges several at a time: keep that many connections open.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 32
	c := &Client{
		http: &http.Client{Transport: transport,
			// The range API answers directly; a redirect (perhaps to plain http, or elsewhere)
			// is an error, not something to follow with a password's prefix.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		userAgent:     "weftid/" + version + " (+breach check)",
		Timeout:       DefaultTimeout,
		Attempts:      3,
		Backoff:       500 * time.Millisecond,
		MaxRetryAfter: 30 * time.Second,
		Sleep:         sleepCtx,
	}
	setting = strings.TrimSpace(setting)
	if setting == "off" {
		return nil, nil
	}
	u, err := url.Parse(setting)
	if err != nil || setting == "" {
		return nil, fmt.Errorf("--hibp-url %q: use an https URL, file:///dir or off", setting)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("--hibp-url %q: a file URL names a local directory: file:///path/to/ranges", setting)
		}
		info, err := os.Stat(u.Path)
		if err != nil || !info.IsDir() {
			return nil, fmt.Errorf("--hibp-url %q: %s is not a directory of range files (00000.txt to FFFFF.txt)", setting, u.Path)
		}
		c.dir = u.Path
		return c, nil
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return nil, fmt.Errorf("--hibp-url %q: plain http is allowed only for a loopback address; use https", setting)
		}
	default:
		return nil, fmt.Errorf("--hibp-url %q: use an https URL, file:///dir or off", setting)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--hibp-url %q: give a base URL such as https://api.pwnedpasswords.com", setting)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	c.base = u
	return c, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Enabled reports whether c checks anything.
func (c *Client) Enabled() bool { return c != nil }

// String names where c looks, for logs.
func (c *Client) String() string {
	switch {
	case c == nil:
		return "off"
	case c.dir != "":
		return "file://" + c.dir
	default:
		return c.base.String()
	}
}

// PwnedHash is one line of a range answer: a full SHA-1 and how often it was seen in breaches.
type PwnedHash struct {
	SHA1  [sha1.Size]byte
	Count int
}

// Pwned reports how often password was seen in breaches (0: never). Only its prefix is sent.
func (c *Client) Pwned(ctx context.Context, password string) (int, error) {
	sum := auth.PasswordSHA1(password)
	hashes, err := c.Range(ctx, auth.RangePrefix(sum))
	if err != nil {
		return 0, err
	}
	for _, h := range hashes {
		if h.SHA1 == sum {
			return h.Count, nil
		}
	}
	return 0, nil
}

// Range returns the breached hashes whose SHA-1 starts with prefix (5 hex characters). Padding
// lines (count 0) are left out. Over HTTP it retries 429 and 5xx answers and network errors,
// honouring Retry-After up to MaxRetryAfter and never past ctx's deadline.
func (c *Client) Range(ctx context.Context, prefix string) ([]PwnedHash, error) {
	if c == nil {
		return nil, ErrOff
	}
	prefix = strings.ToUpper(prefix)
	if len(prefix) != 5 || !isHex(prefix) {
		return nil, fmt.Errorf("hibp: range prefix %q is not 5 hex characters", prefix)
	}
	if c.dir != "" {
		f, err := os.Open(filepath.Join(c.dir, prefix+".txt"))
		if err != nil {
			return nil, fmt.Errorf("hibp: range file: %w", err)
		}
		defer f.Close()
		return parseRange(prefix, io.LimitReader(f, maxRangeBody))
	}
	var last error
	backoff := c.Backoff
	for attempt := 1; ; attempt++ {
		hashes, retryAfter, err := c.get(ctx, prefix)
		if err == nil {
			return hashes, nil
		}
		last = err
		if retryAfter < 0 || attempt >= c.Attempts || ctx.Err() != nil {
			return nil, last
		}
		wait := backoff
		backoff *= 2
		if retryAfter > 0 {
			if retryAfter > c.MaxRetryAfter {
				return nil, fmt.Errorf("%w (asked to wait %v)", last, retryAfter)
			}
			wait = retryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return nil, fmt.Errorf("%w (no time left to wait %v)", last, wait)
		}
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, errors.Join(last, err)
		}
	}
}

// get asks once, for at most Timeout. retryAfter is -1 when asking again cannot help, 0 to
// back off as usual, and the server's Retry-After otherwise.
func (c *Client) get(ctx context.Context, prefix string) (hashes []PwnedHash, retryAfter time.Duration, err error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/range/"+prefix, nil)
	if err != nil {
		return nil, -1, fmt.Errorf("hibp: %w", err)
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", c.userAgent)
	res, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("hibp: %w", err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusOK:
		hashes, err := parseRange(prefix, io.LimitReader(res.Body, maxRangeBody))
		if err != nil {
			return nil, 0, err
		}
		return hashes, 0, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil, parseRetryAfter(res.Header.Get("Retry-After"), time.Now()), fmt.Errorf("hibp: range %s: %s", prefix, res.Status)
	default:
		return nil, -1, fmt.Errorf("hibp: range %s: %s", prefix, res.Status)
	}
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// parseRange reads "SUFFIX:COUNT" lines (35 hex characters, CRLF or LF), leaving out padding
// lines with count 0. A line that does not fit is an error: the answer cannot be trusted.
// It works on the bytes as read: the weekly job parses a thousand lines per range.
func parseRange(prefix string, r io.Reader) ([]PwnedHash, error) {
	out := make([]PwnedHash, 0, 1024)
	sc := bufio.NewScanner(r)
	var buf [2 * sha1.Size]byte
	copy(buf[:5], prefix)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(line) < 37 || line[35] != ':' {
			return nil, fmt.Errorf("hibp: range %s line %d: not SUFFIX:COUNT", prefix, n)
		}
		count, ok := parseCount(line[36:])
		if !ok {
			return nil, fmt.Errorf("hibp: range %s line %d: bad count", prefix, n)
		}
		if count == 0 {
			continue // padding
		}
		h := PwnedHash{Count: count}
		copy(buf[5:], line[:35])
		if _, err := hex.Decode(h.SHA1[:], buf[:]); err != nil {
			return nil, fmt.Errorf("hibp: range %s line %d: not hex", prefix, n)
		}
		out = append(out, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hibp: range %s: %w", prefix, err)
	}
	return out, nil
}

// parseCount reads a decimal count of at most 12 digits (no sign).
func parseCount(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
