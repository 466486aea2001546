package auth

import (
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose X-Forwarded-For entries are believed.
type Proxies []netip.Prefix

// ParseProxies reads the trusted proxies, each an IP address or a CIDR. The values that are
// neither are returned apart, for the caller to say so.
func ParseProxies(values []string) (p Proxies, invalid []string) {
	for _, v := range values {
		prefix, err := netip.ParsePrefix(v)
		if err != nil {
			addr, aerr := netip.ParseAddr(v)
			if aerr != nil {
				invalid = append(invalid, v)
				continue
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		p = append(p, prefix.Masked())
	}
	return p, invalid
}

// Trusts reports whether addr is one of the proxies.
func (p Proxies) Trusts(addr netip.Addr) bool {
	for _, prefix := range p {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP is the address a request came from, given the address it came in from (remote) and
// its X-Forwarded-For header. Behind trusted proxies it is the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy: each proxy appends the address it saw, so anything to the
// left of that was written by the client and proves nothing.
func (p Proxies) ClientIP(remote netip.Addr, forwardedFor string) string {
	remote = remote.Unmap()
	if !p.Trusts(remote) {
		return remote.String()
	}
	entries := strings.Split(forwardedFor, ",")
	for i := len(entries) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil {
			break // a malformed entry: trust nothing further left
		}
		if addr = addr.Unmap(); !p.Trusts(addr) {
			return addr.String()
		}
		remote = addr
	}
	return remote.String()
}
