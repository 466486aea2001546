package handlers

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp/fasthttpadaptor"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
	"github.com/weftid/weftid/views"
)

// oidcProvider is weftid's OpenID Connect provider: zitadel/oidc's op over oidcStorage,
// mounted in fiber through one net/http adaptor.
type oidcProvider struct {
	issuer   string
	provider *op.Provider
	storage  *oidcStorage
	handler  fiber.Handler
}

// oidcBrowserCookie is a random id of this browser: authorize requests are bound to it. Where
// a sign-in that starts now must continue when it is done travels in returnCookie.
const oidcBrowserCookie = "weftid_oidc"

// oidcContinuePrefix starts where a held authorize request continues: /oauth2/continue?id={id}.
const oidcContinuePrefix = "/oauth2/continue?id="

// errIssuerNotSecure refuses an http issuer other than loopback: op, told to allow an http
// issuer at all, would allow any.
var errIssuerNotSecure = errors.New("the OpenID Connect issuer (--base-url) must be https, or http on localhost, 127.0.0.1 or ::1")

// newProviderMu guards op.NewProvider: WithCustomEndpoints writes op's package defaults.
var newProviderMu sync.Mutex

// newOIDCProvider builds the provider with the endpoint paths of DESIGN.md and makes the first
// signing key on the first start.
func newOIDCProvider(base *url.URL, st *store.Store, keys auth.Keys, now func() time.Time, log *slog.Logger) (*oidcProvider, error) {
	issuer := strings.TrimSuffix(base.String(), "/")
	insecure := false
	switch base.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(base.Hostname()) {
			return nil, errIssuerNotSecure
		}
		insecure = true
	default:
		return nil, errIssuerNotSecure
	}
	storage := &oidcStorage{st: st, keys: keys, now: now, keyCache: map[string]*signingKey{}}
	if err := storage.ensureSigningKey(context.Background()); err != nil {
		return nil, fmt.Errorf("oidc signing key: %w", err)
	}
	var cryptoKey [32]byte
	// Seals the opaque access tokens and the codes op hands out (AES-256-GCM).
	copy(cryptoKey[:], keys.HashToken("oidc_crypto_key", ""))
	cfg := &op.Config{
		CryptoKey:                cryptoKey,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		DefaultLogoutRedirectURI: "/",
	}
	opts := []op.Option{
		op.WithCustomEndpoints(
			op.NewEndpoint("/oauth2/authorize"),
			op.NewEndpoint("/oauth2/token"),
			op.NewEndpoint("/oauth2/userinfo"),
			op.NewEndpoint("/oauth2/revoke"),
			op.NewEndpoint("/oauth2/end_session"),
			op.NewEndpoint("/oauth2/keys"),
		),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint("/oauth2/introspect")),
		op.WithCORSOptions(nil), // op's default is any origin with credentials
		op.WithLogger(log),
	}
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	newProviderMu.Lock()
	p, err := op.NewProvider(cfg, storage, op.StaticIssuer(issuer), opts...)
	newProviderMu.Unlock()
	if err != nil {
		return nil, err
	}
	fh := fasthttpadaptor.NewFastHTTPHandler(p)
	return &oidcProvider{issuer: issuer, provider: p, storage: storage, handler: func(c *fiber.Ctx) error {
		fh(c.Context())
		return nil
	}}, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oidcEndpoint hands the request to op (discovery, JWKS, authorize, token, revoke, introspect,
// userinfo, end_session, the callback after the guard).
func (h *Handler) oidcEndpoint(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	return h.oidc.handler(c)
}

// callbackURL is op's callback for a request; it needs the issuer in the context.
func (h *Handler) oidcCallbackURL(ctx context.Context, id string) string {
	return op.AuthCallbackURL(h.oidc.provider)(op.ContextWithIssuer(ctx, h.oidc.issuer), id)
}

// oidcBrowser returns the keyed hash of this browser's OIDC cookie, setting one if it has none.
func (h *Handler) oidcBrowser(c *fiber.Ctx) []byte {
	if b, ok := c.Locals(localOIDCBrowser).([]byte); ok {
		return b // set by this request already
	}
	token := c.Cookies(h.cookieName(oidcBrowserCookie))
	if len(token) < 32 {
		token = auth.NewToken()
		h.setCookie(c, oidcBrowserCookie, token, time.Time{})
	}
	b := h.keys.HashToken(hashOIDCBrowser, token)
	c.Locals(localOIDCBrowser, b)
	return b
}

const localOIDCBrowser = "weftid.oidc_browser"

// oidcAppName is how pages name a client: its name, or its id when it is gone.
func (h *Handler) oidcAppName(ctx context.Context, clientID string) string {
	if cl, err := h.store.OAuthClientByID(ctx, clientID); err == nil {
		return cl.Name
	}
	return clientID
}

// oidcRequestGone is the page for an authorize request that expired, was finished, or belongs
// to another browser.
func (h *Handler) oidcRequestGone(c *fiber.Ctx) error {
	return render(c, fiber.StatusBadRequest, views.ErrorPage(h.pageBase(c, "Sign-in request expired", ""), fiber.StatusBadRequest,
		"This application sign-in request has expired or was already used. Go back to the application and sign in again."))
}

// oidcLogin is the client's LoginURL: op stored the authorize request and sent the browser here.
// The request is bound to this browser. A complete session answers it at once (unless the RP
// asked for prompt=login); otherwise the request is held in the sign-in, and only a sign-in that
// passes every step of auth.NextStep reaches /oauth2/continue.
func (h *Handler) oidcLogin(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	now := h.now()
	id := c.Query("id")
	r, err := h.store.OIDCAuthRequestByID(ctx, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	}
	if err != nil {
		return err
	}
	if err := h.store.ClaimOIDCAuthRequest(ctx, id, h.oidcBrowser(c), now); errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	} else if err != nil {
		return err
	}
	u := currentUser(c)
	freshLogin := slices.Contains(r.Prompt, oidc.PromptLogin)
	if u != nil && r.MaxAge != nil {
		// max_age: a session signed in longer ago than that needs a fresh sign-in too.
		idHash, _ := c.Locals(localSession).([]byte)
		sess, _, err := h.store.SessionUser(ctx, idHash, now)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err != nil || now.Sub(sess.CreatedAt) > time.Duration(*r.MaxAge)*time.Second {
			freshLogin = true
		}
	}
	if u != nil && !freshLogin {
		return h.completeAuthRequest(c, r, false)
	}
	if slices.Contains(r.Prompt, oidc.PromptNone) {
		return c.Redirect(oidcErrorRedirect(r, "login_required"), fiber.StatusFound)
	}
	if u != nil {
		// prompt=login or max_age: the RP wants the user to sign in again. A GET must not end
		// the session (any site could sign people out with a link), so the user confirms with
		// a form, which carries the CSRF token.
		return render(c, fiber.StatusOK, views.OIDCReauthPage(h.pageBase(c, "Sign in again", ""), h.oidcAppName(ctx, r.ClientID), id))
	}
	return h.holdAuthRequest(c, id, r)
}

// oidcReauth is the confirmation of a fresh sign-in the RP asked for (prompt=login, max_age):
// this browser's session ends and the request waits for the new sign-in.
func (h *Handler) oidcReauth(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	id := c.FormValue("id")
	r, err := h.store.OIDCAuthRequestByID(ctx, id, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	}
	if err != nil {
		return err
	}
	if err := h.store.ClaimOIDCAuthRequest(ctx, id, h.oidcBrowser(c), h.now()); errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	} else if err != nil {
		return err
	}
	if u := currentUser(c); u != nil {
		reason := "prompt_login"
		if !slices.Contains(r.Prompt, oidc.PromptLogin) {
			reason = "max_age"
		}
		if err := h.endSessionFor(c, u, reason); err != nil {
			return err
		}
	}
	return h.holdAuthRequest(c, id, r)
}

// holdAuthRequest makes the authorize request wait for this browser's next sign-in (or the one
// under way) and sends the browser to sign in.
func (h *Handler) holdAuthRequest(c *fiber.Ctx, id string, r store.OIDCAuthRequest) error {
	ctx := c.UserContext()
	returnTo := oidcContinuePrefix + url.QueryEscape(id)
	h.setCookie(c, returnCookie, returnTo, r.ExpiresAt)
	// A sign-in already under way in this browser carries the request from now on.
	if token := c.Cookies(h.cookieName(signinCookie)); token != "" {
		if err := h.store.SetSignInReturnTo(ctx, h.keys.HashToken("signin", token), returnTo); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return redirect(c, "/login")
}

// oidcErrorRedirect sends an error back to the RP's (validated) redirect URI.
func oidcErrorRedirect(r store.OIDCAuthRequest, code string) string {
	v := url.Values{"error": {code}}
	if r.State != "" {
		v.Set("state", r.State)
	}
	sep := "?"
	if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	return r.RedirectURI + sep + v.Encode()
}

// endSessionFor ends this browser's session (prompt=login) and logs user_signed_out.
func (h *Handler) endSessionFor(c *fiber.Ctx, u *store.User, reason string) error {
	idHash, _ := c.Locals(localSession).([]byte)
	ctx := c.UserContext()
	err := h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteSession(ctx, idHash); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventUserSignedOut, ptr(u.ID), ptr(u.ID), map[string]any{"reason": reason}))
	})
	if err != nil {
		return err
	}
	h.clearCookie(c, sessionCookie)
	c.Locals(localUser, nil)
	c.Locals(localSession, nil)
	return nil
}

// oidcContinue is where a sign-in that held an authorize request goes when finishSignIn made
// its session (requireRole lets only a complete session in). It completes the request for this
// user, session and browser and takes the browser to op's callback.
func (h *Handler) oidcContinue(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	h.clearCookie(c, returnCookie)
	r, err := h.store.OIDCAuthRequestByID(c.UserContext(), c.Query("id"), h.now())
	if errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	}
	if err != nil {
		return err
	}
	return h.completeAuthRequest(c, r, true)
}

// completeAuthRequest marks the request done by this session's user, bound to this session and
// browser. After a form POST (interstitial) the answer is a page that moves on by itself:
// Chrome applies form-action 'self' to the redirects that follow a form submission, so a
// redirect chain from the sign-in form to the RP's origin would be blocked.
func (h *Handler) completeAuthRequest(c *fiber.Ctx, r store.OIDCAuthRequest, interstitial bool) error {
	ctx := c.UserContext()
	now := h.now()
	u := currentUser(c)
	idHash, _ := c.Locals(localSession).([]byte)
	sess, _, err := h.store.SessionUser(ctx, idHash, now)
	if errors.Is(err, store.ErrNotFound) {
		return redirect(c, "/login")
	}
	if err != nil {
		return err
	}
	if slices.Contains(r.Prompt, oidc.PromptLogin) && sess.CreatedAt.Before(r.CreatedAt) {
		return h.oidcRequestGone(c) // prompt=login needs a sign-in made after the request
	}
	if r.MaxAge != nil && now.Sub(sess.CreatedAt) > time.Duration(*r.MaxAge)*time.Second && sess.CreatedAt.Before(r.CreatedAt) {
		return h.oidcRequestGone(c) // too old for max_age, and not made for this request
	}
	name := h.oidcAppName(ctx, r.ClientID)
	browser := h.oidcBrowser(c)
	err = h.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CompleteOIDCAuthRequest(ctx, r.ID, browser, idHash, u.ID, sess.CreatedAt, nil, now); err != nil {
			return err
		}
		return tx.AddEvent(ctx, h.event(c, store.EventOAuth2Authorized, ptr(u.ID), ptr(u.ID),
			map[string]any{"client_id": r.ClientID, "name": name, "scopes": strings.Join(r.Scopes, " ")}))
	})
	if errors.Is(err, store.ErrNotFound) {
		return h.oidcRequestGone(c)
	}
	if err != nil {
		return err
	}
	next := h.oidcCallbackURL(ctx, r.ID)
	if !interstitial {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	c.Set("Refresh", "0; url="+next)
	return render(c, fiber.StatusOK, views.OIDCContinuePage(h.pageBase(c, "Continue to "+name, ""), name, next))
}

// oidcCallbackGuard lets to op's callback only the browser and session that completed the
// request; op itself checks only Done(). While any sign-in step is pending there is no such
// session, and nothing is issued.
func (h *Handler) oidcCallbackGuard(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	r, err := h.store.OIDCAuthRequestByID(c.UserContext(), c.Query("id"), h.now())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	u := currentUser(c)
	sess, _ := c.Locals(localSession).([]byte)
	browser := c.Cookies(h.cookieName(oidcBrowserCookie))
	if err != nil || !r.Done || u == nil || sess == nil || r.UserID != u.ID || !hmac.Equal(r.SessionHash, sess) ||
		browser == "" || !hmac.Equal(r.BrowserHash, h.keys.HashToken(hashOIDCBrowser, browser)) {
		return h.oidcRequestGone(c)
	}
	return c.Next()
}

// oidcClientEndpoint is oidcEndpoint for the endpoints where clients authenticate. Failed client
// authentications (a wrong client secret) are guesses: counted per IP address, and throttled.
func (h *Handler) oidcClientEndpoint(c *fiber.Ctx) error {
	if h.oidc == nil {
		return fiber.ErrNotFound
	}
	ctx := c.UserContext()
	ip := throttle.IPKey(h.clientIP(c))
	limited, err := h.limiter.Limited(ctx, throttle.OAuthClientPerIP.For(ip))
	if err != nil {
		return err
	}
	if limited {
		c.Set(fiber.HeaderRetryAfter, "60")
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusTooManyRequests).JSON(fiber.Map{"error": "invalid_client", "error_description": "too many failed client authentications; wait and try again"})
	}
	if err := h.oidc.handler(c); err != nil {
		return err
	}
	if c.Response().StatusCode() == fiber.StatusUnauthorized {
		clientID, _, ok := basicAuth(c)
		if !ok {
			clientID = c.FormValue("client_id")
		}
		return h.failedGuess(c, h.event(c, store.EventOAuth2ClientAuthFailed, nil, nil, map[string]any{"endpoint": c.Path(), "client_id": truncate(clientID, 100)}), throttle.OAuthClientPerIP.For(ip))
	}
	return nil
}

// basicAuth reads HTTP Basic credentials (form-urlencoded, as OAuth2 clients send them).
func basicAuth(c *fiber.Ctx) (user, pass string, ok bool) {
	v, found := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Basic ")
	if !found {
		return "", "", false
	}
	req := &http.Request{Header: http.Header{"Authorization": {"Basic " + v}}}
	user, pass, ok = req.BasicAuth()
	if u, err := url.QueryUnescape(user); err == nil {
		user = u
	}
	return user, pass, ok
}
