package oidc

// The per-IP limits of the provider's endpoints: failed client authentications are guesses
// (throttle.OAuthClientPerIP), and an authorize request without a session stores a row for up
// to half an hour (throttle.OIDCAuthorizePerIP).

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

var (
	// ErrClientThrottled: this IP failed too many client authentications.
	ErrClientThrottled = errors.New("oidc: too many failed client authentications")
	// ErrTooManyRequests: this IP made too many authorize requests without a session.
	ErrTooManyRequests = errors.New("oidc: too many authorize requests from this address")
)

// ClientAuth is a client authenticating at the token, introspection or revocation endpoint,
// as the oauth2_client_auth_failed event records it: the endpoint, and the request's
// Authorization header and form client_id, which name the client.
type ClientAuth struct {
	Actor
	Endpoint      string
	Authorization string
	FormClientID  string
}

// ClientID is the client id a request authenticates as (HTTP Basic, else the form), as events
// record it: at most 100 bytes.
func (a ClientAuth) ClientID() string {
	clientID, ok := a.FormClientID, false
	if v, found := strings.CutPrefix(a.Authorization, "Basic "); found {
		req := &http.Request{Header: http.Header{"Authorization": {"Basic " + v}}}
		var user string
		if user, _, ok = req.BasicAuth(); ok {
			// form-urlencoded, as OAuth2 clients send it
			if u, err := url.QueryUnescape(user); err == nil {
				user = u
			}
			clientID = user
		}
	}
	if len(clientID) > 100 {
		clientID = clientID[:100]
	}
	return clientID
}

func (s *Service) clientAuthEvent(a ClientAuth, reason string) store.Event {
	details := map[string]any{"endpoint": a.Endpoint, "client_id": a.ClientID()}
	if reason != "" {
		details["reason"] = reason
	}
	return s.event(a.Actor, store.EventOAuth2ClientAuthFailed, nil, details)
}

// ClientAuthLimited is asked before a client authenticates: ErrClientThrottled when its IP has
// failed too many. The refusal is logged once per window, then summed up in one login_throttled
// event (throttle.Limiter.Refused).
func (s *Service) ClientAuthLimited(ctx context.Context, a ClientAuth) error {
	if s.limiter == nil {
		return nil
	}
	limited, err := s.limiter.Refuse(ctx, s.clientAuthEvent(a, "throttled"), throttle.OAuthClientPerIP.For(throttle.IPKey(a.IP)))
	if err != nil || !limited {
		return err
	}
	return ErrClientThrottled
}

// ClientAuthFailed counts a failed client authentication (a wrong client secret) against its IP
// and logs it, in one transaction.
func (s *Service) ClientAuthFailed(ctx context.Context, a ClientAuth) error {
	if s.limiter == nil {
		return nil
	}
	return s.limiter.FailedGuess(ctx, s.clientAuthEvent(a, ""), throttle.OAuthClientPerIP.For(throttle.IPKey(a.IP)))
}

// AuthorizeAllowed counts an authorize request of a browser without a session (a.UserID 0)
// against its IP: ErrTooManyRequests past the limit. A browser with a session is not counted: it
// is answered at once, and a flood from it has a name.
func (s *Service) AuthorizeAllowed(ctx context.Context, a Actor) error {
	if s.limiter == nil || a.UserID != 0 {
		return nil
	}
	allowed, err := s.limiter.Take(ctx, throttle.OIDCAuthorizePerIP.For(throttle.IPKey(a.IP)))
	if err == nil && !allowed {
		err = ErrTooManyRequests
	}
	return err
}
