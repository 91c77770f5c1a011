package commit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/provenance"
)

// forge is a local forge with one repository, octo-org/octo-pkg, holding
// three commits on main (first, second, head) and one commit that no ref
// reaches any more (orphan).
type forge struct {
	root                        string
	first, second, head, orphan string
}

func newForge(t testing.TB) *forge {
	t.Helper()
	if err := gitforge.Available(); err != nil {
		t.Skip(err)
	}
	f := &forge{root: t.TempDir()}
	c, err := gitforge.CreateRepo(f.root, "octo-org/octo-pkg", map[string]string{"package.json": "{}"})
	if err != nil {
		t.Fatal(err)
	}
	f.first = c.SHA
	if c, err = gitforge.AddCommit(f.root, "octo-org/octo-pkg", "main", "2", map[string]string{"a": "2"}); err != nil {
		t.Fatal(err)
	}
	f.second = c.SHA
	if c, err = gitforge.AddCommit(f.root, "octo-org/octo-pkg", "main", "3", map[string]string{"a": "3"}); err != nil {
		t.Fatal(err)
	}
	f.head = c.SHA
	if c, err = gitforge.AddCommit(f.root, "octo-org/octo-pkg", "scratch", "orphan", map[string]string{"a": "x"}); err != nil {
		t.Fatal(err)
	}
	f.orphan = c.SHA
	bare := filepath.Join(f.root, "octo-org", "octo-pkg.git")
	if out, err := exec.Command("git", "-C", bare, "update-ref", "-d", "refs/heads/scratch").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return f
}

type forgeServer struct {
	name    string
	handler http.Handler
}

// servers are the forge as gitforge serves it (any object may be wanted)
// and as a stock git http-backend does (only ref tips).
func (f *forge) servers() []forgeServer {
	return []forgeServer{{"any-sha1-in-want", gitforge.New(f.root)}, {"tips-only", strictHandler(f.root)}}
}

// strictHandler serves root with a stock `git http-backend` that only lets
// clients want what the refs point at (git's default), so the checker must
// fall back to walking the history.
func strictHandler(root string) http.Handler {
	git, _ := exec.LookPath("git")
	return &cgi.Handler{
		Path: git, Args: []string{"http-backend"}, Dir: root,
		Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*"},
		InheritEnv: []string{"PATH", "HOME"},
		Stderr:     io.Discard,
	}
}

func wantErr(t *testing.T, err error, kind error) {
	t.Helper()
	if kind == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ce *provenance.CheckError
	if !errors.As(err, &ce) || ce.Check != CheckName {
		t.Fatalf("error %v is not a %s CheckError", err, CheckName)
	}
	if !errors.Is(err, kind) {
		t.Fatalf("error %v does not wrap %v", err, kind)
	}
}

func TestGitAgainstRealGit(t *testing.T) {
	f := newForge(t)
	missing := strings.Repeat("ab", 20)
	for _, srv := range f.servers() {
		t.Run(srv.name, func(t *testing.T) {
			s := httptest.NewServer(srv.handler)
			defer s.Close()
			g := &Git{Rewrites: Rewrites{{Prefix: "https://github.com/", Replacement: s.URL + "/"}}}
			ctx := context.Background()
			orphanWant := error(nil)
			if srv.name == "tips-only" {
				orphanWant = ErrNotFound // not reachable from any ref
			}
			for _, tc := range []struct {
				name, repo, sha string
				want            error
			}{
				{"tip", "https://github.com/octo-org/octo-pkg", f.head, nil},
				{"ancestor", "https://github.com/octo-org/octo-pkg", f.first, nil},
				{"ancestor .git URL", "https://github.com/octo-org/octo-pkg.git", f.second, nil},
				{"orphan", "https://github.com/octo-org/octo-pkg", f.orphan, orphanWant},
				{"missing", "https://github.com/octo-org/octo-pkg", missing, ErrNotFound},
				{"no such repo", "https://github.com/octo-org/nope", f.head, ErrNotFound},
				{"short sha", "https://github.com/octo-org/octo-pkg", f.head[:12], ErrNotFound},
				{"upper-case sha", "https://github.com/octo-org/octo-pkg", strings.ToUpper(f.head), ErrNotFound},
				{"not a URL", "git@github.com:octo-org/octo-pkg", f.head, ErrNotFound},
			} {
				t.Run(tc.name, func(t *testing.T) { wantErr(t, g.Check(ctx, tc.repo, tc.sha), tc.want) })
			}
		})
	}
}

// countingTransport counts the response bytes of upload-pack requests.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/git-upload-pack") {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestGitPackLimit checks MaxPackBytes against real answers: a limit of
// the whole upload-pack response passes, a small one fails with
// ErrPackTooLarge, for both the one-commit fetch and the history fallback.
func TestGitPackLimit(t *testing.T) {
	f := newForge(t)
	for _, srv := range f.servers() {
		t.Run(srv.name, func(t *testing.T) {
			s := httptest.NewServer(srv.handler)
			defer s.Close()
			repo := "https://forge.test/octo-org/octo-pkg"
			ct := &countingTransport{}
			g := &Git{Client: &http.Client{Transport: ct}, Rewrites: Rewrites{{Prefix: "https://forge.test/", Replacement: s.URL + "/"}}}
			wantErr(t, g.Check(context.Background(), repo, f.first), nil)
			size := ct.n.Load()
			if size == 0 {
				t.Fatal("no upload-pack response counted")
			}
			g.MaxPackBytes = size
			wantErr(t, g.Check(context.Background(), repo, f.first), nil)
			g.MaxPackBytes = 16
			err := g.Check(context.Background(), repo, f.first)
			wantErr(t, err, ErrUnavailable)
			if !errors.Is(err, ErrPackTooLarge) {
				t.Fatalf("err = %v, want ErrPackTooLarge", err)
			}
		})
	}
}

// TestLimitedReader probes the pack limit at the limit and one past it.
func TestLimitedReader(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		want        error
	}{
		{100, 100, nil},
		{101, 100, ErrPackTooLarge},
		{0, 0, nil},
		{1, 0, ErrPackTooLarge},
		{99, 100, nil},
	} {
		r := &limitedReader{r: bytes.NewReader(make([]byte, tc.size)), n: int64(tc.limit)}
		got, err := io.ReadAll(iotest.OneByteReader(r))
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("size %d limit %d: err = %v, want %v", tc.size, tc.limit, err, tc.want)
		}
		if tc.want == nil && len(got) != tc.size {
			t.Errorf("size %d limit %d: read %d bytes", tc.size, tc.limit, len(got))
		}
	}
}

// TestCheckPackHeader probes the object count a pack header may claim at
// the limit (limit/minPackObjectBytes) and one past it; headers that are
// short or not a pack's go on to the parser unchanged.
func TestCheckPackHeader(t *testing.T) {
	const limit = 100 * minPackObjectBytes
	header := func(magic string, count uint32) []byte {
		return append([]byte(magic+"\x00\x00\x00\x02"), byte(count>>24), byte(count>>16), byte(count>>8), byte(count))
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"at the limit", header("PACK", 100), nil},
		{"one past", header("PACK", 101), ErrPackTooLarge},
		{"largest count", header("PACK", 1<<32-1), ErrPackTooLarge},
		{"not a pack", header("KCAP", 1<<32-1), nil},
		{"short", []byte("PACK\x00\x00"), nil},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.in)
			if len(in) == 12 {
				in = append(in, "rest of the pack"...)
			}
			r, err := checkPackHeader(iotest.OneByteReader(bytes.NewReader(in)), limit)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !errors.Is(err, ErrUnavailable) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, in) {
				t.Errorf("reader gives %q, %v; want the input %q back", got, err, in)
			}
		})
	}
}

func TestGitUnavailable(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer s.Close()
	g := &Git{Rewrites: Rewrites{{Prefix: "https://forge.test/", Replacement: s.URL + "/"}}}
	wantErr(t, g.Check(context.Background(), "https://forge.test/o/r", strings.Repeat("a", 40)), ErrUnavailable)
	// Without a rewrite, plain http is refused before any request.
	wantErr(t, (&Git{}).Check(context.Background(), s.URL+"/o/r", strings.Repeat("a", 40)), ErrNotFound)
}

func TestGitHubAPI(t *testing.T) {
	const exists = "1111111111111111111111111111111111111111"
	const missing = "2222222222222222222222222222222222222222"
	const broken = "3333333333333333333333333333333333333333"
	var gotAuth atomic.Value
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Accept") != "application/vnd.github+json" {
			http.Error(w, "bad accept", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/repos/octo-org/octo-pkg/commits/" + exists:
			w.Write([]byte(`{"sha":"` + exists + `"}`))
		case "/repos/octo-org/octo-pkg/commits/" + missing:
			http.Error(w, `{"message":"No commit found for SHA"}`, http.StatusUnprocessableEntity)
		case "/repos/octo-org/octo-pkg/commits/" + broken:
			http.Error(w, "oops", http.StatusBadGateway)
		default:
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
		}
	}))
	defer s.Close()
	api := &GitHubAPI{BaseURL: s.URL, Token: "t0k"}
	ctx := context.Background()
	for _, tc := range []struct {
		name, repo, sha string
		want            error
	}{
		{"exists", "https://github.com/octo-org/octo-pkg", exists, nil},
		{"exists .git", "https://github.com/octo-org/octo-pkg.git", exists, nil},
		{"missing commit (422)", "https://github.com/octo-org/octo-pkg", missing, ErrNotFound},
		{"missing repo (404)", "https://github.com/octo-org/other", exists, ErrNotFound},
		{"server error", "https://github.com/octo-org/octo-pkg", broken, ErrUnavailable},
		{"not owner/repo", "https://github.com/octo-org", exists, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, api.Check(ctx, tc.repo, tc.sha), tc.want) })
	}
	if got := gotAuth.Load(); got != "Bearer t0k" {
		t.Errorf("Authorization = %q", got)
	}
}

type countingChecker struct {
	calls atomic.Int32
	err   error
}

func (c *countingChecker) Check(ctx context.Context, repoURL, sha string) error {
	c.calls.Add(1)
	return c.err
}

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	sha := strings.Repeat("a", 40)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		err       error
		wantCalls int32 // after three checks, the third after 2 minutes
	}{
		{"found is cached for the TTL", nil, 1},
		{"not found is cached for the negative TTL", notFound("r", sha, errors.New("x")), 2},
		{"unavailable is never cached", unavailable("r", sha, errors.New("x")), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now = time.Unix(1000, 0)
			next := &countingChecker{err: tc.err}
			c := Cached(next, 10, time.Hour, time.Minute, clock)
			for i := range 3 {
				if i == 2 {
					now = now.Add(2 * time.Minute)
				}
				if err := c.Check(ctx, "https://h/o/r", sha); !errors.Is(err, tc.err) && err != tc.err {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
			}
			if got := next.calls.Load(); got != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
	t.Run("bounded size", func(t *testing.T) {
		next := &countingChecker{}
		c := Cached(next, 2, time.Hour, time.Minute, clock).(*cache)
		for _, r := range []string{"a", "b", "c", "d"} {
			_ = c.Check(ctx, "https://h/o/"+r, sha)
		}
		if n := len(c.entries); n != 2 {
			t.Fatalf("cache holds %d entries, want 2", n)
		}
	})
}

// TestCacheSharesConcurrentChecks starts many checks of one commit while
// the first is still running: the wrapped checker runs once.
func TestCacheSharesConcurrentChecks(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	slow := CheckerFunc(func(ctx context.Context, repoURL, sha string) error {
		calls.Add(1)
		<-release
		return nil
	})
	c := Cached(slow, 10, time.Hour, time.Minute, nil)
	sha := strings.Repeat("a", 40)
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() { errs <- c.Check(context.Background(), "https://h/o/r", sha) }()
	}
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others queue behind the first
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Fatalf("checker ran %d times, want 1", got)
	}
	// A waiter whose context ends stops waiting with ErrUnavailable.
	block := make(chan struct{})
	defer close(block)
	c = Cached(CheckerFunc(func(ctx context.Context, repoURL, sha string) error { <-block; return nil }), 10, time.Hour, time.Minute, nil)
	go c.Check(context.Background(), "https://h/o/r", sha)
	for {
		c.(*cache).mu.Lock()
		started := len(c.(*cache).inflight) == 1
		c.(*cache).mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	wantErr(t, c.Check(ctx, "https://h/o/r", sha), ErrUnavailable)
}

func TestTimeout(t *testing.T) {
	slow := CheckerFunc(func(ctx context.Context, repoURL, sha string) error {
		<-ctx.Done()
		return &provenance.CheckError{Check: CheckName, Err: ctx.Err()}
	})
	err := WithTimeout(slow, 10*time.Millisecond).Check(context.Background(), "https://h/o/r", strings.Repeat("a", 40))
	wantErr(t, err, ErrUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
}

func TestRewrites(t *testing.T) {
	rs := Rewrites{
		{Prefix: "https://github.com/", Replacement: "http://127.0.0.1:1/gh/"},
		{Prefix: "https://github.com/octo-org/", Replacement: "http://127.0.0.1:2/"},
	}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"https://github.com/a/b", "http://127.0.0.1:1/gh/a/b", true},
		{"https://github.com/octo-org/pkg", "http://127.0.0.1:2/pkg", true},
		{"https://gitlab.com/a/b", "https://gitlab.com/a/b", false},
		{"https://github.comevil/a/b", "https://github.comevil/a/b", false},
	} {
		got, ok := rs.Apply(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Apply(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []Rewrites{{{Prefix: "", Replacement: "http://x/"}}, {{Prefix: "https://a/", Replacement: "ftp://x/"}}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

// TestNewRouting checks that New sends github.com to the API unless a
// rewrite maps it to a git forge, and other hosts to git.
func TestNewRouting(t *testing.T) {
	f := newForge(t)
	gitSrv := httptest.NewServer(gitforge.New(f.root))
	defer gitSrv.Close()
	var apiCalls atomic.Int32
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiCalls.Add(1)
		w.Write([]byte(`{}`))
	}))
	defer apiSrv.Close()
	ctx := context.Background()

	c, err := New(Config{GitHubAPI: GitHubAPIConfig{Enabled: true, BaseURL: apiSrv.URL}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Check(ctx, "https://github.com/any/repo", f.head), nil)
	if apiCalls.Load() != 1 {
		t.Fatalf("API calls = %d, want 1", apiCalls.Load())
	}
	// Other hosts go to git; plain http needs a rewrite.
	wantErr(t, c.Check(ctx, gitSrv.URL+"/octo-org/octo-pkg", f.first), ErrNotFound)
	c, err = New(Config{
		Rewrites:  Rewrites{{Prefix: "https://forge.test/", Replacement: gitSrv.URL + "/"}},
		GitHubAPI: GitHubAPIConfig{Enabled: true, BaseURL: apiSrv.URL},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Check(ctx, "https://forge.test/octo-org/octo-pkg", f.first), nil)
	wantErr(t, c.Check(ctx, "https://forge.test/octo-org/octo-pkg", strings.Repeat("0", 40)), ErrNotFound)

	c, err = New(Config{
		Rewrites:  Rewrites{{Prefix: "https://github.com/", Replacement: gitSrv.URL + "/"}},
		GitHubAPI: GitHubAPIConfig{Enabled: true, BaseURL: apiSrv.URL},
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Check(ctx, "https://github.com/octo-org/octo-pkg", f.second), nil)
	wantErr(t, c.Check(ctx, "https://github.com/octo-org/octo-pkg", strings.Repeat("0", 40)), ErrNotFound)
	if apiCalls.Load() != 1 {
		t.Fatalf("a rewritten repository went to the API")
	}

	for _, bad := range []Config{
		{Timeout: -1},
		{CacheSize: -1},
		{GitHubAPI: GitHubAPIConfig{BaseURL: "ftp://x"}},
		{Rewrites: Rewrites{{Prefix: "https://github.com/"}}},
	} {
		if _, err := New(bad, nil, nil); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}
