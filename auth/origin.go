package auth

import (
	"net/url"
	"strings"
)

// Origin is the scheme://host[:port] of base as browsers send it in an Origin header: lower
// case, an IPv6 host in brackets, without a default port. The CSRF check compares with it, and
// it is WebAuthn's only accepted origin.
func Origin(base *url.URL) string {
	host := strings.ToLower(base.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := base.Port()
	if (base.Scheme == "http" && port == "80") || (base.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return strings.ToLower(base.Scheme) + "://" + host
}
