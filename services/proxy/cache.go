package proxy

import (
	"sync"
	"time"

	"github.com/weftid/weftid/store"
)

// DefaultCacheTTL is how long a check's answer is kept in memory: the longest that a change made
// elsewhere (another instance, or a change of groups) can take to reach the proxied apps. What
// ends sessions or a user's use of them in this process (sign out, Sign out everywhere,
// deactivation, a forced reset, a password change) empties the cache at once (store
// OnAccessChanged), and so does a change to a proxied app.
const DefaultCacheTTL = 15 * time.Second

// DefaultCacheSize bounds the answers kept: one per browser and app, so a small team's busiest
// day fits many times over (about 300 bytes each).
const DefaultCacheSize = 20000

// cache keeps the answers of checks by proxy session and app, for ttl at most, and never past
// the session's end.
//
// A generation guards against a stale answer outliving a revocation: a check notes the
// generation before it reads the database, and its answer is kept only if the cache was not
// emptied in between (a read that began before a sign-out committed could otherwise put the
// signed-out session back for a whole ttl).
type cache struct {
	mu  sync.RWMutex
	m   map[string]entry
	gen uint64
	ttl time.Duration
	max int
}

// entry is one check's answer: whose session it is, on which host, and whether they may open the
// app.
type entry struct {
	identity Identity
	host     string
	allowed  bool
	admins   []store.User // whom a refused user may ask
	ends     time.Time    // the proxy session's end
	loaded   time.Time
}

func newCache(ttl time.Duration, max int) *cache {
	return &cache{m: make(map[string]entry), ttl: ttl, max: max}
}

// get is the answer kept for key, if it is fresh at now.
func (c *cache) get(key string, now time.Time) (entry, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || now.Sub(e.loaded) >= c.ttl || !now.Before(e.ends) {
		return entry{}, false
	}
	return e, true
}

// generation is the cache's generation now, to give put.
func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put keeps e under key, unless the cache was emptied since gen. A full cache first drops a
// quarter of its answers, chosen by Go's random map order.
func (c *cache) put(key string, e entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		drop := len(c.m) / 4
		for k := range c.m {
			if drop <= 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[key] = e
}

// clear forgets every answer.
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// len is how many answers are kept.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
