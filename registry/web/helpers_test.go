package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/registry/verify"
)

// testTarball builds a gzipped npm tarball holding files under package/.
func testTarball(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tb.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return gz.Bytes()
}

// testVersion describes one version to publish into a test store.
type testVersion struct {
	name, version string
	manifest      map[string]any
	readme        string
	result        *verify.Result
	tags          map[string]string
}

// publishTestVersion publishes v into the real SQLite store.
func publishTestVersion(t testing.TB, s store.Store, v testVersion) {
	t.Helper()
	m := map[string]any{"name": v.name, "version": v.version}
	for k, val := range v.manifest {
		m[k] = val
	}
	mj, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"package.json": string(mj)}
	if v.readme != "" {
		files["README.md"] = v.readme
	}
	var prov json.RawMessage
	if v.result != nil {
		if prov, err = json.Marshal(v.result); err != nil {
			t.Fatal(err)
		}
	}
	tags := v.tags
	if tags == nil {
		tags = map[string]string{"latest": v.version}
	}
	desc, _ := m["description"].(string)
	err = s.Publish(context.Background(), "alice", store.Publication{
		Version: store.Version{Name: v.name, Version: v.version, Manifest: mj, SHA512: "x", SHA1: "y",
			Provenance: prov, Published: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)},
		Tarball:     testTarball(t, files),
		Tags:        tags,
		Description: desc,
	})
	if err != nil {
		t.Fatalf("publishing %s@%s: %v", v.name, v.version, err)
	}
}

// newTestStore opens a real SQLite store in a temp dir.
func newTestStore(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.New(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// serve mounts pages on an echo server routed the way the registry
// delegates HTML requests, and starts it on loopback.
func serve(t testing.TB, p *Pages) *httptest.Server {
	t.Helper()
	e := echo.New()
	p.Register(e)
	e.GET("/:name", func(c echo.Context) error { return p.PackagePage(c, c.Param("name")) })
	e.GET("/@:scope/:name", func(c echo.Context) error { return p.PackagePage(c, "@"+c.Param("scope")+"/"+c.Param("name")) })
	e.GET("/:name/:version", func(c echo.Context) error { return p.VersionPage(c, c.Param("name"), c.Param("version")) })
	e.GET("/@:scope/:name/:version", func(c echo.Context) error {
		return p.VersionPage(c, "@"+c.Param("scope")+"/"+c.Param("name"), c.Param("version"))
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// get fetches url and returns status, headers and body.
func get(t testing.TB, url string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// githubResult is a recorded Result for a GitHub Actions build.
func githubResult(commitStatus string) *verify.Result {
	return &verify.Result{
		Provenance: true,
		Summary: &provenance.Summary{
			CI:                  provenance.GitHubActions,
			SourceRepositoryURI: "https://github.com/octo-org/octo-pkg",
			SourceCommit:        "0123456789abcdef0123456789abcdef01234567",
			SourceRef:           "refs/heads/main",
			WorkflowPath:        ".github/workflows/release.yml",
			WorkflowRef:         "refs/heads/main",
			RunInvocationURI:    "https://github.com/octo-org/octo-pkg/actions/runs/42/attempts/1",
			RunnerEnvironment:   "github-hosted",
		},
		TrustRoot:      "private",
		Issuer:         "https://token.actions.githubusercontent.com",
		SAN:            "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main",
		LogIndex:       7,
		IntegratedTime: time.Date(2026, 11, 22, 0, 59, 22, 0, time.UTC),
		CommitStatus:   commitStatus,
		Checks: []verify.CheckRecord{
			{Name: "bundle-signature", Status: verify.StatusVerified},
			{Name: "subject-digest", Status: verify.StatusVerified},
			{Name: "repository-url", Status: verify.StatusVerified},
			{Name: "commit-exists", Status: commitStatus},
		},
		VerifiedAt: time.Date(2026, 11, 22, 0, 59, 30, 0, time.UTC),
	}
}

func mustContain(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}
