package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify"
)

// seed publishes the packages the page tests look at and serves the pages.
func seed(t *testing.T) string {
	t.Helper()
	s := newTestStore(t)
	publishTestVersion(t, s, testVersion{name: "@octo-org/octo-pkg", version: "1.0.0", result: githubResult(verify.StatusVerified),
		readme: "# Octo\n\nHello **world**.",
		manifest: map[string]any{"description": "An octo package", "license": "MIT", "keywords": []string{"octo", "demo"},
			"repository":   map[string]string{"type": "git", "url": "git+https://github.com/octo-org/octo-pkg.git"},
			"dependencies": map[string]string{"left-pad": "^1.3.0"}}})
	publishTestVersion(t, s, testVersion{name: "@octo-org/octo-pkg", version: "1.1.0-beta.1", result: githubResult(verify.StatusUnverified),
		tags: map[string]string{"next": "1.1.0-beta.1"}})
	publishTestVersion(t, s, testVersion{name: "plain", version: "2.0.0", manifest: map[string]any{"description": "no provenance here"}})
	p, err := New(Config{Catalog: StoreCatalog{Store: s}})
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, p).URL
}

func TestVersionPageShowsPanel(t *testing.T) {
	base := seed(t)
	for _, path := range []string{"/@octo-org/octo-pkg", "/@octo-org/octo-pkg/1.0.0", "/@octo-org/octo-pkg/latest"} {
		t.Run(path, func(t *testing.T) {
			status, hdr, body := get(t, base+path)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			mustContain(t, body,
				"Built and signed on GitHub Actions",
				"GitHub-hosted runner",
				`href="https://github.com/octo-org/octo-pkg/actions/runs/42/attempts/1"`,
				`href="https://github.com/octo-org/octo-pkg/commit/0123456789abcdef0123456789abcdef01234567"`,
				"https://github.com/octo-org/octo-pkg@0123456",
				`href="https://github.com/octo-org/octo-pkg/blob/0123456789abcdef0123456789abcdef01234567/.github/workflows/release.yml"`,
				".github/workflows/release.yml@refs/heads/main",
				`href="/-/log/entries/7"`,
				"this registry&#39;s own trust root",
				"2026-11-22 00:59 UTC",
				"Subject digest matches the tarball",
				"npm install @octo-org/octo-pkg",
				"An octo package", "MIT", "octo", "demo",
				`href="/left-pad"`, "^1.3.0",
				`href="https://github.com/octo-org/octo-pkg"`,
				"<h1>Octo</h1>", "<strong>world</strong>",
				`href="/@octo-org/octo-pkg/1.1.0-beta.1"`, "next",
			)
		})
	}
}

func TestVersionPageStates(t *testing.T) {
	base := seed(t)
	tests := []struct {
		name, path string
		status     int
		want       []string
		dontWant   []string
	}{
		{"no provenance", "/plain", 200, []string{"published without provenance", `id="prov-none"`}, []string{"Built and signed"}},
		{"unverified commit", "/@octo-org/octo-pkg/1.1.0-beta.1", 200, []string{"unverified", "could not be found"}, nil},
		{"unknown package", "/nope", 404, []string{"no package named &#34;nope&#34;"}, nil},
		{"unknown scoped package", "/@octo-org/nope", 404, []string{"@octo-org/nope"}, nil},
		{"unknown version", "/@octo-org/octo-pkg/9.9.9", 404, []string{"has no version &#34;9.9.9&#34;"}, nil},
		{"home", "/", 200, []string{"Recently published", `href="/@octo-org/octo-pkg"`, `href="/plain"`}, nil},
		{"search hit", "/?q=octo", 200, []string{`href="/@octo-org/octo-pkg"`}, []string{`href="/plain"`}},
		{"search miss", "/?q=zzzz", 200, []string{"No package matches"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := get(t, base+tt.path)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			mustContain(t, body, tt.want...)
			for _, d := range tt.dontWant {
				if strings.Contains(body, d) {
					t.Errorf("page contains %q", d)
				}
			}
		})
	}
}

// TestEscaping publishes hostile text everywhere a publisher controls it and
// checks the page carries no active markup.
func TestEscaping(t *testing.T) {
	s := newTestStore(t)
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	r := githubResult(verify.StatusVerified)
	r.Summary.RunInvocationURI = "javascript:alert(3)"
	r.Summary.WorkflowPath = `"><script>alert(4)</script>`
	publishTestVersion(t, s, testVersion{name: "evil", version: "1.0.0", result: r,
		readme: "# Title\n\n" + hostile + "\n\n[click](javascript:alert(5))\n",
		manifest: map[string]any{"description": hostile, "keywords": []string{hostile}, "license": hostile,
			"repository": "javascript:alert(6)", "homepage": "javascript:alert(7)"}})
	p, err := New(Config{Catalog: StoreCatalog{Store: s}})
	if err != nil {
		t.Fatal(err)
	}
	base := serve(t, p).URL
	for _, path := range []string{"/evil", "/evil/1.0.0", "/", "/?q=evil"} {
		_, _, body := get(t, base+path)
		for _, bad := range activeMarkup(t, body) {
			t.Errorf("%s: active markup: %s", path, bad)
		}
	}
	_, _, body := get(t, base+"/evil")
	mustContain(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func TestPanelGitLab(t *testing.T) {
	r := githubResult(verify.StatusOff)
	r.Summary.CI = provenance.GitLabCI
	r.Summary.SourceRepositoryURI = "https://gitlab.com/group/proj"
	r.Summary.WorkflowPath = ".gitlab-ci.yml"
	r.Summary.RunnerEnvironment = "gitlab-hosted"
	r.TrustRoot = "public-good"
	p := newPanel(r)
	tests := []struct{ got, want string }{
		{p.Headline, "Built and signed on GitLab CI"},
		{p.RunnerEnvironment, "GitLab-hosted runner"},
		{p.CommitURL, "https://gitlab.com/group/proj/-/commit/0123456789abcdef0123456789abcdef01234567"},
		{p.BuildFileURL, "https://gitlab.com/group/proj/-/blob/0123456789abcdef0123456789abcdef01234567/.gitlab-ci.yml"},
		{p.LedgerURL, "https://search.sigstore.dev/?logIndex=7"},
		{p.TrustRoot, "the public-good Sigstore trust root"},
		{p.CommitStatus, "off"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	if newPanel(nil) != nil || newPanel(&verify.Result{Provenance: false}) != nil {
		t.Error("a version without provenance got a panel")
	}
}

func TestBrowsableRepoURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"git+https://github.com/o/r.git", "https://github.com/o/r"},
		{"https://github.com/o/r", "https://github.com/o/r"},
		{"git://github.com/o/r.git", "https://github.com/o/r"},
		{"git@github.com:o/r.git", "https://github.com/o/r"},
		{"ssh://git@github.com/o/r.git", "https://github.com/o/r"},
		{"github:o/r", "https://github.com/o/r"},
		{"gitlab:g/p", "https://gitlab.com/g/p"},
		{"o/r", "https://github.com/o/r"},
		{"https://user:pw@host/o/r.git?x#y", "https://host/o/r"},
		{"javascript:alert(1)", ""},
		{"file:///etc/passwd", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := browsableRepoURL(tt.in); got != tt.want {
			t.Errorf("browsableRepoURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadmeLimit(t *testing.T) {
	tests := []struct {
		size      int
		truncated bool
	}{{maxReadmeBytes, false}, {maxReadmeBytes + 1, true}}
	for _, tt := range tests {
		_, truncated := renderReadme(strings.Repeat("a", tt.size))
		if truncated != tt.truncated {
			t.Errorf("size %d: truncated = %v, want %v", tt.size, truncated, tt.truncated)
		}
	}
}

func TestNewRequiresCatalog(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config without a catalog")
	}
	if _, err := New(Config{Catalog: StoreCatalog{}, LogURL: "ftp://x"}); err == nil {
		t.Error("New accepted a non-http log URL")
	}
}

// activeMarkup parses page as a browser would and lists every script
// element, event-handler attribute and javascript: URL in it.
func activeMarkup(t *testing.T, page string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "script" || n.Data == "iframe" || n.Data == "object" {
				found = append(found, "<"+n.Data+">")
			}
			for _, a := range n.Attr {
				v := strings.ToLower(strings.TrimSpace(a.Val))
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || strings.HasPrefix(v, "javascript:") {
					found = append(found, n.Data+" "+a.Key+"="+a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return found
}

func TestActiveMarkupDetects(t *testing.T) {
	// The escaping test is only as good as its detector: it must see these.
	for _, page := range []string{"<script>x</script>", `<img src=x onerror=y>`, `<a href=" javascript:x">a</a>`} {
		if len(activeMarkup(t, page)) == 0 {
			t.Errorf("activeMarkup missed %q", page)
		}
	}
}

func BenchmarkVersionPage(b *testing.B) {
	s := newTestStore(b)
	publishTestVersion(b, s, testVersion{name: "@octo-org/octo-pkg", version: "1.0.0", result: githubResult(verify.StatusVerified),
		readme: strings.Repeat("# Title\n\nSome *text* with a [link](https://example.com).\n\n", 50)})
	p, err := New(Config{Catalog: StoreCatalog{Store: s}})
	if err != nil {
		b.Fatal(err)
	}
	url := serve(b, p).URL + "/@octo-org/octo-pkg/1.0.0"
	b.ResetTimer()
	for b.Loop() {
		if status, _, _ := get(b, url); status != http.StatusOK {
			b.Fatalf("status %d", status)
		}
	}
}

func BenchmarkBadge(b *testing.B) {
	for b.Loop() {
		renderBadge(badgeVerified)
	}
}

// recordingCatalog records the search text it is asked for.
type recordingCatalog struct {
	Catalog
	got string
}

func (r *recordingCatalog) Search(_ context.Context, text string, _ int) ([]Listing, error) {
	r.got = text
	return nil, nil
}

func TestSearchTextLimit(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{maxSearchTextBytes, maxSearchTextBytes}, {maxSearchTextBytes + 1, maxSearchTextBytes}} {
		rc := &recordingCatalog{}
		p, err := New(Config{Catalog: rc})
		if err != nil {
			t.Fatal(err)
		}
		base := serve(t, p).URL
		if status, _, _ := get(t, base+"/?q="+strings.Repeat("a", tt.n)); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		if len(rc.got) != tt.want {
			t.Errorf("query of %d bytes: catalog searched %d bytes, want %d", tt.n, len(rc.got), tt.want)
		}
	}
}

func FuzzBrowsableRepoURL(f *testing.F) {
	for _, s := range []string{"git+https://github.com/o/r.git", "github:o/r", "o/r", "git@github.com:o/r.git", "javascript:alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u := browsableRepoURL(s)
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			t.Fatalf("browsableRepoURL(%q) = %q, not an http(s) URL", s, u)
		}
	})
}
