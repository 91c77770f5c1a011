package oidc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/provenant/provenant/provenance"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func newIssuer(t testing.TB) (*Issuer, *httptest.Server) {
	t.Helper()
	var h http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	i, err := New(srv.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	h = i.Handler()
	return i, srv
}

func spec() JobSpec {
	return JobSpec{Repository: "octo-org/octo-pkg", SHA: sha, Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"}
}

// TestTokensVerifyWithGoOIDC verifies minted tokens the way a relying
// party does: discovery and JWKS over HTTP with coreos/go-oidc.
func TestTokensVerifyWithGoOIDC(t *testing.T) {
	i, _ := newIssuer(t)
	for _, c := range []struct {
		spec    JobSpec
		iss     string
		sub     string
		present []string
	}{
		{spec(), i.GitHubIssuerURL(), "repo:octo-org/octo-pkg:ref:refs/heads/main", []string{"repository", "repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "ref", "ref_type", "sha", "workflow", "workflow_ref", "workflow_sha", "job_workflow_ref", "job_workflow_sha", "event_name", "run_id", "run_number", "run_attempt", "runner_environment"}},
		{JobSpec{Platform: GitLabCI, Repository: "grp/proj", SHA: sha, Ref: "refs/tags/v1"}, i.GitLabIssuerURL(), "project_path:grp/proj:ref_type:tag:ref:v1", []string{"project_path", "project_id", "namespace_path", "namespace_id", "ci_config_ref_uri", "ci_config_sha", "pipeline_id", "pipeline_source", "job_id", "ref", "ref_type", "sha", "runner_environment", "project_visibility"}},
	} {
		tok, err := i.Mint(c.spec, "sigstore")
		if err != nil {
			t.Fatal(err)
		}
		p, err := gooidc.NewProvider(context.Background(), c.iss)
		if err != nil {
			t.Fatalf("discovery %s: %v", c.iss, err)
		}
		idt, err := p.Verifier(&gooidc.Config{ClientID: "sigstore", SupportedSigningAlgs: []string{gooidc.ES256}}).Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		if idt.Subject != c.sub {
			t.Errorf("sub = %q, want %q", idt.Subject, c.sub)
		}
		for _, k := range c.present {
			if s, _ := claims[k].(string); s == "" {
				t.Errorf("%s: claim %s missing", c.iss, k)
			}
		}
		if d := idt.Expiry.Sub(idt.IssuedAt); d != IDTokenLifetime {
			t.Errorf("lifetime %v", d)
		}
	}
}

func TestTokenRequestEndpoint(t *testing.T) {
	i, srv := newIssuer(t)
	env, err := i.JobEnv(spec())
	if err != nil {
		t.Fatal(err)
	}
	get := func(url, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	status, body := get(env["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=npm%3Aregistry.example", env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
	var out struct{ Value string }
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("%d %s", status, body)
	}
	p, _ := gooidc.NewProvider(context.Background(), srv.URL)
	if _, err := p.Verifier(&gooidc.Config{ClientID: "npm:registry.example", SupportedSigningAlgs: []string{gooidc.ES256}}).Verify(context.Background(), out.Value); err != nil {
		t.Errorf("minted token: %v", err)
	}
	idTok, _ := i.Mint(spec(), "sigstore")
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := New(srv.URL, otherKey)
	forged, _ := other.RequestToken(spec())
	expired := func() string {
		old := i.now
		defer func() { i.now = old }()
		i.now = func() time.Time { return time.Now().Add(-RequestTokenLifetime - time.Hour) }
		tok, _ := i.RequestToken(spec())
		return tok
	}()
	for _, c := range []struct {
		name, bearer, check string
	}{
		{"no bearer", "", "request-token"},
		{"an ID token is not a request token", idTok, "request-token-claims"},
		{"signed by another key", forged, "request-token-signature"},
		{"expired", expired, "request-token-claims"},
		{"garbage", "abc", "request-token-format"},
	} {
		status, body := get(env["ACTIONS_ID_TOKEN_REQUEST_URL"]+"&audience=sigstore", c.bearer)
		if status != http.StatusUnauthorized || !strings.Contains(body, c.check+" check failed") {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
}

func TestJobEnvEndpoint(t *testing.T) {
	_, srv := newIssuer(t)
	post := func(body []byte) (int, string) {
		resp, err := http.Post(srv.URL+"/oidc/job-env", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	good, _ := json.Marshal(spec())
	if status, body := post(good); status != 200 || !strings.Contains(body, `"GITHUB_REPOSITORY":"octo-org/octo-pkg"`) {
		t.Errorf("%d %s", status, body)
	}
	if status, body := post([]byte(`{"repository":"o/r","sha":"` + sha + `","ref":"refs/heads/main","workflow":".github/workflows/x.yml","bogus":1}`)); status != 400 || !strings.Contains(body, "job-spec-json") {
		t.Errorf("unknown field: %d %s", status, body)
	}
	if status, _ := post(bytes.Repeat([]byte(" "), maxJobSpecBytes+1)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", status)
	}
	if status, body := post(append(good, bytes.Repeat([]byte(" "), maxJobSpecBytes-len(good))...)); status != 200 {
		t.Errorf("body at the limit: %d %s", status, body)
	}
}

func TestNormalize(t *testing.T) {
	s, err := spec().Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if s.EventName != "push" || s.RunnerEnvironment != "github-hosted" || s.Visibility != "public" || s.RunAttempt != "1" || s.RepositoryID == "" || s.WorkflowName != s.Workflow {
		t.Errorf("defaults: %+v", s)
	}
	again, _ := spec().Normalize()
	if again.RepositoryID != s.RepositoryID || again.RunID != s.RunID {
		t.Error("derived ids are not stable")
	}
	g, err := JobSpec{Platform: GitLabCI, Repository: "a/b/c", SHA: sha, Ref: "refs/heads/main"}.Normalize()
	if err != nil || g.Workflow != ".gitlab-ci.yml" || g.RunnerEnvironment != "gitlab-hosted" {
		t.Errorf("gitlab defaults: %+v %v", g, err)
	}
	bad := []struct {
		mut   func(*JobSpec)
		check string
	}{
		{func(s *JobSpec) { s.Repository = "no-slash" }, "job-repository"},
		{func(s *JobSpec) { s.Repository = "a/b/c" }, "job-repository"},
		{func(s *JobSpec) { s.SHA = "abc" }, "job-sha"},
		{func(s *JobSpec) { s.SHA = strings.ToUpper(sha) }, "job-sha"},
		{func(s *JobSpec) { s.Ref = "main" }, "job-ref"},
		{func(s *JobSpec) { s.Ref = "refs/heads/../x" }, "job-ref"},
		{func(s *JobSpec) { s.Workflow = "release.yml" }, "job-workflow"},
		{func(s *JobSpec) { s.Workflow = ".github/workflows/../../x.yml" }, "job-workflow"},
		{func(s *JobSpec) { s.RunnerEnvironment = "gitlab-hosted" }, "job-runner-environment"},
		{func(s *JobSpec) { s.Visibility = "secret" }, "job-visibility"},
		{func(s *JobSpec) { s.Platform = "jenkins" }, "job-platform"},
		{func(s *JobSpec) { s.RunID = "12a" }, "job-run-id"},
		{func(s *JobSpec) { s.EventName = "push now" }, "job-event-name"},
		{func(s *JobSpec) { s.JobWorkflowRef = "x" }, "job-job-workflow-ref"},
	}
	for _, c := range bad {
		s := spec()
		c.mut(&s)
		_, err := s.Normalize()
		var ce *provenance.CheckError
		if !errors.As(err, &ce) || ce.Check != c.check {
			t.Errorf("%+v: err = %v, want check %s", s, err, c.check)
		}
	}
}

func TestReusableWorkflowClaims(t *testing.T) {
	s := spec()
	s.JobWorkflowRef = "octo-org/shared/.github/workflows/publish.yml@refs/tags/v2"
	n, err := s.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	c := githubClaims(n)
	if c["job_workflow_ref"] != s.JobWorkflowRef || c["workflow_ref"] != "octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("claims %v", c)
	}
}
