package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SAMLParticipant is a service provider that received an assertion in a weftid session, with
// the NameID and SessionIndex it was given.
type SAMLParticipant struct {
	SessionHash  []byte
	SPID         int64
	UserID       int64
	NameID       string
	NameIDFormat string
	SessionIndex string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

const samlParticipantColumns = `session_hash, sp_id, user_id, name_id, name_id_format, session_index, created_at, expires_at`

// RecordSAMLParticipant notes that a service provider received an assertion in a session (once
// per session and service provider: the newest assertion's NameID and SessionIndex win).
func (q q) RecordSAMLParticipant(ctx context.Context, p SAMLParticipant) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO saml_session_participants (`+samlParticipantColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (session_hash, sp_id) DO UPDATE SET user_id = excluded.user_id, name_id = excluded.name_id,
			name_id_format = excluded.name_id_format, session_index = excluded.session_index, expires_at = excluded.expires_at`,
		p.SessionHash, p.SPID, p.UserID, p.NameID, p.NameIDFormat, p.SessionIndex, unix(p.CreatedAt), unix(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: record saml participant: %w", err)
	}
	return nil
}

func scanSAMLParticipants(rows *sql.Rows, err error) ([]SAMLParticipant, error) {
	if err != nil {
		return nil, fmt.Errorf("store: saml participants: %w", err)
	}
	defer rows.Close()
	var out []SAMLParticipant
	for rows.Next() {
		var p SAMLParticipant
		var created, expires int64
		if err := rows.Scan(&p.SessionHash, &p.SPID, &p.UserID, &p.NameID, &p.NameIDFormat, &p.SessionIndex, &created, &expires); err != nil {
			return nil, fmt.Errorf("store: saml participants: %w", err)
		}
		p.CreatedAt, p.ExpiresAt = fromUnix(created), fromUnix(expires)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SAMLParticipantsOfSession lists the service providers that took part in a session, in the
// order they first did.
func (q q) SAMLParticipantsOfSession(ctx context.Context, sessionHash []byte, now time.Time) ([]SAMLParticipant, error) {
	return scanSAMLParticipants(q.db.QueryContext(ctx, `SELECT `+samlParticipantColumns+` FROM saml_session_participants
		WHERE session_hash = ? AND expires_at > ? ORDER BY created_at, sp_id`, sessionHash, unix(now)))
}

// SAMLParticipantsFor lists where a service provider knows a principal by nameID: in the one
// session of sessionIndex, or ("") in every session.
func (q q) SAMLParticipantsFor(ctx context.Context, spID int64, nameID, sessionIndex string, now time.Time) ([]SAMLParticipant, error) {
	return scanSAMLParticipants(q.db.QueryContext(ctx, `SELECT `+samlParticipantColumns+` FROM saml_session_participants
		WHERE sp_id = ? AND name_id = ? AND (? = '' OR session_index = ?) AND expires_at > ? ORDER BY created_at`,
		spID, nameID, sessionIndex, sessionIndex, unix(now)))
}

// DeleteSAMLParticipants forgets who took part in a session.
func (q q) DeleteSAMLParticipants(ctx context.Context, sessionHash []byte) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM saml_session_participants WHERE session_hash = ?`, sessionHash); err != nil {
		return fmt.Errorf("store: delete saml participants: %w", err)
	}
	return nil
}

// SAMLLogoutStep is one step of a logout under way (see the saml_logout_steps table).
type SAMLLogoutStep struct {
	ID           int64
	Chain        []byte
	Kind         string // SAMLLogoutRequest, SAMLLogoutResponse or SAMLLogoutEnd
	SPID         int64  // 0 for SAMLLogoutEnd
	UserID       int64  // 0 when unknown
	NameID       string
	NameIDFormat string
	SessionIndex string
	InResponseTo string
	RelayState   string // a response's RelayState; for SAMLLogoutEnd, where the logout ends ('': weftid's page)
	Partial      bool
	RequestID    string // set when the LogoutRequest was sent
	ExpiresAt    time.Time
}

// The kinds of logout steps.
const (
	SAMLLogoutRequest  = "request"
	SAMLLogoutResponse = "response"
	SAMLLogoutEnd      = "end"
)

const samlStepColumns = `id, chain, kind, COALESCE(sp_id, 0), COALESCE(user_id, 0), name_id, name_id_format, session_index,
	in_response_to, relay_state, partial, COALESCE(request_id, ''), expires_at`

func scanSAMLStep(row *sql.Row) (SAMLLogoutStep, error) {
	var s SAMLLogoutStep
	var partial int
	var expires int64
	err := row.Scan(&s.ID, &s.Chain, &s.Kind, &s.SPID, &s.UserID, &s.NameID, &s.NameIDFormat, &s.SessionIndex,
		&s.InResponseTo, &s.RelayState, &partial, &s.RequestID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return SAMLLogoutStep{}, ErrNotFound
	}
	if err != nil {
		return SAMLLogoutStep{}, fmt.Errorf("store: saml logout step: %w", err)
	}
	s.Partial, s.ExpiresAt = partial != 0, fromUnix(expires)
	return s, nil
}

// nullID is id as a nullable column: NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// AddSAMLLogoutSteps stores the steps of a new logout, in order.
func (q q) AddSAMLLogoutSteps(ctx context.Context, steps []SAMLLogoutStep) error {
	for _, s := range steps {
		partial := 0
		if s.Partial {
			partial = 1
		}
		_, err := q.db.ExecContext(ctx, `INSERT INTO saml_logout_steps (chain, kind, sp_id, user_id, name_id, name_id_format,
			session_index, in_response_to, relay_state, partial, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Chain, s.Kind, nullID(s.SPID), nullID(s.UserID), s.NameID, s.NameIDFormat, s.SessionIndex,
			s.InResponseTo, s.RelayState, partial, unix(s.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store: add saml logout step: %w", err)
		}
	}
	return nil
}

// NextSAMLLogoutStep is the first step of chain not yet sent, or ErrNotFound.
func (q q) NextSAMLLogoutStep(ctx context.Context, chain []byte, now time.Time) (SAMLLogoutStep, error) {
	return scanSAMLStep(q.db.QueryRowContext(ctx, `SELECT `+samlStepColumns+` FROM saml_logout_steps
		WHERE chain = ? AND request_id IS NULL AND expires_at > ? ORDER BY id LIMIT 1`, chain, unix(now)))
}

// SentSAMLLogoutStep records the ID of the LogoutRequest sent for step id.
func (q q) SentSAMLLogoutStep(ctx context.Context, id int64, requestID string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE saml_logout_steps SET request_id = ? WHERE id = ? AND request_id IS NULL`, requestID, id)
	if err != nil {
		return fmt.Errorf("store: sent saml logout step: %w", err)
	}
	return mustAffect(res)
}

// TakeSAMLLogoutStep removes a step and returns it, at most once: the step of the sent
// LogoutRequest requestID, or (requestID "") the step id. ErrNotFound when it is gone or expired.
func (q q) TakeSAMLLogoutStep(ctx context.Context, id int64, requestID string, now time.Time) (SAMLLogoutStep, error) {
	where, arg := `id = ?`, any(id)
	if requestID != "" {
		where, arg = `request_id = ?`, requestID
	}
	return scanSAMLStep(q.db.QueryRowContext(ctx, `DELETE FROM saml_logout_steps WHERE `+where+` AND expires_at > ?
		RETURNING `+samlStepColumns, arg, unix(now)))
}

// MarkSAMLLogoutPartial notes on chain's last step that a participant was not signed out.
func (q q) MarkSAMLLogoutPartial(ctx context.Context, chain []byte) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE saml_logout_steps SET partial = 1 WHERE chain = ? AND kind <> ?`, chain, SAMLLogoutRequest); err != nil {
		return fmt.Errorf("store: mark saml logout partial: %w", err)
	}
	return nil
}
