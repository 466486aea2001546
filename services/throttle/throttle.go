// Package throttle is weftid's one limiter of guesses and anonymous writes. It owns every
// limit (the table below), the counting of attempts in the database, and the locks that
// serialise the check, verification and recording of guesses at one account, across every
// instance on the database.
package throttle

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/weftid/weftid/metrics"
	"github.com/weftid/weftid/store"
	"golang.org/x/time/rate"
)

// Rule names one limit of the table.
type Rule int

// The limits. Password failures are counted per e-mail address (known or not, so a throttled
// answer says nothing about whether an account exists) and per client IP.
const (
	PasswordPerAccount Rule = iota
	PasswordPerIP
	CodePerUser
	CodePerIP
	// CodeMails allows the first code of a sign-in and 3 resends in 5 minutes, per user.
	CodeMails
	SetupPerIP
	PasskeyPerIP
	// ResetRequestsPerAccount and ResetRequestsPerIP count "Forgot password" requests, whether
	// or not the address has an account; ResetLinkPerIP counts reset links that did not work.
	ResetRequestsPerAccount
	ResetRequestsPerIP
	ResetLinkPerIP
	// InvitePerIP counts posted invitation links that did not work.
	InvitePerIP
	// OAuthClientPerIP counts failed client authentications at the token, introspection and
	// revocation endpoints.
	OAuthClientPerIP
	// OIDCAuthorizePerIP and SAMLHoldPerIP count the SSO requests an anonymous browser makes
	// the server store (each row lives up to half an hour).
	OIDCAuthorizePerIP
	SAMLHoldPerIP
	// PasskeyBeginPerIP counts the passkey ceremonies an anonymous browser makes the server
	// store (each challenge lives 5 minutes); a person signing in needs a handful.
	PasskeyBeginPerIP
	// InviteResendPerUser counts the invitations sent again to one user, by any admin: each is
	// a mail to their address.
	InviteResendPerUser
	// SAMLLogoutPerIP counts the SAML logout messages (requests and responses) a browser brings
	// to /saml/slo: each costs a signature check and may write an event.
	SAMLLogoutPerIP
	// SAMLFetchPerUser counts an admin's fetches of service provider metadata by URL.
	SAMLFetchPerUser
	// ProxyCodePerIP counts the forward-auth callback codes (services/proxy) that did not work.
	ProxyCodePerIP
)

// counting says which stored attempts a rule counts.
type counting int

const (
	// failures counts failed attempts in the window: right for an IP, where an attacker's
	// own successful account must not wipe the slate.
	failures counting = iota
	// failuresSinceSuccess counts failed attempts after the key's latest success: right for
	// an account, whose owner proves themselves by succeeding.
	failuresSinceSuccess
	// every counts every attempt, failed or not (mails sent, requests stored).
	every
)

type limit struct {
	name   string // how summaries (login_throttled) name the rule
	kind   string // signin_attempts.kind
	max    int
	window time.Duration
	count  counting
}

// table is every limit weftid enforces.
var table = [...]limit{
	PasswordPerAccount:      {"password_per_account", store.AttemptPassword, 5, 15 * time.Minute, failuresSinceSuccess},
	PasswordPerIP:           {"password_per_ip", store.AttemptPassword, 30, 15 * time.Minute, failures},
	CodePerUser:             {"code_per_user", store.AttemptCode, 10, 15 * time.Minute, failuresSinceSuccess},
	CodePerIP:               {"code_per_ip", store.AttemptCode, 30, 15 * time.Minute, failures},
	CodeMails:               {"code_mails", store.AttemptCodeMail, 4, 5 * time.Minute, every},
	SetupPerIP:              {"setup_per_ip", store.AttemptSetup, 10, 15 * time.Minute, failures},
	PasskeyPerIP:            {"passkey_per_ip", store.AttemptPasskey, 30, 15 * time.Minute, failures},
	ResetRequestsPerAccount: {"reset_requests_per_account", store.AttemptResetRequest, 3, time.Hour, every},
	ResetRequestsPerIP:      {"reset_requests_per_ip", store.AttemptResetRequest, 20, time.Hour, every},
	ResetLinkPerIP:          {"reset_link_per_ip", store.AttemptResetLink, 20, 15 * time.Minute, failures},
	InvitePerIP:             {"invite_per_ip", store.AttemptInvite, 10, 15 * time.Minute, failures},
	OAuthClientPerIP:        {"oauth_client_per_ip", "oauth_client", 30, 15 * time.Minute, failures},
	OIDCAuthorizePerIP:      {"oidc_authorize_per_ip", "oidc_authorize", 200, 15 * time.Minute, every},
	SAMLHoldPerIP:           {"saml_hold_per_ip", "saml_hold", 200, 15 * time.Minute, every},
	PasskeyBeginPerIP:       {"passkey_begin_per_ip", "passkey_begin", 60, 15 * time.Minute, every},
	InviteResendPerUser:     {"invite_resend_per_user", "invite_resend", 5, time.Hour, every},
	SAMLLogoutPerIP:         {"saml_logout_per_ip", "saml_logout", 200, 15 * time.Minute, every},
	SAMLFetchPerUser:        {"saml_fetch_per_user", "saml_metadata_fetch", 30, time.Hour, every},
	ProxyCodePerIP:          {"proxy_code_per_ip", "proxy_code", 30, 15 * time.Minute, failures},
}

// Max is how many attempts the rule allows in its window.
func (r Rule) Max() int { return table[r].max }

// Window is the rule's time window.
func (r Rule) Window() time.Duration { return table[r].window }

// Name is the rule's name in events (e.g. "password_per_ip").
func (r Rule) Name() string { return table[r].name }

// Kind is the kind of attempt the rule counts.
func (r Rule) Kind() string { return table[r].kind }

// Check is a rule applied to one key.
type Check struct {
	Rule Rule
	Key  string
}

// For applies the rule to key (UserKey, EmailKey or IPKey).
func (r Rule) For(key string) Check { return Check{r, key} }

// UserKey, EmailKey and IPKey are the keys attempts are counted under.
func UserKey(id int64) string      { return fmt.Sprintf("user:%d", id) }
func EmailKey(email string) string { return "email:" + email }
func IPKey(ip string) string       { return "ip:" + ip }

// WindowStart is the earliest stored attempt time (whole Unix seconds) that still counts in a
// window ending at now: an attempt at T counts while now < T+window, the same half-open rule as
// an expiry (a code made at T is valid while now < T+TTL).
func WindowStart(now time.Time, window time.Duration) time.Time {
	return now.Add(-window).Truncate(time.Second).Add(time.Second)
}

// counter is what the limiter reads and writes: the store or a transaction of it.
type counter interface {
	CountFailures(ctx context.Context, kind, key string, since time.Time, afterSuccess bool) (int, error)
	CountAttempts(ctx context.Context, kind, key string, since time.Time) (int, error)
	RecordAttempt(ctx context.Context, kind string, keys []string, success bool, now time.Time) error
	ReserveAttempt(ctx context.Context, kind string, keys []string, now time.Time) ([]int64, error)
}

// Limiter counts attempts in the database and serialises guesses per account.
type Limiter struct {
	store *store.Store
	now   func() time.Time
	// locks serialise the check, verification and recording of guesses per key (striped), so
	// concurrent guesses cannot all pass the throttle before any of them is counted. They cover
	// this process; Lock adds the database's lock of the key (store.Lock), which covers the other
	// instances on a shared PostgreSQL database, and which each process asks for one request at
	// a time per stripe.
	locks [256]sync.Mutex
	// ceilings bound anonymous writes across all addresses (ceiling.go).
	ceilings map[Rule]*rate.Limiter
	// metrics counts refusals by rule (nil: not counted).
	metrics *metrics.Metrics
}

// SetMetrics makes the limiter count every refusal in m, by rule.
func (l *Limiter) SetMetrics(m *metrics.Metrics) { l.metrics = m }

// New returns a limiter over st; now is the clock (time.Now when nil).
func New(st *store.Store, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: st, now: now, ceilings: newCeilings()}
}

// Lock locks the guesses at one key, in every instance, and returns the unlock: for guesses
// that are checked (Refuse), verified and only then counted (Fail). It fails only when the
// database's lock cannot be had (ctx ended, the database is gone). On PostgreSQL each holder
// keeps one of a few connections set aside for locks, so the anonymous password step, whose
// guesses Reserve counts exactly without it, takes LockHere instead.
func (l *Limiter) Lock(ctx context.Context, key string) (unlock func(), err error) {
	unlockHere := l.LockHere(key)
	release, err := l.store.Lock(ctx, "guesses:"+key)
	if err != nil {
		unlockHere()
		return nil, err
	}
	return func() {
		release()
		unlockHere()
	}, nil
}

// LockHere locks the guesses at one key in this process only, and returns the unlock: enough
// for guesses counted by Reserve before they are verified, whose count is one transaction that
// holds the key's lock in every instance.
func (l *Limiter) LockHere(key string) (unlock func()) {
	f := fnv.New32a()
	f.Write([]byte(key))
	m := &l.locks[f.Sum32()%uint32(len(l.locks))]
	m.Lock()
	return m.Unlock
}

// counted names the attempts the checks count, for the transaction locks that make checking
// and counting them one step in every instance (store.Tx.Lock).
func counted(checks []Check) []string {
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = "attempts:" + table[c.Rule].kind + ":" + c.Key
	}
	return names
}

// reached reports whether one check has reached its limit.
func (l *Limiter) reached(ctx context.Context, q counter, c Check) (bool, error) {
	lim := table[c.Rule]
	since := WindowStart(l.now(), lim.window)
	var n int
	var err error
	if lim.count == every {
		n, err = q.CountAttempts(ctx, lim.kind, c.Key, since)
	} else {
		n, err = q.CountFailures(ctx, lim.kind, c.Key, since, lim.count == failuresSinceSuccess)
	}
	return err == nil && n >= lim.max, err
}

// Limited reports whether any of the checks has reached its limit. The caller refuses the
// request when one has: the metrics count it as a refusal.
func (l *Limiter) Limited(ctx context.Context, checks ...Check) (bool, error) {
	hit, limited, err := l.limitedBy(ctx, l.store, checks)
	if limited {
		l.metrics.Refused(hit.Rule.Name())
	}
	return limited, err
}

// LimitedTx is Limited inside a transaction.
func (l *Limiter) LimitedTx(ctx context.Context, tx *store.Tx, checks ...Check) (bool, error) {
	return l.limited(ctx, tx, checks)
}

func (l *Limiter) limited(ctx context.Context, q counter, checks []Check) (bool, error) {
	_, hit, err := l.limitedBy(ctx, q, checks)
	return hit, err
}

// LimitedBy is Limited that also names the first check that reached its limit: the one a
// refusal is counted under (Refused).
func (l *Limiter) LimitedBy(ctx context.Context, checks ...Check) (Check, bool, error) {
	return l.limitedBy(ctx, l.store, checks)
}

func (l *Limiter) limitedBy(ctx context.Context, q counter, checks []Check) (Check, bool, error) {
	for _, c := range checks {
		if hit, err := l.reached(ctx, q, c); err != nil || hit {
			return c, hit, err
		}
	}
	return Check{}, false, nil
}

// record stores one attempt per check, each under its rule's kind.
func (l *Limiter) record(ctx context.Context, q counter, success bool, checks []Check) error {
	now := l.now()
	for _, c := range checks {
		if err := q.RecordAttempt(ctx, table[c.Rule].kind, []string{c.Key}, success, now); err != nil {
			return err
		}
	}
	return nil
}

// Fail counts a failed attempt against each check's key, inside tx (the transaction that also
// logs the attempt's event).
func (l *Limiter) Fail(ctx context.Context, tx *store.Tx, checks ...Check) error {
	return l.record(ctx, tx, false, checks)
}

// Succeed records a successful attempt: for an account's rule it restarts the count.
func (l *Limiter) Succeed(ctx context.Context, tx *store.Tx, checks ...Check) error {
	return l.record(ctx, tx, true, checks)
}

// FailNow and SucceedNow are Fail and Succeed in a transaction of their own.
func (l *Limiter) FailNow(ctx context.Context, checks ...Check) error {
	return l.record(ctx, l.store, false, checks)
}

// SucceedNow is Succeed in a transaction of its own.
func (l *Limiter) SucceedNow(ctx context.Context, checks ...Check) error {
	return l.record(ctx, l.store, true, checks)
}

// Take counts one attempt against every check and reports whether all were within their limits;
// the checks and the count are one write transaction that holds the keys' locks, so concurrent
// requests, in any instance, each see the others. Nothing is counted when a limit is reached,
// nor when the rule's ceiling across all addresses (ceiling.go) is.
func (l *Limiter) Take(ctx context.Context, checks ...Check) (allowed bool, err error) {
	refused := ""
	err = l.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, counted(checks)...); err != nil {
			return err
		}
		hit, limited, err := l.limitedBy(ctx, tx, checks)
		if err != nil || limited {
			refused = hit.Rule.Name()
			return err
		}
		if over, ok := l.underCeilings(l.now(), checks); !ok {
			refused = over.Name() + "_ceiling"
			return nil
		}
		allowed = true
		return l.record(ctx, tx, false, checks)
	})
	if err == nil && !allowed {
		l.metrics.Refused(refused)
	}
	return allowed, err
}

// Reservation is a guess counted as a failure before it was verified.
type Reservation struct {
	ids []int64
	hit Check
}

// Hit is the check that refused the guess when Reserve reported limited.
func (r Reservation) Hit() Check { return r.hit }

// Reserve checks the limits and, when none is reached, counts the guess as a failure at once, in
// one write transaction that holds the keys' locks (SQLite serialises its transactions anyway),
// before the guess is verified: concurrent guesses from one IP at different accounts, in any
// instance, each see the others. Every check must share one
// kind. Settle the reservation as a success, or Drop it when the guess could not be verified.
func (l *Limiter) Reserve(ctx context.Context, checks ...Check) (r Reservation, limited bool, err error) {
	if len(checks) == 0 {
		return r, false, nil
	}
	kind := table[checks[0].Rule].kind
	keys := make([]string, len(checks))
	for i, c := range checks {
		if table[c.Rule].kind != kind {
			return r, false, fmt.Errorf("throttle: reserve mixes %s and %s", kind, table[c.Rule].kind)
		}
		keys[i] = c.Key
	}
	err = l.store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Lock(ctx, counted(checks)...); err != nil {
			return err
		}
		var err error
		r.hit, limited, err = l.limitedBy(ctx, tx, checks)
		if err != nil || limited {
			return err
		}
		r.ids, err = tx.ReserveAttempt(ctx, kind, keys, l.now())
		return err
	})
	return r, limited, err
}

// Settle turns a reservation into a success, inside tx.
func (l *Limiter) Settle(ctx context.Context, tx *store.Tx, r Reservation) error {
	return tx.SettleAttempt(ctx, r.ids)
}

// SettleNow is Settle in a transaction of its own.
func (l *Limiter) SettleNow(ctx context.Context, r Reservation) error {
	return l.store.SettleAttempt(ctx, r.ids)
}

// Drop removes a reservation: the guess could not be verified (the server was busy), so it
// does not count. It runs even when ctx is cancelled.
func (l *Limiter) Drop(ctx context.Context, r Reservation) error {
	return l.store.DropAttempt(context.WithoutCancel(ctx), r.ids)
}
