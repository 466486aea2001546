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
	"encoding/xml"
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

	xrv "github.com/mattermost/xml-roundtrip-validator"

	"github.com/weftid/weftid/services/throttle"
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

// fetchMetadata fetches a service provider's metadata from raw, an admin's URL, and reads it.
// Each fetch counts against the admin (throttle.SAMLFetchPerUser). Its problems are
// errMetadata.
func (s *Service) fetchMetadata(ctx context.Context, adminID int64, raw string) (spMetadata, error) {
	u, err := checkMetadataURL(raw)
	if err != nil {
		return spMetadata{}, err
	}
	if s.limiter != nil {
		allowed, err := s.limiter.Take(ctx, throttle.SAMLFetchPerUser.For(throttle.UserKey(adminID)))
		if err != nil {
			return spMetadata{}, err
		}
		if !allowed {
			return spMetadata{}, errMetadata(fmt.Sprintf("You fetched metadata %d times in the last hour; wait a while, or paste the metadata instead.",
				throttle.SAMLFetchPerUser.Max()))
		}
	}
	data, err := s.fetch.get(ctx, u)
	if err != nil {
		return spMetadata{}, err
	}
	md, err := parseMetadata(data)
	var em errMetadata
	if errors.As(err, &em) {
		return spMetadata{}, errMetadata("The document at the metadata URL is not usable metadata. " + string(em))
	}
	md.url = u.String()
	return md, err
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
		return nil, errMetadata("The metadata URL could not be used; check it and try again.")
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
	// Without a Content-Length the size is known only from what was read: a body larger than
	// MaxMetadata is too large whatever its first MaxMetadata+1 bytes are (white space too).
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxMetadata+1))
	if err != nil {
		return nil, f.fetchError(err)
	}
	if len(body) > MaxMetadata {
		return nil, errMetadata(fmt.Sprintf("The document at the metadata URL is larger than %d KB; it should be the metadata of one service provider.", MaxMetadata>>10))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errMetadata("The metadata URL answered with an empty document.")
	}
	return body, nil
}

// fetchError says in words why a fetch failed.
func (f *fetcher) fetchError(err error) error {
	var blocked errBlockedAddr
	var redirect errRedirect
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
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
	case errors.As(err, &cert):
		return errMetadata("The metadata URL's https certificate could not be verified (it is self-signed, expired, or for another host).")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errMetadata("The metadata URL's server refused the connection.")
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return errMetadata("The metadata URL's server closed the connection before it finished answering.")
	}
	// The client's own words name Go's internals, not what the admin can do.
	return errMetadata("The metadata could not be fetched from the URL; check it, or paste the metadata instead.")
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// The document, fetched, pasted or uploaded, is read in two steps before SAML looks at it:
// readRoot checks that it is one well-formed XML element that survives a round trip, and
// unreadable puts what the SAML decoder refused into words. Neither shows a parser's own text.

// readRoot checks that data is well-formed XML made of one root element (with nothing but white
// space after it: a second root would be ignored by the decoder but kept in what is stored), and
// that it reads the same when parsed again (XML that does not is the stuff of
// signature-wrapping attacks: refuse it rather than guess). It returns the root's local name.
func readRoot(data []byte) (string, error) {
	if err := xrv.Validate(bytes.NewReader(data)); err != nil {
		var ve xrv.XMLValidationError
		if errors.As(err, &ve) {
			return "", errMetadata(fmt.Sprintf("The metadata is not well-formed XML (line %d): it does not read the same when read again.", ve.Line))
		}
		return "", notWellFormed(err, 0)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var root string
	depth := 0
	for {
		line, _ := d.InputPos()
		tok, err := d.Token()
		if err == io.EOF && root != "" {
			return root, nil
		}
		if err == io.EOF {
			return "", errMetadata("The metadata is not XML: it has no element.")
		}
		if err != nil {
			return "", notWellFormed(err, line)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != "" && depth == 0 {
				return "", errMetadata(fmt.Sprintf("The metadata has more after its root element <%s> ends (line %d); paste the metadata of one service provider and nothing else.", truncate(root, 40), line))
			}
			if depth == 0 {
				root = t.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				if root != "" {
					return "", errMetadata(fmt.Sprintf("The metadata has more after its root element <%s> ends (line %d); paste the metadata of one service provider and nothing else.", truncate(root, 40), line))
				}
				return "", errMetadata(fmt.Sprintf("The metadata is not well-formed XML (line %d): there is text before its first element.", line))
			}
		default: // comments, processing instructions, a DOCTYPE
			if root != "" && depth == 0 {
				return "", errMetadata(fmt.Sprintf("The metadata has more after its root element <%s> ends (line %d); paste the metadata of one service provider and nothing else.", truncate(root, 40), line))
			}
		}
	}
}

// firstElement is the local name of data's first element, for stored metadata that an older
// weftid accepted with something after its root.
func firstElement(data []byte) (string, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return "", notWellFormed(err, 0)
		}
		if t, ok := tok.(xml.StartElement); ok {
			return t.Name.Local, nil
		}
	}
}

// notWellFormed is a parser's refusal in words, with the line it names (else line, when not 0).
func notWellFormed(err error, line int) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		line = se.Line
	}
	switch {
	case (errors.Is(err, io.EOF) || se != nil && se.Msg == "unexpected EOF") && line > 0:
		return errMetadata(fmt.Sprintf("The metadata is not well-formed XML (line %d): it ends before its elements are closed.", line))
	case line > 0:
		return errMetadata(fmt.Sprintf("The metadata is not well-formed XML (line %d).", line))
	}
	return errMetadata("The metadata is not well-formed XML.")
}

// unreadable is what the SAML decoder refused in well-formed metadata, in words: the decoder
// says it only in its own (an endpoint whose Location is not an http or https URL, a value
// that is not a number or a date where SAML wants one).
func unreadable(err error) error {
	var ue *url.Error
	var ne *strconv.NumError
	var te *time.ParseError
	switch {
	case errors.As(err, &ue) || strings.Contains(err.Error(), "invalid url"):
		return errMetadata("An endpoint in the metadata has a Location that is not an absolute http or https URL.")
	case errors.As(err, &ne):
		return errMetadata("A number in the metadata (an index, say) is not a number.")
	case errors.As(err, &te):
		return errMetadata("A date in the metadata (validUntil, say) is not a date and time.")
	}
	return errMetadata("The metadata could not be read as SAML metadata: a value in it is not of the kind SAML expects.")
}
