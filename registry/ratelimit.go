package registry

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/provenant/provenant/registry/store"
)

// Default rate limits; RateLimits fields left zero take them.
const (
	// DefaultLoginPerMinute is the sustained rate of login attempts (npm
	// login and adduser, and failed Basic credentials) per client IP and
	// user name: enough for people, far too few for password guessing.
	DefaultLoginPerMinute = 10
	// DefaultLoginBurst is how many login attempts a client IP may make
	// for one user name before the sustained rate applies.
	DefaultLoginBurst = 10
	// DefaultPublishPerMinute is the sustained rate of package writes
	// (publish, dist-tag, deprecate, unpublish) per token, or per user for
	// Basic credentials.
	DefaultPublishPerMinute = 60
	// DefaultPublishBurst lets one release publish a large monorepo (a few
	// hundred packages) with one token at once.
	DefaultPublishBurst = 300
	// maxLimiterKeys bounds each limiter set's memory. Idle limiters (full
	// again, so indistinguishable from new ones) are evicted first; past
	// the bound, arbitrary ones are, which at worst gives a client one
	// more burst.
	maxLimiterKeys = 100_000
)

// ErrTooManyRequests reports a client over a rate limit (429).
var ErrTooManyRequests = errors.New("too many requests")

// A RateLimitError is a request refused by a rate limit; RetryAfter says
// when the next one will be accepted (the Retry-After header).
type RateLimitError struct {
	// What names the limited action: "login" or "publish".
	What string
	// RetryAfter is how long the client must wait.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: %s rate limit exceeded, retry in %s", ErrTooManyRequests, e.What, retryAfterSeconds(e.RetryAfter)+"s")
}

// Unwrap makes errors.Is(err, ErrTooManyRequests) hold.
func (e *RateLimitError) Unwrap() error { return ErrTooManyRequests }

// retryAfterSeconds renders d as whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return fmt.Sprint(max(1, int64(math.Ceil(d.Seconds()))))
}

// RateLimits configures the login and publish rate limits. A zero field
// takes its default; a negative rate disables that limit.
type RateLimits struct {
	// LoginPerMinute and LoginBurst limit login attempts per client IP and
	// user name (DefaultLoginPerMinute, DefaultLoginBurst).
	LoginPerMinute float64 `yaml:"loginPerMinute" json:"loginPerMinute,omitempty"`
	LoginBurst     int     `yaml:"loginBurst" json:"loginBurst,omitempty"`
	// PublishPerMinute and PublishBurst limit package writes per token
	// (DefaultPublishPerMinute, DefaultPublishBurst).
	PublishPerMinute float64 `yaml:"publishPerMinute" json:"publishPerMinute,omitempty"`
	PublishBurst     int     `yaml:"publishBurst" json:"publishBurst,omitempty"`
}

func (r *RateLimits) setDefaults() {
	if r.LoginPerMinute == 0 {
		r.LoginPerMinute = DefaultLoginPerMinute
	}
	if r.LoginBurst == 0 {
		r.LoginBurst = DefaultLoginBurst
	}
	if r.PublishPerMinute == 0 {
		r.PublishPerMinute = DefaultPublishPerMinute
	}
	if r.PublishBurst == 0 {
		r.PublishBurst = DefaultPublishBurst
	}
}

func (r RateLimits) validate() error {
	if r.LoginBurst < 0 || r.PublishBurst < 0 {
		return fmt.Errorf("registry config: rateLimits bursts must not be negative (login %d, publish %d)", r.LoginBurst, r.PublishBurst)
	}
	return nil
}

// limiterSet holds one token bucket per key, with bounded memory.
type limiterSet struct {
	what  string
	limit rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu        sync.Mutex
	m         map[string]*rate.Limiter
	lastSweep time.Time
}

// newLimiterSet returns a set allowing perMinute events per key with the
// given burst, or nil (no limit) when perMinute is negative.
func newLimiterSet(what string, perMinute float64, burst int) *limiterSet {
	if perMinute < 0 {
		return nil
	}
	return &limiterSet{what: what, limit: rate.Limit(perMinute / 60), burst: burst, max: maxLimiterKeys, now: time.Now, m: map[string]*rate.Limiter{}}
}

// idleAfter is how long a limiter takes to fill up again; after that it is
// equivalent to a new one and may be dropped.
func (l *limiterSet) idleAfter() time.Duration {
	if l.limit <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(float64(l.burst) / float64(l.limit) * float64(time.Second))
}

// get returns key's limiter, creating it; l.mu must be held.
func (l *limiterSet) get(key string, now time.Time) *rate.Limiter {
	if lim, ok := l.m[key]; ok {
		return lim
	}
	if len(l.m) >= l.max || now.Sub(l.lastSweep) > l.idleAfter() {
		l.sweep(now)
	}
	lim := rate.NewLimiter(l.limit, l.burst)
	l.m[key] = lim
	return lim
}

// sweep drops full (idle) limiters, then arbitrary ones while over the
// bound; l.mu must be held.
func (l *limiterSet) sweep(now time.Time) {
	l.lastSweep = now
	for k, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.max {
			break
		}
		delete(l.m, k)
	}
}

// take spends one event for key, or returns a *RateLimitError saying when
// to retry without spending anything.
func (l *limiterSet) take(key string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.get(key, now).ReserveN(now, 1)
	if !r.OK() {
		return &RateLimitError{What: l.what, RetryAfter: l.idleAfter()}
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &RateLimitError{What: l.what, RetryAfter: d}
	}
	return nil
}

// check reports, without spending, whether key may make an attempt now.
func (l *limiterSet) check(key string) error {
	if l == nil {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok || lim.TokensAt(now) >= 1 {
		return nil
	}
	wait := time.Duration((1 - lim.TokensAt(now)) / float64(l.limit) * float64(time.Second))
	return &RateLimitError{What: l.what, RetryAfter: wait}
}

// size is the number of limiters held.
func (l *limiterSet) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// loginKey identifies login attempts from one client for one user name.
// The client is the connection's address, never a forwarded-for header a
// client can set (the server uses echo.ExtractIPDirect).
func loginKey(c echo.Context, user string) string { return c.RealIP() + "\x00" + user }

// limitPackageWrite is middleware on package writes: an authenticated
// client over the publish rate gets 429 before its body is read.
// Unauthenticated writes pass through to the handler's 401.
func (s *Server) limitPackageWrite(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		user, _ := c.Get(userKey).(string)
		if user == "" {
			return next(c)
		}
		key := "user:" + user
		if tok, _ := c.Get(tokenKey).(*store.Token); tok != nil {
			key = "token:" + tok.Key
		}
		if err := s.publishLimit.take(key); err != nil {
			return err
		}
		return next(c)
	}
}
