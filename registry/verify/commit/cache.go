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
// expiry is evicted. Concurrent checks of the same commit (a monorepo
// publishing many packages from one commit) share one call to c, which
// runs detached from the first caller's cancellation: give c a timeout
// (see WithTimeout). now is the clock; nil means time.Now.
func Cached(c Checker, size int, ttl, negativeTTL time.Duration, now func() time.Time) Checker {
	if now == nil {
		now = time.Now
	}
	return &cache{next: c, size: size, ttl: ttl, negTTL: negativeTTL, now: now,
		entries: map[string]cacheEntry{}, inflight: map[string]*call{}}
}

type cache struct {
	next        Checker
	size        int
	ttl, negTTL time.Duration
	now         func() time.Time

	mu       sync.Mutex
	entries  map[string]cacheEntry
	inflight map[string]*call
}

// A call is a check in progress; done is closed when err is set.
type call struct {
	done chan struct{}
	err  error
}

type cacheEntry struct {
	err     error
	expires time.Time
}

func (c *cache) Check(ctx context.Context, repoURL, sha string) error {
	key := repoURL + "@" + sha
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.err
	}
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.err
		case <-ctx.Done():
			return unavailable(repoURL, sha, ctx.Err())
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()

	// The check is shared, so one caller going away must not fail the
	// others: it runs detached from ctx's cancellation, bounded by the
	// timeout New wraps around c.next.
	cl.err = c.next.Check(context.WithoutCancel(ctx), repoURL, sha)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, key)
	close(cl.done)
	ttl := c.ttl
	switch {
	case cl.err == nil:
	case errors.Is(cl.err, ErrNotFound):
		ttl = c.negTTL
	default:
		return cl.err
	}
	if ttl <= 0 || c.size <= 0 {
		return cl.err
	}
	now := c.now()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.size {
		c.evict(now)
	}
	c.entries[key] = cacheEntry{err: cl.err, expires: now.Add(ttl)}
	return cl.err
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
