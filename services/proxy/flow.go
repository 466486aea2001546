package proxy

// The hand-over between weftid's host and an app's: the continuation on weftid's host that makes
// a code once the sign-in is complete, the callback on the app's host that turns it into a
// proxy session, and the sign-out there.

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/groups"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// Continuation is what weftid's /proxy/continue carries: where the browser was going (rd) and
// the keyed hash of its binding cookie on that host (b, in hex).
type Continuation struct {
	ReturnTo string
	Binding  string
}

// Path is weftid's address of the continuation: /proxy/continue?rd=...&b=...
func (c Continuation) Path() string {
	return ContinuePath + "?" + url.Values{"rd": {c.ReturnTo}, "b": {c.Binding}}.Encode()
}

// resolved is a continuation checked against the registry.
type resolved struct {
	app     store.ProxyApp
	url     *url.URL
	binding []byte
}

// resolve checks a continuation: an absolute http(s) URL on a proxied app's host and path, over
// https unless weftid itself is plain http or the host is loopback (a code must not travel in
// the clear), and a binding of the right length. ErrBadTarget otherwise.
func (s *Service) resolve(ctx context.Context, c Continuation) (resolved, error) {
	binding, err := hex.DecodeString(c.Binding)
	if err != nil || len(binding) != 32 || len(c.ReturnTo) > maxReturnURL {
		return resolved{}, ErrBadTarget
	}
	u, err := url.Parse(c.ReturnTo)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return resolved{}, ErrBadTarget
	}
	if u.Scheme == "http" && s.base.Scheme == "https" && !loopback(u.Hostname()) {
		return resolved{}, ErrBadTarget
	}
	uri, _ := strings.CutPrefix(c.ReturnTo, u.Scheme+"://"+u.Host)
	t, ok := s.parseRequest(Request{Proto: u.Scheme, Host: u.Host, URI: uri})
	if !ok || uri == "" || t.url != c.ReturnTo {
		return resolved{}, ErrBadTarget
	}
	apps, err := s.table(ctx)
	if err != nil {
		return resolved{}, err
	}
	app, ok := apps.match(t.host, t.path)
	if !ok {
		return resolved{}, ErrBadTarget
	}
	return resolved{app: app, url: u, binding: binding}, nil
}

// loopback reports whether host names this machine: localhost, a *.localhost name or a
// loopback address.
func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckContinuation says whether a continuation can be followed once the browser has signed in
// (ErrBadTarget when not): what a browser without a session is sent to sign in for.
func (s *Service) CheckContinuation(ctx context.Context, c Continuation) error {
	_, err := s.resolve(ctx, c)
	return err
}

// Issue continues a sign-in for an app once it is complete: for u, signed in under the weftid
// session sessionHash, it stores a single-use code (CodeTTL) bound to the app's host and to the
// browser's binding, and returns the app's callback address with it. ErrBadTarget for a
// continuation that cannot be followed; a *groups.Denied (app_access_denied logged) when u may
// not open the app.
func (s *Service) Issue(ctx context.Context, c Continuation, u store.User, sessionHash []byte, o store.Origin) (callback string, err error) {
	r, err := s.resolve(ctx, c)
	if err != nil {
		return "", err
	}
	if s.groups != nil {
		if err := s.groups.Admit(ctx, u.ID, groups.App{AppRef: groups.ProxyApp(r.app.ID), Name: r.app.Name}, o); err != nil {
			return "", err
		}
	}
	code := auth.NewToken()
	err = s.store.CreateProxyCode(ctx, store.ProxyCode{
		CodeHash: s.hash("code", code), SessionHash: sessionHash, Host: r.url.Host, Binding: r.binding,
		ReturnURL: c.ReturnTo, ExpiresAt: s.now().Add(CodeTTL),
	})
	if err != nil {
		return "", err
	}
	return r.url.Scheme + "://" + r.url.Host + CallbackPath + "?" + url.Values{"code": {code}}.Encode(), nil
}

// weftidPath answers the paths under /.weftid/ on an app's host.
func (s *Service) weftidPath(ctx context.Context, r Request, t target, a Answer) (Answer, error) {
	switch t.path {
	case CallbackPath:
		q, _ := url.ParseQuery(t.query)
		return s.exchange(ctx, r, t, a, q.Get("code"))
	case LogoutPath:
		return s.logout(ctx, r, t, a)
	}
	a.Outcome = NotFound
	return a, nil
}

// exchange turns a callback code into a proxy session for the browser: the code is taken (it
// works once, whatever happens next) and must be unexpired, for this host and made for this
// browser's binding cookie, and its weftid session must still be live and its user able to
// sign in. Codes that do not work are counted per IP (throttle.ProxyCodePerIP) and logged
// (login_failed, reason proxy_code).
func (s *Service) exchange(ctx context.Context, r Request, t target, a Answer, code string) (Answer, error) {
	perIP := throttle.ProxyCodePerIP.For(throttle.IPKey(r.IP))
	fail := func(reason string) (Answer, error) {
		a.Outcome = CodeRefused
		return a, s.limiter.FailedGuess(ctx, r.Event(s.now(), store.EventLoginFailed, nil, nil, map[string]any{
			"reason": "proxy_code", "problem": reason, "host": t.host,
		}), perIP)
	}
	limited, err := s.limiter.Refuse(ctx, r.Event(s.now(), store.EventLoginFailed, nil, nil, map[string]any{"reason": "throttled", "host": t.host}), perIP)
	if err != nil || limited {
		a.Outcome = Throttled
		return a, err
	}
	if !wellFormed(code) {
		return fail("malformed")
	}
	c, err := s.store.TakeProxyCode(ctx, s.hash("code", code))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fail("unknown")
	case err != nil:
		return a, err
	case !s.now().Before(c.ExpiresAt):
		return fail("expired")
	case c.Host != t.host:
		return fail("other_host")
	case !wellFormed(r.Binding) || subtle.ConstantTimeCompare(c.Binding, s.hash("binding", r.Binding)) != 1:
		return fail("other_browser")
	}
	token := auth.NewToken()
	now := s.now()
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		sess, u, err := tx.SessionUser(ctx, c.SessionHash, now)
		if err != nil {
			return err
		}
		if !u.Active() || u.PasswordResetRequired {
			return store.ErrNotFound
		}
		if err := tx.CreateProxySession(ctx, store.ProxySession{IDHash: SessionIDHash(s.keys, token), SessionHash: c.SessionHash,
			Host: c.Host, CreatedAt: now, ExpiresAt: sess.ExpiresAt}); err != nil {
			return err
		}
		a.Session = &Cookie{Value: token, Expires: sess.ExpiresAt}
		return tx.AddEvent(ctx, r.Event(now, store.EventProxySessionCreated, &u.ID, &u.ID, map[string]any{"host": c.Host}))
	})
	if errors.Is(err, store.ErrNotFound) {
		a.Session = nil
		return fail("session_ended")
	}
	if err != nil {
		return a, err
	}
	a.Outcome, a.Location = Redirect, c.ReturnURL
	return a, nil
}

// logout is /.weftid/logout on an app's host. It signs the browser out of weftid, as Authelia
// and Authentik do: ending only the app's session would change nothing, since the next request
// would find weftid's session and sign in again at once. The weftid session the proxy session
// came from ends (user_signed_out), and with it the browser's sessions on every app's host;
// the browser goes to weftid's sign-in page, which says it signed out.
func (s *Service) logout(ctx context.Context, r Request, t target, a Answer) (Answer, error) {
	a.Outcome, a.ClearSession = Redirect, r.Session != ""
	a.Location = strings.TrimRight(s.base.String(), "/") + "/login?notice=signed_out"
	if !wellFormed(r.Session) {
		return a, nil
	}
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.DeleteProxySession(ctx, SessionIDHash(s.keys, r.Session))
		if err != nil {
			return err
		}
		userID, err := tx.SessionUserID(ctx, p.SessionHash)
		if err != nil {
			return err
		}
		if err := tx.DeleteSession(ctx, p.SessionHash); err != nil {
			return err
		}
		return tx.AddEvent(ctx, r.Event(s.now(), store.EventUserSignedOut, &userID, &userID, map[string]any{"via": "proxy_logout", "host": t.host}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return a, nil // signed out already
	}
	return a, err
}

// FormActionOrigin is the origin of the app that the sign-in of signInToken (or, before one
// started, the continuation waiting in the browser's return cookie) will continue to, if that
// is a proxied app; "" otherwise. The sign-in's pages list it in their CSP form-action: Chrome
// applies form-action to every redirect after a form's POST, and the last one goes to the app's
// host.
func (s *Service) FormActionOrigin(ctx context.Context, signInToken, returnCookie string) string {
	returnTo := returnCookie
	if signInToken != "" && s.signIns != nil {
		if si, _, err := s.signIns.Current(ctx, signInToken); err == nil {
			returnTo = si.ReturnTo
		}
	}
	raw, ok := strings.CutPrefix(returnTo, ContinuePath+"?")
	if !ok {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	r, err := s.resolve(ctx, Continuation{ReturnTo: q.Get("rd"), Binding: q.Get("b")})
	if err != nil {
		return ""
	}
	return r.url.Scheme + "://" + r.url.Host
}
