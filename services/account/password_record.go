package account

// Moved from handlers/password_set.go (the breach half of the password rule and the stored
// record): services/breach will own CheckBreach and BreachVerdict; this file is the one place
// the account service calls them from (verdict below).

import (
	"context"
	"strings"
	"time"

	"github.com/weftid/weftid/auth"
	"github.com/weftid/weftid/store"
)

// PasswordRecord is what is stored for a new password that passed the one password rule: its
// hash, the rule it was set under (the length and score this subject had to meet), so a later,
// stricter policy can tell who set theirs under a weaker one, and its breach fingerprint (the
// 5-character SHA-1 prefix and a keyed HMAC of the whole SHA-1) for the weekly breach re-check.
// Every place that sets a password stores this, through setPasswordTx.
func PasswordRecord(keys auth.Keys, hash, password string, s auth.PasswordSubject, p auth.PasswordPolicy) store.NewPassword {
	prefix, mac := keys.BreachFingerprint(password)
	return store.NewPassword{Hash: hash, MinLength: p.MinLengthFor(s), MinScore: p.ScoreFloor(), BreachPrefix: prefix, BreachHMAC: mac}
}

// BreachedPasswordMessage is the one answer to a password found in the breach corpus.
const BreachedPasswordMessage = "This password has appeared in a data breach, so attackers try it early. Choose a different password."

// breachCheckTimeout bounds how long a form waits for the breach service, retries included.
const breachCheckTimeout = 5 * time.Second

// BreachVerdict is the breach half of the one password rule for one password.
type BreachVerdict struct {
	// Breached: the password is in the breach corpus; refuse it with BreachedPasswordMessage.
	Breached bool
	// Skipped says why the service could not be asked ("" when it was, or when checking is
	// off). The password is accepted; LogSkipped records it so the weekly job's check counts.
	Skipped string
}

// CheckBreach asks the breach service (hibp nil: checking is off) about password on submit.
// Only the first 5 hex characters of its SHA-1 are sent.
func CheckBreach(ctx context.Context, hibp *auth.HIBP, password string) BreachVerdict {
	if !hibp.Enabled() {
		return BreachVerdict{}
	}
	ctx, cancel := context.WithTimeout(ctx, breachCheckTimeout)
	defer cancel()
	n, err := hibp.Pwned(ctx, password)
	if err != nil {
		// The reason goes into the event log: it must not name the password's prefix.
		prefix := auth.RangePrefix(auth.PasswordSHA1(password))
		return BreachVerdict{Skipped: strings.ReplaceAll(err.Error(), prefix, "*****")}
	}
	return BreachVerdict{Breached: n > 0}
}

// LogSkipped adds, inside the transaction that stores the password, the event
// password_breach_check_skipped when the service could not be asked: ev names the request
// (actor, the user whose password it is, IP). It does nothing when the check ran.
func (v BreachVerdict) LogSkipped(ctx context.Context, tx *store.Tx, ev store.Event) error {
	if v.Skipped == "" {
		return nil
	}
	ev.Type = store.EventPasswordBreachCheckSkipped
	ev.Details = map[string]any{"reason": v.Skipped}
	return tx.AddEvent(ctx, ev)
}

// verdict is the breach half of the one password rule, run when a form that sets a password
// is submitted (never from the live strength meter, which must not send anything to the
// breach service), once every other check of the form has passed and before hashing. When the
// service cannot be reached the password is accepted (Breached false) and setPasswordTx logs
// password_breach_check_skipped; its fingerprint is stored all the same, so the weekly job
// checks it.
func (s *Service) verdict(ctx context.Context, password string) BreachVerdict {
	v := CheckBreach(ctx, s.hibp, password)
	if v.Skipped != "" {
		s.log.Warn("breach check skipped: the password is accepted", "service", s.hibp.String(), "err", v.Skipped)
	}
	return v
}
