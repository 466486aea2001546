package saml

// Single Logout through the browser (SAML profiles 4.4, front channel).
//
// weftid remembers which service providers received an assertion in which session, with the
// NameID and SessionIndex they were given (saml_session_participants, written by Issue). A logout
// is a chain of steps (saml_logout_steps) that the browser walks one service provider after
// another: weftid sends a signed LogoutRequest, the service provider answers with a
// LogoutResponse to /saml/slo, and weftid sends the next, until the last step:
//
//   - started in weftid (BeginLogout, after the user signed out, in weftid or by an OpenID
//     Connect app's RP-initiated logout): each participant of the session, then weftid's
//     signed-out page or the address the logout was to end at (the app's post-logout URI);
//   - started by a service provider (its signed LogoutRequest to /saml/slo): the weftid
//     sessions it names end at once, then each other participant of those sessions is told,
//     then the service provider gets weftid's signed LogoutResponse.
//
// The weftid session ends first, so a service provider that never answers leaves nobody signed
// in to weftid; the chain's rows expire after LogoutTTL. A participant whose metadata lists no
// HTTP-Redirect or HTTP-POST SingleLogoutService is skipped, and the logout is then partial
// (the final LogoutResponse carries the PartialLogout status, the signed-out page says so).

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/services/throttle"
	"github.com/weftid/weftid/store"
)

// LogoutTTL is how long a logout chain waits for the browser to come back from a service
// provider.
const LogoutTTL = 30 * time.Minute

// statusRequestUnsupported is the second-level status for what weftid does not support.
const statusRequestUnsupported = "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"

// Errors of Single Logout; the handler answers each with a page.
var (
	// ErrLogoutUnreadable: the message is missing, too large, or not a SAML logout message.
	ErrLogoutUnreadable = errors.New("saml: the logout message could not be read")
	// ErrLogoutGone: a LogoutResponse that answers no logout under way (finished or expired).
	ErrLogoutGone = errors.New("saml: no logout is waiting for this response")
	// ErrNoLogoutService: a refused LogoutRequest of a service provider whose metadata lists no
	// SingleLogoutService, so it cannot be answered with a SAML status.
	ErrNoLogoutService = errors.New("saml: the service provider has no single logout service")
)

// LogoutInbound is a message that arrived at /saml/slo: a LogoutRequest or a LogoutResponse.
type LogoutInbound struct {
	Binding      Binding
	SAMLRequest  string // HTTP-POST (HTTP-Redirect reads RawQuery)
	SAMLResponse string
	RelayState   string
	// RawQuery is the query string as received: an HTTP-Redirect signature covers its octets.
	RawQuery string
}

// LogoutMessage is a message weftid sends a service provider through the browser: by HTTP-POST
// (a form posting Param=Value and RelayState to URL) or by HTTP-Redirect (URL, signed, to go to).
type LogoutMessage struct {
	SPName     string
	Binding    Binding
	URL        string
	Origin     string // scheme://host[:port] of URL, safe in a CSP source list
	Param      string // "SAMLRequest" or "SAMLResponse"
	Value      string // HTTP-POST: the base64 message
	RelayState string // HTTP-POST
}

// LogoutStep is where the browser goes next in a logout: to a service provider with Message,
// or, when Message is nil, to Then, or without Then to weftid's signed-out page (Partial: some
// participant was not told, or did not confirm).
type LogoutStep struct {
	Message *LogoutMessage
	Partial bool
	Then    string
}

// BeginLogout starts telling the service providers that took part in a weftid session which has
// just ended (u signed out) that it did: it turns the session's participants into a logout chain
// and records saml_logout, in one transaction, and returns the first step. Without a user, or
// without participants, there is nothing to tell: the step is the signed-out page. then, when
// not empty, is where the last step leads instead of the signed-out page (an OpenID Connect
// app's post-logout redirect URI, checked by services/oidc): it is kept in the chain's last row.
func (s *Service) BeginLogout(ctx context.Context, u *store.User, sessionHash []byte, from store.Origin, then string) (LogoutStep, error) {
	if u == nil || sessionHash == nil {
		return LogoutStep{Then: then}, nil
	}
	if parts, err := s.store.SAMLParticipantsOfSession(ctx, sessionHash, s.now()); err != nil || len(parts) == 0 {
		return LogoutStep{Then: then}, err // no SAML key needed: the common case costs one indexed read
	}
	idp, err := s.provider(ctx)
	if err != nil {
		return LogoutStep{}, err
	}
	var step LogoutStep
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		parts, err := tx.SAMLParticipantsOfSession(ctx, sessionHash, now)
		if err != nil || len(parts) == 0 {
			return err
		}
		c := s.newChain(now)
		if err := s.chainParticipants(ctx, tx, &c, parts, 0); err != nil {
			return err
		}
		c.steps = append(c.steps, store.SAMLLogoutStep{Chain: c.id, Kind: store.SAMLLogoutEnd, UserID: u.ID, Partial: len(c.skipped) > 0,
			RelayState: then, ExpiresAt: c.expires})
		if err := tx.AddSAMLLogoutSteps(ctx, c.steps); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, from.Event(now, store.EventSAMLLogout, ptr(u.ID), ptr(u.ID), map[string]any{
			"initiated": "idp", "notify": c.notify, "skipped": c.skipped,
		})); err != nil {
			return err
		}
		step, err = s.next(ctx, tx, idp, c.id)
		return err
	})
	return step, err
}

// chain is a logout chain being built.
type chain struct {
	id      []byte
	expires time.Time
	steps   []store.SAMLLogoutStep
	notify  []int64 // service providers that get a LogoutRequest
	skipped []int64 // participants without a single logout service
}

func (s *Service) newChain(now time.Time) chain {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		panic("saml: crypto/rand failed: " + err.Error())
	}
	return chain{id: id, expires: now.Add(LogoutTTL), notify: []int64{}, skipped: []int64{}}
}

// chainParticipants adds a LogoutRequest step for each participant but the service provider
// except (which started the logout), and forgets the participants of their sessions.
func (s *Service) chainParticipants(ctx context.Context, tx *store.Tx, c *chain, parts []store.SAMLParticipant, except int64) error {
	done := map[string]bool{}
	for _, p := range parts {
		if !done[string(p.SessionHash)] {
			done[string(p.SessionHash)] = true
			if err := tx.DeleteSAMLParticipants(ctx, p.SessionHash); err != nil {
				return err
			}
		}
		if p.SPID == except {
			continue
		}
		sp, err := tx.SAMLServiceProvider(ctx, p.SPID)
		if err != nil {
			return err
		}
		md, err := storedMetadata(sp.Metadata)
		if err != nil {
			return fmt.Errorf("stored metadata of %q: %w", sp.EntityID, err)
		}
		if _, _, ok := sloEndpoint(md.entity, false); !ok {
			c.skipped = append(c.skipped, sp.ID)
			continue
		}
		c.notify = append(c.notify, sp.ID)
		c.steps = append(c.steps, store.SAMLLogoutStep{Chain: c.id, Kind: store.SAMLLogoutRequest, SPID: sp.ID, UserID: p.UserID,
			NameID: p.NameID, NameIDFormat: p.NameIDFormat, SessionIndex: p.SessionIndex, ExpiresAt: c.expires})
	}
	return nil
}

// next takes the chain's next step: it sends the next LogoutRequest (noting its ID to match the
// answer), or the final LogoutResponse, or leads back to weftid. A step whose service provider
// no longer has a single logout service is skipped (and the logout is partial).
func (s *Service) next(ctx context.Context, tx *store.Tx, idp *crewjam.IdentityProvider, chainID []byte) (LogoutStep, error) {
	now := s.now()
	for {
		st, err := tx.NextSAMLLogoutStep(ctx, chainID, now)
		if errors.Is(err, store.ErrNotFound) {
			return LogoutStep{}, nil // the chain is gone (a service provider was removed meanwhile)
		}
		if err != nil {
			return LogoutStep{}, err
		}
		if st.Kind == store.SAMLLogoutEnd { // its RelayState: where the logout ends, if not at weftid
			_, err := tx.TakeSAMLLogoutStep(ctx, st.ID, "", now)
			return LogoutStep{Partial: st.Partial, Then: st.RelayState}, err
		}
		sp, err := tx.SAMLServiceProvider(ctx, st.SPID)
		if err != nil {
			return LogoutStep{}, err
		}
		md, err := storedMetadata(sp.Metadata)
		if err != nil {
			return LogoutStep{}, fmt.Errorf("stored metadata of %q: %w", sp.EntityID, err)
		}
		binding, location, ok := sloEndpoint(md.entity, st.Kind == store.SAMLLogoutResponse)
		if st.Kind == store.SAMLLogoutResponse || !ok {
			if _, err := tx.TakeSAMLLogoutStep(ctx, st.ID, "", now); err != nil {
				return LogoutStep{}, err
			}
		}
		switch {
		case !ok:
			if err := tx.MarkSAMLLogoutPartial(ctx, chainID); err != nil {
				return LogoutStep{}, err
			}
			continue
		case st.Kind == store.SAMLLogoutResponse:
			status := ""
			if st.Partial {
				status = crewjam.StatusPartialLogout
			}
			el, sign := logoutResponseElement(idp, st.InResponseTo, location, crewjam.StatusSuccess, status, "", now)
			m, err := outbound(idp, el, sign, binding, location, st.RelayState, sp.Name)
			return LogoutStep{Message: m}, err
		}
		id := newMessageID()
		if err := tx.SentSAMLLogoutStep(ctx, st.ID, id); err != nil {
			return LogoutStep{}, err
		}
		el, sign := logoutRequestElement(idp, id, location, st.NameID, st.NameIDFormat, st.SessionIndex, now)
		m, err := outbound(idp, el, sign, binding, location, "", sp.Name)
		return LogoutStep{Message: m}, err
	}
}

// Logout handles a message a service provider sent to /saml/slo through the browser: its
// LogoutRequest (the weftid sessions it names end, the other participants are told, and it is
// answered) or its LogoutResponse to weftid's LogoutRequest (the chain goes on). It returns the
// browser's next step. A LogoutRequest that is refused (its signature, destination, lifetime)
// is answered with a signed LogoutResponse carrying the SAML status that says why, and recorded
// as saml_logout. Errors: ErrTooManyRequests (throttle.SAMLLogoutPerIP), ErrLogoutUnreadable,
// ErrUnknownSP, ErrNoLogoutService (a refused request that cannot be answered), ErrLogoutGone.
func (s *Service) Logout(ctx context.Context, in LogoutInbound, from store.Origin) (LogoutStep, error) {
	if s.limiter != nil {
		allowed, err := s.limiter.Take(ctx, throttle.SAMLLogoutPerIP.For(throttle.IPKey(from.IP)))
		if err != nil {
			return LogoutStep{}, err
		}
		if !allowed {
			return LogoutStep{}, ErrTooManyRequests
		}
	}
	m, err := decodeMessage(in)
	if err != nil {
		return LogoutStep{}, err
	}
	idp, err := s.provider(ctx)
	if err != nil {
		return LogoutStep{}, err
	}
	issuer := m.issuer()
	sp, err := s.store.SAMLServiceProviderByEntityID(ctx, issuer)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Info("SAML logout message refused", "issuer", truncate(issuer, 200), "err", "not a registered service provider")
		return LogoutStep{}, ErrUnknownSP
	}
	if err != nil {
		return LogoutStep{}, err
	}
	md, err := storedMetadata(sp.Metadata)
	if err != nil {
		return LogoutStep{}, fmt.Errorf("stored metadata of %q: %w", sp.EntityID, err)
	}
	in.RelayState = strings.TrimSpace(in.RelayState)
	if m.redirect {
		in.RelayState = m.query.get("RelayState")
	}
	switch m.root.Tag {
	case "LogoutRequest":
		return s.logoutRequest(ctx, idp, m, sp, md, in, from)
	case "LogoutResponse":
		return s.logoutResponse(ctx, idp, m, sp, md, from)
	}
	return LogoutStep{}, ErrLogoutUnreadable
}
