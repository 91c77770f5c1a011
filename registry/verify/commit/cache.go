package commit

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cached wraps a Checker with a bounded in-memory cache of definitive
// answers: a commit that exists is remembered for ttl, a commit that does
// not for negativeTTL (it may be pushed later). ErrUnavailable answers are
// never cached. When the cache holds size entries, the entry closest to
// expiry is evicted. now is the clock; nil means time.Now.
func Cached(c Checker, size int, ttl, negativeTTL time.Duration, now func() time.Time) Checker {
	if now == nil {
		now = time.Now
	}
	return &cache{next: c, size: size, ttl: ttl, negTTL: negativeTTL, now: now, entries: map[string]cacheEntry{}}
}

type cache struct {
	next        Checker
	size        int
	ttl, negTTL time.Duration
	now         func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	err     error
	expires time.Time
}

func (c *cache) Check(ctx context.Context, repoURL, sha string) error {
	key := repoURL + "@" + sha
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.err
	}
	err := c.next.Check(ctx, repoURL, sha)
	ttl := c.ttl
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		ttl = c.negTTL
	default:
		return err
	}
	if ttl <= 0 || c.size <= 0 {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		c.evict(now)
	}
	c.entries[key] = cacheEntry{err: err, expires: now.Add(ttl)}
	return err
}

// evict drops expired entries, or else the one closest to expiry.
func (c *cache) evict(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
			continue
		}
		if oldest == "" || e.expires.Before(oldestAt) {
			oldest, oldestAt = k, e.expires
		}
	}
	if len(c.entries) >= c.size && oldest != "" {
		delete(c.entries, oldest)
	}
}

// WithTimeout bounds every Check of c by d. A check cut short reports
// ErrUnavailable.
func WithTimeout(c Checker, d time.Duration) Checker {
	return CheckerFunc(func(ctx context.Context, repoURL, sha string) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := c.Check(ctx, repoURL, sha)
		if err != nil && ctx.Err() != nil && !errors.Is(err, ErrUnavailable) {
			return unavailable(repoURL, sha, ctx.Err())
		}
		return err
	})
}
