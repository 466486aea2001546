package auth

import (
	"net/netip"
	"slices"
	"testing"
)

func TestClientIP(t *testing.T) {
	p, invalid := ParseProxies([]string{"10.0.0.0/8", "192.0.2.1", "not-an-ip"})
	if !slices.Equal(invalid, []string{"not-an-ip"}) {
		t.Fatalf("invalid = %v, want [not-an-ip]", invalid)
	}
	for _, tc := range []struct{ remote, xff, want string }{
		{"203.0.113.9", "198.51.100.1", "203.0.113.9"},                   // not a proxy: its header proves nothing
		{"10.1.2.3", "198.51.100.1", "198.51.100.1"},                     // one proxy
		{"10.1.2.3", "6.6.6.6, 198.51.100.1, 192.0.2.1", "198.51.100.1"}, // the rightmost untrusted entry
		{"10.1.2.3", "198.51.100.1, junk, 10.9.9.9", "10.9.9.9"},         // a malformed entry: nothing further left
		{"::ffff:10.1.2.3", "", "10.1.2.3"},                              // no header: the proxy itself
	} {
		if got := p.ClientIP(netip.MustParseAddr(tc.remote), tc.xff); got != tc.want {
			t.Errorf("ClientIP(%s, %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}
