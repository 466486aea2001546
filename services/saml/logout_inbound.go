package saml

// Single Logout, what service providers send to /saml/slo (see Logout): their LogoutRequests,
// checked and answered, and their LogoutResponses to weftid's, which move a logout on.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	crewjam "github.com/crewjam/saml"

	"github.com/weftid/weftid/store"
)

// refusal is a LogoutRequest refused: the status, second-level status and message it gets.
type refusal struct {
	status, sub string
	err         error
}

// logoutRequest handles a service provider's LogoutRequest (see Logout).
func (s *Service) logoutRequest(ctx context.Context, idp *crewjam.IdentityProvider, m inboundMessage, sp store.SAMLServiceProvider,
	md spMetadata, in LogoutInbound, from store.Origin) (LogoutStep, error) {
	var unverified logoutRequestXML
	if err := unmarshalElement(m.root, &unverified); err != nil || unverified.ID == "" {
		return LogoutStep{}, ErrLogoutUnreadable
	}
	now := s.now()
	req, ref := s.checkLogoutRequest(m, md, now)
	if ref != nil {
		return s.refuseLogoutRequest(ctx, idp, sp, md, unverified.ID, in, ref, from)
	}
	indexes := req.SessionIndexs
	if len(indexes) == 0 {
		indexes = []string{""} // every session of the NameID at this service provider
	}
	var step LogoutStep
	err := s.store.InTx(ctx, func(tx *store.Tx) error {
		var parts []store.SAMLParticipant
		for _, index := range indexes {
			found, err := tx.SAMLParticipantsFor(ctx, sp.ID, req.NameID.Value, strings.TrimSpace(index), now)
			if err != nil {
				return err
			}
			parts = appendNew(parts, found)
		}
		sessions := map[string]bool{}
		var userID *int64
		for _, p := range parts {
			if sessions[string(p.SessionHash)] {
				continue
			}
			sessions[string(p.SessionHash)] = true
			if err := tx.DeleteSession(ctx, p.SessionHash); err != nil {
				return err
			}
			userID = ptr(p.UserID)
			others, err := tx.SAMLParticipantsOfSession(ctx, p.SessionHash, now)
			if err != nil {
				return err
			}
			parts = appendNew(parts, others)
		}
		c := s.newChain(now)
		if err := s.chainParticipants(ctx, tx, &c, parts, sp.ID); err != nil {
			return err
		}
		uid := int64(0)
		if userID != nil {
			uid = *userID
		}
		c.steps = append(c.steps, store.SAMLLogoutStep{Chain: c.id, Kind: store.SAMLLogoutResponse, SPID: sp.ID, UserID: uid,
			InResponseTo: req.ID, RelayState: in.RelayState, Partial: len(c.skipped) > 0, ExpiresAt: c.expires})
		if err := tx.AddSAMLLogoutSteps(ctx, c.steps); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, from.Event(now, store.EventSAMLLogout, nil, userID, map[string]any{
			"initiated": "sp", "sp_id": sp.ID, "entity_id": sp.EntityID, "binding": string(in.Binding),
			"sessions_ended": len(sessions), "notify": c.notify, "skipped": c.skipped,
		})); err != nil {
			return err
		}
		var err error
		step, err = s.next(ctx, tx, idp, c.id)
		return err
	})
	return step, err
}

// refuseLogoutRequest records a refused LogoutRequest as saml_logout and answers it with a
// signed LogoutResponse whose status says why, at the service provider's single logout service
// (ErrNoLogoutService when its metadata lists none).
func (s *Service) refuseLogoutRequest(ctx context.Context, idp *crewjam.IdentityProvider, sp store.SAMLServiceProvider, md spMetadata,
	requestID string, in LogoutInbound, ref *refusal, from store.Origin) (LogoutStep, error) {
	now := s.now()
	err := s.store.AddEvent(ctx, from.Event(now, store.EventSAMLLogout, nil, nil, map[string]any{
		"initiated": "sp", "sp_id": sp.ID, "entity_id": sp.EntityID, "binding": string(in.Binding), "refused": ref.err.Error(),
	}))
	if err != nil {
		return LogoutStep{}, err
	}
	binding, location, ok := sloEndpoint(md.entity, true)
	if !ok {
		return LogoutStep{}, ErrNoLogoutService
	}
	el, sign := logoutResponseElement(idp, requestID, location, ref.status, ref.sub, "weftid refused the LogoutRequest: "+ref.err.Error()+".", now)
	msg, err := outbound(idp, el, sign, binding, location, in.RelayState, sp.Name)
	return LogoutStep{Message: msg}, err
}

// checkLogoutRequest verifies a LogoutRequest and reads it: its signature, destination, issuer,
// version, lifetime and NameID. A refusal says which SAML status it gets and why.
func (s *Service) checkLogoutRequest(m inboundMessage, md spMetadata, now time.Time) (logoutRequestXML, *refusal) {
	denied := func(err error) *refusal { return &refusal{crewjam.StatusRequester, crewjam.StatusRequestDenied, err} }
	verified, err := m.verify(spSigningCerts(md.entity))
	if err != nil {
		return logoutRequestXML{}, denied(err)
	}
	var r logoutRequestXML
	if err := unmarshalElement(verified, &r); err != nil {
		return r, &refusal{crewjam.StatusRequester, "", errors.New("the request could not be read")}
	}
	slo := s.absURL(sloPath)
	switch {
	case r.Version != "2.0":
		return r, &refusal{crewjam.StatusVersionMismatch, "", errors.New("the version is not 2.0")}
	case strings.TrimSpace(r.Issuer) != md.entity.EntityID:
		return r, denied(errors.New("the issuer is not the service provider that signed it"))
	case r.Destination != slo.String():
		return r, denied(fmt.Errorf("the Destination is not %s", slo.String()))
	case r.EncryptedID != nil:
		return r, &refusal{crewjam.StatusRequester, statusRequestUnsupported, errors.New("an encrypted NameID is not supported")}
	case r.NameID == nil || strings.TrimSpace(r.NameID.Value) == "":
		return r, &refusal{crewjam.StatusRequester, "", errors.New("the request names no NameID")}
	}
	if err := checkLifetime(r, now); err != nil {
		return r, denied(err)
	}
	r.NameID.Value = strings.TrimSpace(r.NameID.Value)
	return r, nil
}

// logoutResponse handles a service provider's answer to weftid's LogoutRequest (see Logout): the
// step it answers is taken, its outcome recorded, and the chain goes on. An answer that does
// not verify, or is not a success, makes the logout partial.
func (s *Service) logoutResponse(ctx context.Context, idp *crewjam.IdentityProvider, m inboundMessage, sp store.SAMLServiceProvider,
	md spMetadata, from store.Origin) (LogoutStep, error) {
	var unverified logoutResponseXML
	if err := unmarshalElement(m.root, &unverified); err != nil || unverified.InResponseTo == "" {
		return LogoutStep{}, ErrLogoutUnreadable
	}
	verifyErr := error(nil)
	var r logoutResponseXML
	verified, err := m.verify(spSigningCerts(md.entity))
	if err == nil {
		err = unmarshalElement(verified, &r)
	}
	slo := s.absURL(sloPath)
	switch {
	case err != nil:
		verifyErr = err
	case r.InResponseTo != unverified.InResponseTo || strings.TrimSpace(r.Issuer) != sp.EntityID:
		verifyErr = errors.New("the issuer or InResponseTo does not match")
	case r.Destination != "" && r.Destination != slo.String():
		verifyErr = fmt.Errorf("the Destination is not %s", slo.String())
	}
	var step LogoutStep
	err = s.store.InTx(ctx, func(tx *store.Tx) error {
		now := s.now()
		st, err := tx.TakeSAMLLogoutStep(ctx, 0, unverified.InResponseTo, now)
		if errors.Is(err, store.ErrNotFound) || (err == nil && st.SPID != sp.ID) {
			return ErrLogoutGone
		}
		if err != nil {
			return err
		}
		status := unverified.Status.Code.Value
		details := map[string]any{"initiated": "idp", "sp_id": sp.ID, "entity_id": sp.EntityID, "status": status, "verified": verifyErr == nil}
		if verifyErr != nil {
			details["refused"] = verifyErr.Error()
		}
		if verifyErr != nil || status != crewjam.StatusSuccess {
			if err := tx.MarkSAMLLogoutPartial(ctx, st.Chain); err != nil {
				return err
			}
		}
		if err := tx.AddEvent(ctx, from.Event(now, store.EventSAMLLogout, nil, nullablePtr(st.UserID), details)); err != nil {
			return err
		}
		step, err = s.next(ctx, tx, idp, st.Chain)
		return err
	})
	return step, err
}

// appendNew appends to parts the participants of more that it does not hold yet.
func appendNew(parts, more []store.SAMLParticipant) []store.SAMLParticipant {
	for _, p := range more {
		found := false
		for _, q := range parts {
			if string(q.SessionHash) == string(p.SessionHash) && q.SPID == p.SPID {
				found = true
				break
			}
		}
		if !found {
			parts = append(parts, p)
		}
	}
	return parts
}

// nullablePtr is a pointer to id, or nil for 0.
func nullablePtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}
