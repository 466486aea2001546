package proxy

// The registry of proxied apps: admins register, change and remove them; every check finds its
// app in appTable, all of them kept in memory.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/store"
)

// Input bounds.
const (
	maxName   = 100
	maxHost   = 253 + len(":65535")
	maxPrefix = 200
)

// AppInput is the form an admin submits for a proxied app: where it is, and who may sign in
// (services/groups; an empty Access keeps the rule as it is, everyone for a new app).
type AppInput struct {
	Name       string
	Host       string
	PathPrefix string
	Access     groups.Setting
}

// Actor is who changes the registry, for the events.
type Actor struct {
	UserID int64
	store.Origin
}

// checked is an admin's input, normalized: what is stored.
type checked struct {
	name, host, prefix string
}

// check validates an admin's form; its problems come back together as Problems.
func (s *Service) check(in AppInput) (checked, error) {
	var problems Problems
	c := checked{name: strings.TrimSpace(in.Name)}
	if c.name == "" || utf8.RuneCountInString(c.name) > maxName {
		problems = append(problems, fmt.Sprintf("Enter a name of at most %d characters.", maxName))
	} else if !auth.PlainText(c.name) {
		problems = append(problems, auth.MsgNameNotPlain)
	}
	var msg string
	if c.host, msg = normalizeHost(strings.TrimSpace(in.Host)); msg != "" {
		problems = append(problems, msg)
	} else if strings.EqualFold(c.host, s.base.Host) {
		problems = append(problems, "This is weftid's own address: a proxied app needs a host of its own.")
	}
	if c.prefix, msg = normalizePrefix(strings.TrimSpace(in.PathPrefix)); msg != "" {
		problems = append(problems, msg)
	}
	var refused groups.Problems
	if errors.As(in.Access.Check(), &refused) {
		problems = append(problems, refused...)
	}
	if len(problems) > 0 {
		return c, problems
	}
	return c, nil
}

// msgHost refuses a host that is not one.
const msgHost = "Enter the host as the browser shows it, without https:// or a path: wiki.example.com, or wiki.example.com:8443 with its port."

// normalizeHost lower-cases a host (a domain name or an IP address, with an optional port) and
// says in words what is wrong with one that is not.
func normalizeHost(h string) (string, string) {
	h = strings.ToLower(h)
	if h == "" || len(h) > maxHost || strings.ContainsAny(h, "/?#@ \t") {
		return "", msgHost
	}
	u, err := url.Parse("//" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return "", msgHost
	}
	if p := u.Port(); p != "" || strings.HasSuffix(h, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", "The port after the host must be a number from 1 to 65535."
		}
	}
	name := u.Hostname()
	if _, err := netip.ParseAddr(name); err == nil {
		return h, ""
	}
	if strings.Contains(h, "[") || !auth.DNSName(name) { // name is lower-cased above
		return "", msgHost
	}
	return h, ""
}

// normalizePrefix makes a path prefix canonical ("" for the whole host, otherwise "/a/b" with
// no trailing slash) and says in words what is wrong with one that cannot be.
func normalizePrefix(p string) (string, string) {
	if p == "" || p == "/" {
		return "", ""
	}
	const msg = "Enter a path prefix that starts with /, like /wiki, made of letters, digits and - . _ ~ / (no ?, #, %, spaces, . or .. segments), or leave it empty for the whole host."
	if len(p) > maxPrefix || p[0] != '/' {
		return "", msg
	}
	p = strings.TrimSuffix(p, "/")
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~/", r)) {
			return "", msg
		}
	}
	if path.Clean(p) != p {
		return "", msg
	}
	if p+"/" == ReservedPrefix || strings.HasPrefix(p+"/", ReservedPrefix) {
		return "", "Paths under " + ReservedPrefix + " belong to weftid on every protected host."
	}
	return p, ""
}

// msgTaken refuses a host and prefix that another app has.
const msgTaken = "Another proxied app has this host and path prefix."

// Apps lists the proxied apps by name.
func (s *Service) Apps(ctx context.Context) ([]store.ProxyApp, error) {
	return s.store.ProxyApps(ctx)
}

// App is the proxied app id, or ErrNotFound.
func (s *Service) App(ctx context.Context, id int64) (store.ProxyApp, error) {
	a, err := s.store.ProxyApp(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return a, ErrNotFound
	}
	return a, err
}

// CreateApp registers a proxied app and records proxy_app_created, in one transaction.
// Problems says what is wrong with the input, a host and prefix taken included.
func (s *Service) CreateApp(ctx context.Context, in AppInput, by Actor) (store.ProxyApp, error) {
	c, err := s.check(in)
	if err != nil {
		return store.ProxyApp{}, err
	}
	var a store.ProxyApp
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if a, err = tx.CreateProxyApp(ctx, store.ProxyApp{Name: c.name, Host: c.host, PathPrefix: c.prefix, CreatedAt: s.now()}); err != nil {
			return err
		}
		if _, err := in.Access.Save(ctx, tx, groups.ProxyApp(a.ID), s.now()); err != nil {
			return err
		}
		details := appDetails(a)
		in.Access.AddDetails(details)
		return tx.AddEvent(ctx, by.Event(s.now(), store.EventProxyAppCreated, ptr(by.UserID), nil, details))
	})
	s.forget()
	return a, taken(err)
}

// taken turns a host and prefix that another app has into the admin's problem; a chosen group
// deleted meanwhile is one already (groups.Problems).
func taken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return Problems{msgTaken}
	}
	return err
}

// UpdateApp saves an app's name, host and prefix and records proxy_app_updated with what
// changed, in one transaction; nothing changed, nothing is written. When no app is left on the
// old host, the browsers signed in there are signed out of it. ErrNotFound when the app is gone.
func (s *Service) UpdateApp(ctx context.Context, id int64, in AppInput, by Actor) (store.ProxyApp, error) {
	c, err := s.check(in)
	if err != nil {
		return store.ProxyApp{}, err
	}
	var a store.ProxyApp
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.ProxyApp(ctx, id)
		if err != nil {
			return err
		}
		a = old
		a.Name, a.Host, a.PathPrefix, a.UpdatedAt = c.name, c.host, c.prefix, s.now()
		changed := []string{}
		for _, f := range []struct{ name, old, new string }{{"name", old.Name, a.Name}, {"host", old.Host, a.Host}, {"path_prefix", old.PathPrefix, a.PathPrefix}} {
			if f.old != f.new {
				changed = append(changed, f.name)
			}
		}
		access, err := in.Access.Save(ctx, tx, groups.ProxyApp(a.ID), a.UpdatedAt)
		if err != nil {
			return err
		}
		if access {
			changed = append(changed, "access")
		}
		if len(changed) == 0 {
			a = old
			return nil
		}
		if err := tx.UpdateProxyApp(ctx, a); err != nil {
			return err
		}
		if old.Host != a.Host {
			if err := tx.DeleteOrphanProxySessions(ctx, old.Host); err != nil {
				return err
			}
		}
		details := appDetails(a)
		details["changed"] = changed
		if old.Host != a.Host || old.PathPrefix != a.PathPrefix {
			details["previous_host"], details["previous_path_prefix"] = old.Host, old.PathPrefix
		}
		in.Access.AddDetails(details)
		return tx.AddEvent(ctx, by.Event(s.now(), store.EventProxyAppUpdated, ptr(by.UserID), nil, details))
	})
	s.forget()
	if errors.Is(err, store.ErrNotFound) {
		return store.ProxyApp{}, ErrNotFound
	}
	return a, taken(err)
}

// DeleteApp removes a proxied app and records proxy_app_deleted, in one transaction; when no
// app is left on its host, the browsers signed in there are signed out of it. ErrNotFound when
// there is none.
func (s *Service) DeleteApp(ctx context.Context, id int64, by Actor) error {
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		a, err := tx.ProxyApp(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteProxyApp(ctx, a.ID); err != nil {
			return err
		}
		if err := tx.DeleteOrphanProxySessions(ctx, a.Host); err != nil {
			return err
		}
		if err := groups.Forget(ctx, tx, groups.ProxyApp(a.ID)); err != nil {
			return err
		}
		return tx.AddEvent(ctx, by.Event(s.now(), store.EventProxyAppDeleted, ptr(by.UserID), nil, appDetails(a)))
	})
	s.forget()
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// DashboardApp is a proxied app as the dashboard links to it.
type DashboardApp struct {
	Name string
	URL  string
}

// DashboardApps lists the proxied apps user userID may open, by name, each linked at its host and
// prefix with weftid's own scheme (weftid does not know the app's: it is served as weftid is).
func (s *Service) DashboardApps(ctx context.Context, userID int64) ([]DashboardApp, error) {
	apps, err := s.store.ProxyApps(ctx)
	if err != nil {
		return nil, err
	}
	apps, err = groups.Openable(ctx, s.groups, userID, store.AppProxy, apps, func(a store.ProxyApp) string { return strconv.FormatInt(a.ID, 10) })
	out := make([]DashboardApp, len(apps))
	for i, a := range apps {
		out[i] = DashboardApp{Name: a.Name, URL: s.base.Scheme + "://" + a.Host + a.PathPrefix + "/"}
	}
	return out, err
}

// appDetails are an app's event details.
func appDetails(a store.ProxyApp) map[string]any {
	return map[string]any{"app_id": a.ID, "name": a.Name, "host": a.Host, "path_prefix": a.PathPrefix}
}

// appTable is every proxied app by host, each host's longest prefix first, and who may open
// each app that does not let everyone in.
type appTable struct {
	byHost map[string][]store.ProxyApp
	access map[store.AppRef]store.AppAccess
	loaded time.Time
}

// table is the app table, read again when it is older than the cache's ttl.
func (s *Service) table(ctx context.Context) (*appTable, error) {
	now := s.now()
	if t := s.apps.Load(); t != nil && now.Sub(t.loaded) < s.cache.ttl {
		return t, nil
	}
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	if t := s.apps.Load(); t != nil && now.Sub(t.loaded) < s.cache.ttl {
		return t, nil
	}
	apps, err := s.store.ProxyApps(ctx)
	if err != nil {
		return nil, err
	}
	t := &appTable{byHost: map[string][]store.ProxyApp{}, loaded: now}
	if t.access, err = s.store.RestrictedApps(ctx); err != nil {
		return nil, err
	}
	for _, a := range apps {
		t.byHost[a.Host] = append(t.byHost[a.Host], a)
	}
	t.sortPrefixes()
	s.apps.Store(t)
	return t, nil
}

// sortPrefixes puts each host's longest prefix first.
func (t *appTable) sortPrefixes() {
	for _, list := range t.byHost {
		sort.Slice(list, func(i, j int) bool { return len(list[i].PathPrefix) > len(list[j].PathPrefix) })
	}
}

// match is the app of host (normalized) whose prefix is the longest that p (a clean path) is
// under: p is the prefix itself or continues after it with a slash.
func (t *appTable) match(host, p string) (store.ProxyApp, bool) {
	for _, a := range t.byHost[host] {
		if a.PathPrefix == "" || p == a.PathPrefix || strings.HasPrefix(p, a.PathPrefix+"/") {
			return a, true
		}
	}
	return store.ProxyApp{}, false
}
