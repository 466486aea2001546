// Package proxy is forward authentication: applications without single sign-on, each behind a
// reverse proxy (Caddy's forward_auth, Traefik's forwardAuth, nginx's auth_request) that asks
// weftid about every request before it passes it on.
//
// The flow, with no parent domain shared between weftid and the app:
//
//	app host, any path -> the proxy asks ForwardAuth
//	   a proxy session cookie for this host, and the user may open the app: Allow (200, Remote-*)
//	   signed in, but not among those the app lets in (services/groups): Denied (403,
//	   app_access_denied)
//	   otherwise: SignIn, a 302 to weftid's /proxy/continue?rd=<the URL>&b=<binding>
//	weftid host, /proxy/continue -> Issue, once the browser's sign-in finished every step
//	   a single-use code (a minute) for that host and this browser -> 303 to
//	   <app host>/.weftid/callback?code=..., which the proxy again hands to ForwardAuth
//	app host, /.weftid/callback -> the code becomes a host-only proxy session cookie (Exchange)
//	   -> 302 to the URL the browser first asked for
//	app host, /.weftid/logout -> signs out of weftid (and so of every app) -> weftid's sign-in page
//
// The binding ties the code to the browser that set out to sign in: before sending it away the
// app's host gives the browser a random value in a host-only cookie, whose keyed hash travels
// with the sign-in and is stored with the code. A code stolen on the way (or pushed into another
// browser to sign it in as someone else) does not work without that cookie.
//
// A proxy session belongs to the weftid session it came from: whatever ends that session (sign
// out, Sign out everywhere, deactivation, a password change or reset, deleting the user) ends it.
// The check is the hot path of every request to every protected app: one indexed lookup, whose
// answer is kept in memory for CacheTTL (cache.go).
package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// CodeTTL is how long a callback code works: the browser uses it at once, by redirects alone.
const CodeTTL = time.Minute

// Paths on an app's host that weftid answers through the proxy.
const (
	// ReservedPrefix starts every such path; no app's path prefix may start with it.
	ReservedPrefix = "/.weftid/"
	CallbackPath   = ReservedPrefix + "callback"
	LogoutPath     = ReservedPrefix + "logout"
	// ContinuePath is where weftid's own host continues a sign-in for an app.
	ContinuePath = "/proxy/continue"
)

// SignIns finds a sign-in in progress by its token (services/signin), for the address its
// pages must let their forms lead to.
type SignIns interface {
	Current(ctx context.Context, token string) (store.SignIn, store.User, error)
}

// Config is what the service needs.
type Config struct {
	BaseURL *url.URL
	Store   *store.Store
	Keys    auth.Keys
	Limiter *throttle.Limiter
	// Groups decides who may open an application (nil: every active user may open every
	// proxied app, and belongs to no group).
	Groups  *groups.Service
	SignIns SignIns
	Log     *slog.Logger
	Now     func() time.Time
	// CacheTTL and CacheSize bound the memory of checks (zero: DefaultCacheTTL, DefaultCacheSize).
	CacheTTL  time.Duration
	CacheSize int
}

// Service runs forward authentication and keeps the registry of proxied apps.
type Service struct {
	base    *url.URL
	store   *store.Store
	keys    auth.Keys
	limiter *throttle.Limiter
	groups  *groups.Service
	signIns SignIns
	log     *slog.Logger
	now     func() time.Time
	cache   *cache
	// apps is every proxied app by host, read again after CacheTTL or a change here.
	apps   atomic.Pointer[appTable]
	appsMu sync.Mutex
}

// New returns the service. It registers with the store to forget what it keeps in memory
// whenever sessions end or what a user may open changes.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	s := &Service{
		base: cfg.BaseURL, store: cfg.Store, keys: cfg.Keys, limiter: cfg.Limiter, groups: cfg.Groups, signIns: cfg.SignIns,
		log: cfg.Log, now: cfg.Now, cache: newCache(cfg.CacheTTL, cfg.CacheSize),
	}
	cfg.Store.OnAccessChanged(s.forget)
	return s
}

// The errors of the use cases.
var (
	// ErrNotFound: there is no proxied app with that id.
	ErrNotFound = errors.New("proxy: no such app")
	// ErrBadTarget: the address a sign-in should return to is not on a proxied app's host (or
	// not one weftid may send a code to), or the browser's binding is missing.
	ErrBadTarget = errors.New("proxy: not a proxied app's address")
)

// Problems are what is wrong with an app an admin submitted, in words for them.
type Problems []string

func (p Problems) Error() string { return strings.Join(p, " ") }

// ptr is the address of a copy of id, for events.
func ptr(id int64) *int64 { return &id }

// forget drops every answer and the app table: the next checks read them again.
func (s *Service) forget() {
	s.apps.Store(nil)
	s.cache.clear()
}

// hash is the keyed hash of a value the browser holds for one purpose ("session", "code",
// "binding").
func (s *Service) hash(purpose, token string) []byte {
	return s.keys.HashToken("proxy_"+purpose, token)
}

// SessionIDHash is the keyed hash under which the proxy session of a cookie's value is stored.
func SessionIDHash(keys auth.Keys, token string) []byte {
	return keys.HashToken("proxy_session", token)
}
