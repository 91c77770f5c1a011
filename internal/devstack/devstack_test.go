package devstack

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/publisher"
)

const testExample = "testdata/hello"

func startStack(t *testing.T, dir string) *Stack {
	t.Helper()
	st, err := Start(context.Background(), Config{DataDir: dir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// publishPlain publishes a package without provenance, as `npm publish`
// outside CI would.
func publishPlain(t *testing.T, st *Stack) {
	t.Helper()
	dir := t.TempDir()
	pkg := `{"name":"@provenant-test/plain","version":"2.0.0","description":"published without provenance"}`
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkg), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := st.demoToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publisher.Publish(context.Background(), publisher.Options{Path: dir, Registry: st.Info.RegistryURL, Token: tok,
		Getenv: func(string) (string, bool) { return "", false }}); err != nil {
		t.Fatalf("plain publish: %v", err)
	}
}

// TestDevStackInBrowser publishes the example with provenance through the
// dev stack and checks, in the real Chromium, every field of the
// provenance panel, the no-provenance notice, the badge and the log entry.
func TestDevStackInBrowser(t *testing.T) {
	st := startStack(t, t.TempDir())
	d, err := st.Demo(context.Background(), DemoOptions{ExampleDir: testExample})
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	publishPlain(t, st)
	ctx := newBrowser(t)
	art := artifactDir(t)
	repo, sha := "https://github.com/provenant-test/hello", d.Commit

	t.Run("version page panel", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.PageURL), chromedp.WaitVisible(chromedp.CSS("#prov-headline"))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, art, "version-page")
		texts := []struct{ sel, want string }{
			{"#pkg-name", "@provenant-test/hello"},
			{"#pkg-version", d.Version},
			{"#prov-headline", "Built and signed on GitHub Actions"},
			{"#prov-environment", "GitHub Actions · GitHub-hosted runner"},
			{"#prov-build-summary", "View build summary"},
			{"#prov-source-commit", repo + "@" + sha[:7]},
			{"#prov-build-file", ".github/workflows/release.yml@refs/heads/main"},
			{"#prov-ledger", "Transparency log entry #" + strconv.FormatInt(d.LogIndex, 10)},
			{"#prov-commit-status", "Source commit existence: verified"},
			{"#license", "Apache-2.0"},
		}
		for _, tt := range texts {
			if got := text(t, ctx, tt.sel); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.sel, got, tt.want)
			}
		}
		links := []struct{ sel, want string }{
			{"#prov-build-summary", repo + "/actions/runs/"},
			{"#prov-source-commit", repo + "/commit/" + sha},
			{"#prov-build-file", repo + "/blob/" + sha + "/.github/workflows/release.yml"},
			{"#prov-ledger", st.Info.RegistryURL + "/-/log/entries/" + strconv.FormatInt(d.LogIndex, 10)},
		}
		for _, l := range links {
			if got := href(t, ctx, l.sel); !strings.HasPrefix(got, l.want) {
				t.Errorf("%s link = %q, want prefix %q", l.sel, got, l.want)
			}
		}
		if got := text(t, ctx, "#prov-checked"); !strings.Contains(got, "this registry's own trust root") {
			t.Errorf("checked line = %q", got)
		}
		// Signature and log inclusion, subject, repository match, commit existence, trust root.
		for _, check := range []string{"signature", "tlog-inclusion", "subject", "repository-url", "commit-exists", "trusted-root"} {
			if got := text(t, ctx, `#prov-checks li[data-check="`+check+`"] .status`); !strings.EqualFold(got, "verified") {
				t.Errorf("check %s status = %q, want verified", check, got)
			}
		}
		scripts := eval[int](t, ctx, `document.querySelectorAll('script').length`)
		badgeWidth := eval[int](t, ctx, `document.querySelector('img.badge').naturalWidth`)
		if scripts != 0 {
			t.Errorf("the page holds %d script elements; the README's must have been removed", scripts)
		}
		if badgeWidth == 0 {
			t.Error("the badge image did not load")
		}
		if got := text(t, ctx, "#readme strong"); got != "hello" {
			t.Errorf("README not rendered: strong = %q", got)
		}
	})

	t.Run("phone width", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Emulate(device.IPhoneX), chromedp.Navigate(d.PageURL), chromedp.WaitVisible(chromedp.CSS("#prov-headline"))); err != nil {
			t.Fatal(err)
		}
		scrollWidth := eval[int](t, ctx, `document.documentElement.scrollWidth`)
		innerWidth := eval[int](t, ctx, `window.innerWidth`)
		viewportShot(t, ctx, art, "version-page-phone-top", "body")
		viewportShot(t, ctx, art, "version-page-phone-panel", "#provenance")
		if scrollWidth > innerWidth {
			t.Errorf("page scrolls sideways on a phone: scrollWidth %d > innerWidth %d", scrollWidth, innerWidth)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateReset(), chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("no provenance notice", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(st.Info.RegistryURL+"/@provenant-test/plain"), chromedp.WaitVisible(chromedp.CSS("#prov-none"))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, art, "no-provenance")
		if got := text(t, ctx, "#prov-none"); !strings.HasPrefix(got, "This version was published without provenance.") {
			t.Errorf("notice = %q", got)
		}
		if eval[int](t, ctx, `document.querySelectorAll('#prov-headline').length`) != 0 {
			t.Error("a version without provenance shows a provenance headline")
		}
	})

	t.Run("badges", func(t *testing.T) {
		for _, tt := range []struct{ url, want string }{
			{d.BadgeURL, "provenance: verified"},
			{st.Info.RegistryURL + "/badge/@provenant-test/hello/v/" + d.Version + ".svg", "provenance: verified"},
			{st.Info.RegistryURL + "/badge/@provenant-test/plain.svg", "provenance: none"},
		} {
			if err := chromedp.Do(ctx, chromedp.Navigate(tt.url)); err != nil {
				t.Fatal(err)
			}
			contentType := eval[string](t, ctx, `document.contentType`)
			title := eval[string](t, ctx, `document.querySelector('svg title').textContent`)
			texts := eval[[]string](t, ctx, `Array.from(document.querySelectorAll('svg text')).map(e => e.textContent)`)
			if contentType != "image/svg+xml" || title != tt.want {
				t.Errorf("%s: content type %q, title %q; want image/svg+xml, %q", tt.url, contentType, title, tt.want)
			}
			if msg := strings.TrimPrefix(tt.want, "provenance: "); len(texts) != 4 || texts[0] != "provenance" || texts[3] != msg {
				t.Errorf("%s: texts %q", tt.url, texts)
			}
		}
		screenshot(t, ctx, art, "badge-none")
	})

	t.Run("log entry", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(d.PageURL), chromedp.WaitVisible(chromedp.CSS("#prov-ledger a"))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#prov-ledger a")))); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#cert-san-0"))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, art, "log-entry")
		san := repo + "/.github/workflows/release.yml@refs/heads/main"
		if got := text(t, ctx, "#cert-san-0"); got != san {
			t.Errorf("SAN = %q, want %q", got, san)
		}
		if got := text(t, ctx, "#cert-issuer-0"); got != st.Info.TrustURL {
			t.Errorf("issuer = %q, want %q", got, st.Info.TrustURL)
		}
		if got := text(t, ctx, "#inclusion-verdict"); got != "Included in the log: proof checked against the latest signed checkpoint" {
			t.Errorf("verdict = %q", got)
		}
		if got := text(t, ctx, "#entry-kind"); got != "dsse 0.0.1" {
			t.Errorf("kind = %q", got)
		}
		if got := text(t, ctx, "#entry-index"); got != strconv.FormatInt(d.LogIndex, 10) {
			t.Errorf("index = %q", got)
		}
	})

	t.Run("home and log", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(st.Info.RegistryURL+"/"), chromedp.WaitVisible(chromedp.CSS(".listing"))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, art, "home")
		if got := text(t, ctx, ".listing"); !strings.Contains(got, "@provenant-test/hello") || !strings.Contains(got, "@provenant-test/plain") {
			t.Errorf("home lists %q", got)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(st.Info.RegistryURL+"/-/log"), chromedp.WaitVisible(chromedp.CSS("#tree-size"))); err != nil {
			t.Fatal(err)
		}
		screenshot(t, ctx, art, "log")
		if got := text(t, ctx, "#checkpoint-signature"); !strings.HasPrefix(got, "verified with trusted log key") {
			t.Errorf("checkpoint signature: %q", got)
		}
	})
}

// TestDevStackRestart runs the demo twice on one data directory: the
// second run publishes the next patch version from a new commit, and
// dev.json describes the running stack and is removed on Close.
func TestDevStackRestart(t *testing.T) {
	dir := t.TempDir()
	st := startStack(t, dir)
	d1, err := st.Demo(context.Background(), DemoOptions{ExampleDir: testExample})
	if err != nil {
		t.Fatal(err)
	}
	var info Info
	b, err := os.ReadFile(filepath.Join(dir, InfoFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	if info.RegistryURL != st.Info.RegistryURL || info.Demo == nil || info.Demo.Version != "1.0.0" || info.TrustedRoot != filepath.Join(dir, "trust", "trusted_root.json") {
		t.Errorf("dev.json = %s", b)
	}
	if _, err := os.Stat(info.TrustedRoot); err != nil {
		t.Errorf("trusted root: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, InfoFile)); !os.IsNotExist(err) {
		t.Errorf("dev.json left behind after Close: %v", err)
	}

	st2 := startStack(t, dir)
	d2, err := st2.Demo(context.Background(), DemoOptions{ExampleDir: testExample})
	if err != nil {
		t.Fatal(err)
	}
	if st2.Info.RegistryURL != info.RegistryURL || st2.Info.TrustURL != info.TrustURL {
		t.Errorf("restart moved the URLs: %s, %s; were %s, %s", st2.Info.RegistryURL, st2.Info.TrustURL, info.RegistryURL, info.TrustURL)
	}
	if d2.Version != "1.0.1" || d2.Commit == d1.Commit || d2.LogIndex != d1.LogIndex+1 {
		t.Errorf("second run: %+v (first %+v)", d2, d1)
	}
	// The first entry is still proven included in the grown log, read over
	// the real log's Rekor API.
	for _, idx := range []int64{d1.LogIndex, d2.LogIndex} {
		page := fetch(t, st2.Info.RegistryURL+"/-/log/entries/"+strconv.FormatInt(idx, 10), "text/html")
		if !strings.Contains(page, "Included in the log: proof checked against the latest signed checkpoint") {
			t.Errorf("log entry %d not proven included after restart", idx)
		}
	}
	// The first version survives the restart with its provenance.
	resp, err := http.Get(st2.Info.RegistryURL + "/badge/@provenant-test/hello/v/1.0.0.svg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("badge of 1.0.0 after restart: HTTP %d", resp.StatusCode)
	}
}

func TestSetVersion(t *testing.T) {
	tests := []struct {
		in, version, want string
		ok                bool
	}{
		{`{"name":"a","version":"1.0.0"}`, "1.0.1", `{"name":"a","version":"1.0.1"}`, true},
		{"{\n  \"name\": \"a\",\n  \"version\" : \"1.0.0\",\n  \"x\": 1\n}", "2.0.0", "{\n  \"name\": \"a\",\n  \"version\" : \"2.0.0\",\n  \"x\": 1\n}", true},
		{`{"name":"a"}`, "1.0.0", "", false},
		{`{"name":"a","dependencies":{"version":"1"}}`, "1.0.0", "", false},
	}
	for _, tt := range tests {
		got, err := setVersion(tt.in, tt.version)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("setVersion(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestGitHubRepo(t *testing.T) {
	tests := []struct {
		in, url, name string
		ok            bool
	}{
		{`"https://github.com/o/r"`, "https://github.com/o/r", "o/r", true},
		{`{"type":"git","url":"git+https://github.com/o/r.git"}`, "https://github.com/o/r", "o/r", true},
		{`"https://gitlab.com/o/r"`, "", "", false},
		{`"https://github.com/o"`, "", "", false},
		{`null`, "", "", false},
	}
	for _, tt := range tests {
		u, n, err := githubRepo(json.RawMessage(tt.in))
		if (err == nil) != tt.ok || u != tt.url || n != tt.name {
			t.Errorf("githubRepo(%s) = %q, %q, %v", tt.in, u, n, err)
		}
	}
}

// TestPublicGoodRoot starts the stack trusting the real public-good
// Sigstore root (from @sigstore/tuf) as well as its own, and checks that
// the demo still publishes under the private root.
func TestPublicGoodRoot(t *testing.T) {
	dir := t.TempDir()
	pg := filepath.Join(t.TempDir(), "public-good.json")
	if err := os.WriteFile(pg, realworld.PublicGoodTrustedRoot(t), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Start(context.Background(), Config{DataDir: dir, PublicGoodRoot: pg})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer st.Close()
	if got := st.verifyConfig().TrustedRoots; len(got) != 2 || got[1].Name != "public-good" {
		t.Fatalf("trusted roots = %+v", got)
	}
	d, err := st.Demo(context.Background(), DemoOptions{ExampleDir: testExample})
	if err != nil {
		t.Fatal(err)
	}
	page := fetch(t, d.PageURL, "text/html")
	if !strings.Contains(page, "this registry&#39;s own trust root") {
		t.Error("the demo version does not name the private root")
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{}"), 0o644)
	if st2, err := Start(context.Background(), Config{DataDir: t.TempDir(), PublicGoodRoot: bad}); err == nil {
		st2.Close()
		t.Error("Start accepted a public-good root that is not a trusted root")
	}
}

// BenchmarkDemo measures what `make run` does after the build: start the
// stack in a fresh data directory and publish the demo with provenance.
func BenchmarkDemo(b *testing.B) {
	for b.Loop() {
		st, err := Start(context.Background(), Config{DataDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Demo(context.Background(), DemoOptions{ExampleDir: testExample}); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}
