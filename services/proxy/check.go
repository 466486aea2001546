package proxy

// The check: what weftid answers a reverse proxy about one request to a protected app.

import (
	"context"
	"encoding/hex"
	"errors"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// Request is what the proxy asks about: the request its X-Forwarded-* headers describe, and the
// values of weftid's cookies among those the browser sent to the app's host. Nothing else of
// the request counts (a Remote-User header a client sent, above all).
type Request struct {
	Method string // X-Forwarded-Method
	Proto  string // X-Forwarded-Proto: http or https ("" means the scheme of weftid's base URL)
	Host   string // X-Forwarded-Host, with its port if it has one
	URI    string // X-Forwarded-Uri: path and query
	// Session is the proxy session cookie's value, Binding the binding cookie's ("" when none).
	Session string
	Binding string
	// AuthRequest is nginx's auth_request, which cannot pass a redirect on: a browser that must
	// sign in gets SignIn without a Location, and nginx's error_page sends the request to the
	// redirecting check. Paths under /.weftid/ go there too.
	AuthRequest bool
	// Origin is the browser's address (behind trusted proxies, the one they forwarded) and agent.
	store.Origin
}

// Outcome is the kind of answer.
type Outcome int

// The answers, each with its status: see the handlers.
const (
	// Allow: the browser is signed in for this host and its user may open the app (200, with
	// Identity in the Remote-* headers).
	Allow Outcome = iota + 1
	// SignIn: the browser is not signed in for this host: it goes to Location, weftid's
	// continuation of the sign-in (302, or 303 for a method other than GET and HEAD; 401 for an
	// auth request).
	SignIn
	// Denied: signed in, but the user may not open the app (403; app_access_denied logged).
	Denied
	// Unknown: no proxied app is at this host and path, or the proxy described no request that
	// could be one (403: weftid lets nothing through that no admin registered).
	Unknown
	// CodeRefused: a callback code that does not work: forged, used, expired, for another host
	// or made for another browser (403).
	CodeRefused
	// Throttled: too many codes that did not work from this address (429).
	Throttled
	// Redirect: a callback or sign-out that worked; the browser goes to Location (302).
	Redirect
	// NotFound: a path under /.weftid/ that weftid does not answer (404).
	NotFound
)

// Identity is who a signed-in browser's user is, as the Remote-* headers say: Remote-User and
// Remote-Email are the email address, Remote-Name the name, Remote-Groups the groups.
type Identity struct {
	Email  string
	Name   string
	Groups []string
}

// Cookie is a cookie the app's host sets: its value, and when it ends (zero: with the browser).
type Cookie struct {
	Value   string
	Expires time.Time
}

// Answer is weftid's answer to the proxy.
type Answer struct {
	Outcome  Outcome
	Location string       // SignIn, Redirect
	Identity Identity     // Allow; for Denied, who is signed in
	AppName  string       // Allow, Denied
	Admins   []store.User // Denied: whom to ask (a few active admins)
	Host     string       // the app's host as forwarded (lower case), for the pages
	// Secure: the app's host is served over https (its cookies are Secure).
	Secure bool
	// Session is the proxy session cookie to set (after a callback); ClearSession removes the
	// one the browser sent (it no longer works, or the user signed out).
	Session      *Cookie
	ClearSession bool
	// Binding is a new binding cookie to set (SignIn, when the browser had none).
	Binding string
}

// maxReturnURL bounds the address a sign-in returns to; a longer one returns to the app's root.
const maxReturnURL = 2048

// target is the request the proxy described, parsed.
type target struct {
	proto string
	host  string // normalized
	path  string // decoded and cleaned
	query string
	url   string // where the browser was going, to return to after signing in
}

// parseRequest reads the described request; ok is false when it cannot be a request to an app.
func (s *Service) parseRequest(r Request) (target, bool) {
	t := target{proto: strings.ToLower(r.Proto)}
	if t.proto == "" {
		t.proto = s.base.Scheme
	}
	var msg string
	t.host, msg = normalizeHost(r.Host)
	if (t.proto != "http" && t.proto != "https") || msg != "" {
		return t, false
	}
	uri := r.URI
	if uri == "" {
		uri = "/"
	}
	if uri[0] != '/' || !printable(uri) {
		return t, false
	}
	raw, query, _ := strings.Cut(uri, "?")
	decoded, err := url.PathUnescape(raw)
	if err != nil {
		return t, false
	}
	t.path, t.query = path.Clean(decoded), query
	t.url = t.proto + "://" + t.host + uri
	return t, true
}

// printable reports whether s is printable ASCII without spaces: what a request target is.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ForwardAuth answers the proxy about one request. The hot path, a browser that is signed in,
// reads nothing from the database while its answer is cached.
func (s *Service) ForwardAuth(ctx context.Context, r Request) (Answer, error) {
	t, ok := s.parseRequest(r)
	a := Answer{Host: t.host, Secure: t.proto == "https"}
	if !ok {
		a.Outcome = Unknown
		return a, nil
	}
	if t.path+"/" == ReservedPrefix || strings.HasPrefix(t.path, ReservedPrefix) {
		if r.AuthRequest {
			a.Outcome = SignIn
			return a, nil
		}
		return s.weftidPath(ctx, r, t, a)
	}
	apps, err := s.table(ctx)
	if err != nil {
		return a, err
	}
	app, ok := apps.match(t.host, t.path)
	if !ok {
		a.Outcome = Unknown
		return a, nil
	}
	a.AppName = app.Name
	e, found, err := s.lookup(ctx, r, t.host, apps, app)
	switch {
	case err != nil:
		return a, err
	case found && e.allowed:
		a.Outcome, a.Identity = Allow, e.identity
		return a, nil
	case found:
		a.Outcome, a.Identity, a.Admins = Denied, e.identity, e.admins
		return a, nil
	}
	a.Outcome, a.ClearSession = SignIn, r.Session != ""
	if r.AuthRequest {
		return a, nil
	}
	binding := r.Binding
	if !wellFormed(binding) {
		binding = auth.NewToken()
		a.Binding = binding
	}
	back := t.url
	if len(back) > maxReturnURL {
		back = t.proto + "://" + t.host + app.PathPrefix + "/"
	}
	a.Location = strings.TrimRight(s.base.String(), "/") + ContinuePath + "?" +
		url.Values{"rd": {back}, "b": {hex.EncodeToString(s.hash("binding", binding))}}.Encode()
	return a, nil
}

// wellFormed reports whether a cookie's value can be one of weftid's tokens (auth.NewToken).
func wellFormed(token string) bool { return len(token) >= 40 && len(token) <= 64 && printable(token) }

// lookup finds the live proxy session of the request's cookie for host, its user's identity
// and whether they may open app: from the cache, or with one indexed lookup (the session, its
// user and their groups), decided on the apps' access rules in memory (services/groups' rule),
// whose answer the cache keeps. found is false when there is no such session: no cookie, one
// that never was or ended, another host's, or a user who can no longer sign in. A denial is
// logged (app_access_denied, by groups.Admit, which reads the rule again and names the admins to
// ask) when it is decided, not at every request the cache answers.
func (s *Service) lookup(ctx context.Context, r Request, host string, apps *appTable, app store.ProxyApp) (e entry, found bool, err error) {
	if !wellFormed(r.Session) {
		return entry{}, false, nil
	}
	idHash := SessionIDHash(s.keys, r.Session)
	key := string(idHash) + "/" + strconv.FormatInt(app.ID, 10)
	now := s.now()
	if e, ok := s.cache.get(key, now); ok {
		return e, e.host == host, nil
	}
	gen := s.cache.generation()
	p, u, mine, err := s.store.ProxySessionUser(ctx, idHash, now)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!u.Active() || u.PasswordResetRequired || p.Host != host)) {
		return entry{}, false, nil
	}
	if err != nil {
		return entry{}, false, err
	}
	e = entry{identity: Identity{Email: u.Email, Name: u.Name, Groups: groupNames(mine)}, host: p.Host, ends: p.ExpiresAt, loaded: now, allowed: true}
	ref := groups.ProxyApp(app.ID)
	if s.groups != nil && !groups.Allows(apps.access[ref], mine) {
		err := s.groups.Admit(ctx, u.ID, groups.App{AppRef: ref, Name: app.Name}, r.Origin)
		var d *groups.Denied
		switch {
		case errors.As(err, &d):
			e.allowed, e.admins = false, d.Admins
		case err != nil:
			return entry{}, false, err
		} // nil: the rule changed meanwhile and lets them in
	}
	s.cache.put(key, e, gen)
	return e, true, nil
}

// groupNames are the names of a user's groups as Remote-Groups lists them: a comma inside a
// name would read as two groups, so it becomes a space.
func groupNames(mine []store.Group) []string {
	out := make([]string, len(mine))
	for i, g := range mine {
		out[i] = strings.ReplaceAll(g.Name, ",", " ")
	}
	return out
}
