package throttle

import (
	"time"

	"golang.org/x/time/rate"
)

// ceilings bound the anonymous writes of a rule across every address, in this process: a flood
// from many addresses, each within its own per-IP limit, still cannot make the server store
// rows faster than this. The rates leave room for a small team's busiest minute (everyone
// signing in at nine) many times over, and each burst is larger than one address's own limit,
// so no single address can use a ceiling up. A request over a ceiling is refused before
// anything is written.
var ceilings = map[Rule]struct {
	perSecond rate.Limit
	burst     int
}{
	PasskeyBeginPerIP:  {5, 100},
	ResetRequestsPerIP: {1, 30},
	OIDCAuthorizePerIP: {10, 300},
	SAMLHoldPerIP:      {10, 300},
	SAMLLogoutPerIP:    {10, 300},
}

// newCeilings makes one token bucket per rule with a ceiling.
func newCeilings() map[Rule]*rate.Limiter {
	out := make(map[Rule]*rate.Limiter, len(ceilings))
	for r, c := range ceilings {
		out[r] = rate.NewLimiter(c.perSecond, c.burst)
	}
	return out
}

// underCeilings takes one token from the ceiling of every check's rule that has one, and
// reports whether each had one (when one had none, its rule). Tokens taken from the others when
// one has none are not given back: the request was refused all the same, and the buckets refill
// by the second.
func (l *Limiter) underCeilings(now time.Time, checks []Check) (Rule, bool) {
	for _, c := range checks {
		if b, ok := l.ceilings[c.Rule]; ok && !b.AllowN(now, 1) {
			return c.Rule, false
		}
	}
	return 0, true
}
