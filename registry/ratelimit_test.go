package registry

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/npmwire"
)

// newLimitedRegistry is a test registry with the given rate limits.
func newLimitedRegistry(t *testing.T, rl RateLimits) *testRegistry {
	t.Helper()
	fv := &fakeVerifier{}
	dir := t.TempDir()
	srv, err := New(context.Background(), Config{DataDir: dir, SweepInterval: -1, RateLimits: rl}, WithVerifier(fv))
	if err != nil {
		t.Fatal(err)
	}
	return &testRegistry{Server: newHTTPTest(t, srv), srv: srv, fv: fv, dir: dir}
}

// assertLimited checks a 429 answer: Retry-After in whole seconds within
// (0, maxWait], and npm's {"error": …} body naming the limit.
func assertLimited(t *testing.T, code int, body []byte, hdr http.Header, what string, maxWait int) {
	t.Helper()
	if code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", code, body)
	}
	ra, err := strconv.Atoi(hdr.Get("Retry-After"))
	if err != nil || ra < 1 || ra > maxWait {
		t.Errorf("Retry-After %q, want 1..%d seconds", hdr.Get("Retry-After"), maxWait)
	}
	var eb npmwire.ErrorBody
	if err := json.Unmarshal(body, &eb); err != nil || !strings.Contains(eb.Error, what+" rate limit exceeded") {
		t.Errorf("body %s, want {\"error\": \"… %s rate limit exceeded …\"}", body, what)
	}
}

func TestLoginRateLimit(t *testing.T) {
	const burst = 3
	r := newLimitedRegistry(t, RateLimits{LoginPerMinute: 1, LoginBurst: burst})
	r.addUser(t, "alice") // attempt 1 for alice
	login := func(user, pw string, hdr ...string) (int, []byte, http.Header) {
		body, _ := json.Marshal(npmwire.AddUserRequest{ID: "org.couchdb.user:" + user, Name: user, Password: pw, Type: "user"})
		return r.do(t, http.MethodPut, "/-/user/org.couchdb.user:"+user, "", body, hdr...)
	}
	// Attempts 2 and 3 (at the limit) are answered on their merits.
	for i := 2; i <= burst; i++ {
		if code, b, _ := login("alice", "wrong password"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d %s, want 401", i, code, b)
		}
	}
	// One past the limit, even with the right password or a forged
	// X-Forwarded-For, is refused.
	code, b, h := login("alice", "correct horse battery")
	assertLimited(t, code, b, h, "login", 60)
	code, b, h = login("alice", "correct horse battery", "X-Forwarded-For", "203.0.113.7")
	assertLimited(t, code, b, h, "login", 60)
	// Another user name from the same client is not affected.
	r.addUser(t, "bob")

	// Failed Basic credentials count; a client past the limit is refused
	// before the password is checked. Successful ones never count.
	basic := func(user, pw string) (int, []byte, http.Header) {
		return r.do(t, http.MethodGet, "/-/whoami", "", nil, "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pw)))
	}
	for range burst + 2 {
		if code, b, _ := basic("bob", "correct horse battery"); code != http.StatusOK {
			t.Fatalf("good Basic credentials: %d %s", code, b)
		}
	}
	for i := 1; i <= burst-1; i++ { // bob's adduser spent one attempt
		if code, b, _ := basic("bob", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("bad Basic attempt %d: %d %s, want 401", i, code, b)
		}
	}
	code, b, h = basic("bob", "correct horse battery")
	assertLimited(t, code, b, h, "login", 60)
}

func TestPublishRateLimit(t *testing.T) {
	const burst = 2
	r := newLimitedRegistry(t, RateLimits{PublishPerMinute: 1, PublishBurst: burst})
	alice, bob := r.addUser(t, "alice"), r.addUser(t, "bob")
	for i := range burst {
		r.publish(t, alice, "limited", fmt.Sprintf("1.0.%d", i), "latest", nil, http.StatusCreated)
	}
	tgz := makeTarball(t, map[string]string{"package/package.json": pkgJSON("limited", "1.0.9")})
	code, b, h := r.do(t, http.MethodPut, "/limited", alice, publishBody(t, "limited", "1.0.9", "latest", tgz, nil))
	assertLimited(t, code, b, h, "publish", 60)
	if code, _, _ := r.do(t, http.MethodGet, "/limited/1.0.9", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /limited/1.0.9 after the refused publish = %d, want 404", code)
	}
	// Another user's token has its own budget; reads are never limited.
	r.publish(t, bob, "other", "1.0.0", "latest", nil, http.StatusCreated)
	for range burst + 1 {
		if code, _, _ := r.do(t, http.MethodGet, "/limited", alice, nil); code != http.StatusOK {
			t.Fatalf("GET /limited = %d", code)
		}
	}
}

func TestRateLimitsDisabledAndDefaults(t *testing.T) {
	r := newLimitedRegistry(t, RateLimits{LoginPerMinute: -1, PublishPerMinute: -1})
	for range DefaultLoginBurst + 1 {
		r.addUser(t, "alice")
	}
	var c Config
	c.setDefaults()
	want := RateLimits{DefaultLoginPerMinute, DefaultLoginBurst, DefaultPublishPerMinute, DefaultPublishBurst}
	if c.RateLimits != want {
		t.Errorf("defaults = %+v, want %+v", c.RateLimits, want)
	}
	if err := (&Config{DataDir: "/d", SweepGrace: time.Hour, RateLimits: RateLimits{LoginBurst: -1}}).Validate(); err == nil {
		t.Error("negative burst accepted")
	}
}

// TestLimiterSetBounded checks refill, idle eviction and the key bound.
func TestLimiterSetBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newLimiterSet("login", 1, 1) // one per minute, burst one
	l.now = func() time.Time { return now }
	l.max = 4
	if err := l.take("a"); err != nil {
		t.Fatal(err)
	}
	err := l.take("a")
	rl, ok := err.(*RateLimitError)
	if !ok || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
		t.Fatalf("second take = %v, want a RateLimitError with RetryAfter in (0, 1m]", err)
	}
	if err := l.check("a"); err == nil {
		t.Error("check past the limit = nil")
	}
	now = now.Add(time.Minute)
	if err := l.take("a"); err != nil {
		t.Errorf("take after refill: %v", err)
	}
	for i := range 10 {
		if err := l.take(fmt.Sprint("k", i)); err != nil {
			t.Fatalf("fresh key %d: %v", i, err)
		}
		if n := l.size(); n > l.max {
			t.Fatalf("size %d > max %d", n, l.max)
		}
	}
	now = now.Add(2 * l.idleAfter())
	l.take("fresh")
	if n := l.size(); n != 1 {
		t.Errorf("after idle eviction size = %d, want 1", n)
	}
	var disabled *limiterSet = newLimiterSet("x", -1, 1)
	if disabled != nil || disabled.take("k") != nil || disabled.check("k") != nil {
		t.Error("a negative rate does not disable the limit")
	}
}
