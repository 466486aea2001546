package views

import "net/http"

// ProxyRefusal is a refusal weftid shows through a proxy, on an app's host.
type ProxyRefusal int

// The refusals.
const (
	// ProxyDenied: signed in, but not among those who may open the app.
	ProxyDenied ProxyRefusal = iota
	// ProxyUnknown: no app is registered at this address.
	ProxyUnknown
	// ProxyCodeRefused: the sign-in's callback code does not work.
	ProxyCodeRefused
	// ProxyThrottled: too many callback codes that did not work, from this address.
	ProxyThrottled
	// ProxyNotFound: weftid has nothing at this path under /.weftid/.
	ProxyNotFound
)

// proxyWords are each refusal's status, title and text.
var proxyWords = map[ProxyRefusal]struct {
	status      int
	title, text string
}{
	ProxyDenied:      {http.StatusForbidden, "No access", "You are signed in to weftid, but you may not open this application: it lets in only the members of some groups, and you are in none of them."},
	ProxyUnknown:     {http.StatusForbidden, "Not a registered application", "weftid protects this address, but no application is registered at it, so nothing here opens. An administrator can register it under Applications > Proxied applications."},
	ProxyCodeRefused: {http.StatusForbidden, "This sign-in link does not work", "It was used already, expired, was made for another address, or was started in another browser. Try again from the start."},
	ProxyThrottled:   {http.StatusTooManyRequests, "Slow down", "Too many sign-in links that did not work came from your address. Wait a few minutes and try again."},
	ProxyNotFound:    {http.StatusNotFound, "Page not found", "weftid has nothing at this address."},
}

// ProxyWords is the page of refusal r: its status, title and text, and which ways on it offers
// (the app's root, signing out).
func ProxyWords(r ProxyRefusal) ProxyAnswer {
	w := proxyWords[r]
	return ProxyAnswer{Status: w.status, Title: w.title, Message: w.text, SignOut: r == ProxyDenied, Retry: r == ProxyCodeRefused || r == ProxyThrottled}
}
