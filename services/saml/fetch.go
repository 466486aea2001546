package saml

// Fetching a service provider's metadata from its URL, once, when an admin registers it or
// presses "Refresh metadata". The URL is typed by an admin but fetched by the server, so it must
// not become a way to reach what only the server can: the fetch is http(s) only, bounded in time
// and size, follows at most a few redirects (never to another scheme, nor from https to http),
// uses no proxy, and refuses to connect to loopback, private, link-local, multicast or
// unspecified addresses. The address is checked when the connection is made, after the name was
// resolved, so a name that resolves to a public address when checked and to a private one when
// used (DNS rebinding) is refused too. Hosts named in --saml-metadata-allowed-hosts are exempt.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// MetadataFetchTimeout bounds one fetch, redirects included.
	MetadataFetchTimeout = 10 * time.Second
	// maxFetchRedirects is how many redirects a fetch follows.
	maxFetchRedirects = 3
	// maxMetadataURL bounds the URL an admin may give.
	maxMetadataURL = 2048
)

// Address ranges that are neither loopback, private nor link-local to net/netip, and still not
// the public internet: "this network", carrier-grade NAT, and NAT64 (whose IPv4 part is checked).
var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	sharedSpace  = netip.MustParsePrefix("100.64.0.0/10")
	nat64Mapping = netip.MustParsePrefix("64:ff9b::/96")
)

// blockedAddr reports whether ip is an address a fetch must not connect to.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64Mapping.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() ||
		thisNetwork.Contains(ip) || sharedSpace.Contains(ip)
}

// errBlockedAddr is a connection refused because of the address it would go to.
type errBlockedAddr struct{ addr netip.Addr }

func (e errBlockedAddr) Error() string { return "refused address " + e.addr.String() }

// errRedirect is a redirect the fetch does not follow, in words for the admin.
type errRedirect string

func (e errRedirect) Error() string { return string(e) }

// fetcher fetches metadata; allowed are the exempt hosts, normalised by hostKey.
type fetcher struct {
	allowed map[string]bool
	client  *http.Client
	timeout time.Duration // MetadataFetchTimeout
}

// hostKey is how a host is compared with the allowed ones: lower case, an IP address in its
// canonical form, without IPv6 brackets.
func hostKey(host string) string {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(host), "["), "]"))
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap().String()
	}
	return strings.TrimSuffix(host, ".")
}

// newFetcher makes the fetcher with its own transport: no proxy (a proxy would connect for us,
// past the address check), no kept connections, and the address check on every connection.
func newFetcher(allowed []string) *fetcher {
	f := &fetcher{allowed: map[string]bool{}, timeout: MetadataFetchTimeout}
	for _, h := range allowed {
		if h = hostKey(h); h != "" {
			f.allowed[h] = true
		}
	}
	dialer := &net.Dialer{Timeout: MetadataFetchTimeout}
	transport := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			d := *dialer
			if !f.allowed[hostKey(host)] {
				d.Control = func(_, address string, _ syscall.RawConn) error {
					ap, err := netip.ParseAddrPort(address)
					if err != nil {
						return err
					}
					if blockedAddr(ap.Addr()) {
						return errBlockedAddr{ap.Addr().Unmap()}
					}
					return nil
				}
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    MetadataFetchTimeout,
		ResponseHeaderTimeout:  MetadataFetchTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		DisableKeepAlives:      true,
		ForceAttemptHTTP2:      true,
	}
	// The whole fetch, redirects and body included, is bounded by get's context.
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			switch {
			case len(via) > maxFetchRedirects:
				return errRedirect(fmt.Sprintf("The metadata URL redirected more than %d times.", maxFetchRedirects))
			case req.URL.Scheme != "http" && req.URL.Scheme != "https":
				return errRedirect("The metadata URL redirected to a " + strconv.Quote(truncate(req.URL.Scheme, 20)) + " URL; only http and https are followed.")
			case via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme == "http":
				return errRedirect("The metadata URL redirected from https to plain http; weftid does not follow that.")
			case req.URL.User != nil:
				return errRedirect("The metadata URL redirected to a URL with a user name or password.")
			}
			return nil
		},
	}
	return f
}

// checkMetadataURL reads an admin's metadata URL: an absolute http(s) URL without credentials.
func checkMetadataURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxMetadataURL {
		return nil, errMetadata(fmt.Sprintf("The metadata URL is longer than %d characters.", maxMetadataURL))
	}
	u, err := url.Parse(raw)
	switch {
	case err == nil && u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http":
		return nil, errMetadata("The metadata URL must start with https:// or http://.")
	case err != nil || u.Scheme == "" || u.Hostname() == "":
		return nil, errMetadata("The metadata URL must be an absolute URL, such as https://app.example.com/saml/metadata.")
	case u.User != nil:
		return nil, errMetadata("The metadata URL must not contain a user name or password.")
	}
	u.Fragment = ""
	return u, nil
}

// get fetches the metadata at u, bounded by the fetcher's timeout and MaxMetadata. Its errors
// are errMetadata, saying what went wrong.
func (f *fetcher) get(ctx context.Context, u *url.URL) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, errMetadata("The metadata URL could not be used: " + shortError(err))
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, f.fetchError(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, errMetadata(fmt.Sprintf("The metadata URL answered %d %s, not the metadata.", res.StatusCode, http.StatusText(res.StatusCode)))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxMetadata+1))
	if err != nil {
		return nil, f.fetchError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errMetadata("The metadata URL answered with an empty document.")
	}
	if len(body) > MaxMetadata {
		return nil, errMetadata(fmt.Sprintf("The document at the metadata URL is larger than %d KB; it should be the metadata of one service provider.", MaxMetadata>>10))
	}
	return body, nil
}

// fetchError says in words why a fetch failed.
func (f *fetcher) fetchError(err error) error {
	var blocked errBlockedAddr
	var redirect errRedirect
	var dns *net.DNSError
	switch {
	case errors.As(err, &blocked):
		return errMetadata("The metadata URL leads to " + blocked.addr.String() + ", a loopback, private, link-local or otherwise " +
			"non-public address; weftid does not fetch from those unless the host is listed in --saml-metadata-allowed-hosts.")
	case errors.As(err, &redirect):
		return errMetadata(string(redirect))
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return errMetadata(fmt.Sprintf("The metadata URL did not answer within %v.", f.timeout))
	case errors.As(err, &dns):
		return errMetadata("The metadata URL's host " + strconv.Quote(truncate(dns.Name, 100)) + " could not be found.")
	}
	return errMetadata("The metadata could not be fetched: " + shortError(err))
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
