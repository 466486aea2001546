package account

// Passkeys as WebAuthn sees them: the relying party, a user with their credentials, the
// challenge of a ceremony in progress (kept in the store, named by a token the browser holds)
// and the registration ceremony. The sign-in's ceremony (services/signin) uses the same relying
// party, user and challenges.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// ChallengeTTL is how long a browser has to answer a WebAuthn challenge.
const ChallengeTTL = 5 * time.Minute

// NewWebAuthn configures WebAuthn for the base URL: its host is the RP ID, its origin the only
// origin accepted. Passkeys are discoverable and always verify the user.
func NewWebAuthn(origin string, rpID string) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "weftid",
		RPOrigins:     []string{origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

// WebAuthn is the relying party every passkey ceremony runs under: nil when passkeys are off
// (the base URL names its host by an IP address), and then the ceremonies say ErrPasskeysOff.
func (s *Service) WebAuthn() *webauthn.WebAuthn { return s.wa }

// PasskeyUser is a user as go-webauthn sees them: their WebAuthn handle, their stored passkeys
// and those passkeys' credentials.
type PasskeyUser struct {
	User        store.User
	Handle      []byte
	Passkeys    []store.Passkey
	Credentials []webauthn.Credential
}

// WebAuthnID is the user's WebAuthn handle.
func (u *PasskeyUser) WebAuthnID() []byte { return u.Handle }

// WebAuthnName is the user's e-mail address.
func (u *PasskeyUser) WebAuthnName() string { return u.User.Email }

// WebAuthnDisplayName is the user's name.
func (u *PasskeyUser) WebAuthnDisplayName() string { return u.User.Name }

// WebAuthnCredentials are the user's passkeys' credentials.
func (u *PasskeyUser) WebAuthnCredentials() []webauthn.Credential { return u.Credentials }

// PasskeyFor finds the stored passkey of a credential id.
func (u *PasskeyUser) PasskeyFor(id []byte) (store.Passkey, bool) {
	for _, p := range u.Passkeys {
		if bytes.Equal(p.CredentialID, id) {
			return p, true
		}
	}
	return store.Passkey{}, false
}

// PasskeyUser loads u with their WebAuthn handle and credentials.
func (s *Service) PasskeyUser(ctx context.Context, u store.User) (*PasskeyUser, error) {
	handle, err := s.store.WebAuthnHandle(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	passkeys, err := s.store.PasskeysByUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pu := &PasskeyUser{User: u, Handle: handle, Passkeys: passkeys}
	for _, p := range passkeys {
		var cred webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &cred); err != nil {
			return nil, fmt.Errorf("passkey %d: %w", p.ID, err)
		}
		pu.Credentials = append(pu.Credentials, cred)
	}
	return pu, nil
}

// Challenge names a ceremony in progress: the browser keeps the token until Expires.
type Challenge struct {
	Token   string
	Expires time.Time
}

// SaveChallenge keeps a ceremony's session data (purpose "login" or "register"; userID 0 when no
// user is known yet) for ChallengeTTL, in place of the ceremony previous (the browser's earlier
// token, "" for none) named: one browser keeps one challenge however often it begins, and
// expired challenges go in the same transaction.
func (s *Service) SaveChallenge(ctx context.Context, purpose string, userID int64, session *webauthn.SessionData, previous string) (Challenge, error) {
	data, err := json.Marshal(session)
	if err != nil {
		return Challenge{}, err
	}
	var previousHash []byte
	if previous != "" {
		previousHash = s.keys.HashToken("webauthn", previous)
	}
	now := s.now()
	ch := Challenge{Token: auth.NewToken(), Expires: now.Add(ChallengeTTL)}
	err = s.store.StartChallenge(ctx, store.Challenge{
		IDHash: s.keys.HashToken("webauthn", ch.Token), UserID: userID, Purpose: purpose, Data: string(data), ExpiresAt: ch.Expires,
	}, previousHash, now)
	return ch, err
}

// TakeChallenge consumes the ceremony of that purpose the token names (once) and returns its
// session; an error matching store.ErrNotFound when there is none.
func (s *Service) TakeChallenge(ctx context.Context, token, purpose string) (store.Challenge, webauthn.SessionData, error) {
	if token == "" {
		return store.Challenge{}, webauthn.SessionData{}, store.ErrNotFound
	}
	ch, err := s.store.ConsumeChallenge(ctx, s.keys.HashToken("webauthn", token), purpose, s.now())
	if err != nil {
		return store.Challenge{}, webauthn.SessionData{}, err
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(ch.Data), &session); err != nil {
		return store.Challenge{}, webauthn.SessionData{}, err
	}
	return ch, session, nil
}

// CredentialJSON is what is stored of a credential.
func CredentialJSON(cred *webauthn.Credential) (string, error) {
	b, err := json.Marshal(cred)
	return string(b), err
}

// BeginRegistration starts registering a passkey for u: the options the browser's
// navigator.credentials.create takes (u's passkeys excluded), and the challenge to answer, in
// place of the one previous (the browser's earlier challenge token) named.
func (s *Service) BeginRegistration(ctx context.Context, u store.User, previous string) (*protocol.CredentialCreation, Challenge, error) {
	if s.wa == nil {
		return nil, Challenge{}, ErrPasskeysOff
	}
	pu, err := s.PasskeyUser(ctx, u)
	if err != nil {
		return nil, Challenge{}, err
	}
	creation, session, err := s.wa.BeginRegistration(pu,
		webauthn.WithExclusions(webauthn.Credentials(pu.Credentials).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if err != nil {
		return nil, Challenge{}, err
	}
	ch, err := s.SaveChallenge(ctx, "register", u.ID, session, previous)
	return creation, ch, err
}

// FinishRegistration checks the browser's answer (body, its JSON) to u's registration challenge
// that token names, and stores the passkey under name (AddPasskey). Errors: ErrPasskeysOff,
// ErrChallengeGone, ErrPasskeyRefused (logged), ErrPasskeyExists.
func (s *Service) FinishRegistration(ctx context.Context, u store.User, token string, body []byte, name string, origin store.Origin) error {
	if s.wa == nil {
		return ErrPasskeysOff
	}
	ch, session, err := s.TakeChallenge(ctx, token, "register")
	if errors.Is(err, store.ErrNotFound) || (err == nil && ch.UserID != u.ID) {
		return ErrChallengeGone
	}
	if err != nil {
		return err
	}
	pu, err := s.PasskeyUser(ctx, u)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	var cred *webauthn.Credential
	if err == nil {
		cred, err = s.wa.CreateCredential(pu, session, parsed)
	}
	if err != nil {
		s.log.Info("passkey registration refused", "user_id", u.ID, "err", err)
		return ErrPasskeyRefused
	}
	data, err := CredentialJSON(cred)
	if err != nil {
		return err
	}
	return s.AddPasskey(ctx, u, store.Passkey{CredentialID: cred.ID, Name: name, Credential: data, SignCount: cred.Authenticator.SignCount}, origin)
}
