package registry

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/registry/verify"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"full", `
addr: 127.0.0.1:0
dataDir: /tmp/x
publicURL: https://registry.example.com
registration: false
sweepGrace: 2h
verification:
  trustedRoots:
    - name: public-good
      path: /etc/provenant/public-good.json
  policy:
    default:
      provenanceRequired: true
      commitCheck: warn
    packages:
      - match: "@acme/*"
        runnerEnvironments: [github-hosted, self-hosted]
        trustedPublishers:
          - repository: https://github.com/acme/tools
  commit:
    timeout: 10s
`, ""},
		{"unknown top-level key", "dataDir: /x\nbogus: 1\n", "bogus"},
		{"unknown nested key", "verification:\n  policy:\n    default:\n      provenanceRequird: true\n", "provenanceRequird"},
		{"bad commit mode", "verification:\n  policy:\n    default:\n      commitCheck: maybe\n", "commitCheck"},
		{"bad duration", "sweepGrace: soon\n", "sweepGrace"},
		{"wrong type", "registration: yes please\n", "registration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o600)
			cfg, err := LoadConfig(path, ValidateConfigYAML)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := cfg.Verification.Policy
			if cfg.PublicURL != "https://registry.example.com" || cfg.registration() || cfg.SweepGrace != 2*time.Hour ||
				cfg.Verification.TrustedRoots[0].Name != "public-good" || !*p.Default.ProvenanceRequired ||
				p.Default.CommitCheck != verify.CommitWarn || p.Packages[0].Match != "@acme/*" ||
				len(p.Packages[0].RunnerEnvironments) != 2 || cfg.Verification.Commit.Timeout != 10*time.Second {
				t.Errorf("config = %+v", cfg)
			}
		})
	}
	// Strict decoding holds even without the schema.
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("dataDir: /x\nbogus: 1\n"), 0o600)
	if _, err := LoadConfig(path, nil); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("KnownFields: err = %v", err)
	}
}

func TestConfigEnvAndValidate(t *testing.T) {
	var c Config
	c.ApplyEnv(func(k string) string {
		return map[string]string{"PROVENANT_REGISTRY_DATA_DIR": "/data", "PROVENANT_REGISTRY_PUBLIC_URL": "http://r.example"}[k]
	})
	c.setDefaults()
	if c.DataDir != "/data" || c.PublicURL != "http://r.example" || c.Addr != DefaultAddr {
		t.Errorf("config = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	for _, bad := range []Config{{}, {DataDir: "/d", PublicURL: "ftp://x", SweepGrace: time.Hour}, {DataDir: "/d", SweepGrace: time.Second}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

func TestConfigEnvTrustedRootsAndCommitCheck(t *testing.T) {
	c := Config{Verification: verify.Config{TrustedRoots: []verify.RootConfig{{Name: "private", Path: "/old.json"}}}}
	err := c.ApplyEnv(func(k string) string {
		return map[string]string{
			EnvTrustedRoots:   "private=/new.json, staging=/staging.json",
			EnvPublicGoodRoot: "/pg.json",
			EnvCommitCheck:    "warn",
			EnvLogURL:         "http://log.example",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.RootConfig{{Name: "private", Path: "/new.json"}, {Name: "staging", Path: "/staging.json"}, {Name: verify.RootPublicGood, Path: "/pg.json"}}
	if len(c.Verification.TrustedRoots) != len(want) {
		t.Fatalf("roots = %+v, want %+v", c.Verification.TrustedRoots, want)
	}
	for i, r := range c.Verification.TrustedRoots {
		if r.Name != want[i].Name || r.Path != want[i].Path {
			t.Errorf("root %d = %+v, want %+v", i, r, want[i])
		}
	}
	if c.Verification.Policy.Default.CommitCheck != verify.CommitWarn || c.LogURL != "http://log.example" {
		t.Errorf("commit check %q, log URL %q", c.Verification.Policy.Default.CommitCheck, c.LogURL)
	}
	for _, bad := range []map[string]string{{EnvTrustedRoots: "noequals"}, {EnvTrustedRoots: "=/x"}, {EnvCommitCheck: "sometimes"}} {
		var c Config
		if err := c.ApplyEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("ApplyEnv(%v) = nil", bad)
		}
	}
	if err := (&Config{DataDir: "/d", SweepGrace: time.Hour, LogURL: "ftp://x"}).Validate(); err == nil || !strings.Contains(err.Error(), "logURL") {
		t.Errorf("Validate(logURL ftp) = %v", err)
	}
}

// TestNoTrustedRoot: a registry without trusted roots accepts a version
// without provenance and refuses one with a bundle (check trusted-root),
// storing nothing; a policy requiring provenance refuses to start.
func TestNoTrustedRoot(t *testing.T) {
	dir := t.TempDir()
	srv, err := New(context.Background(), Config{DataDir: dir, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := &testRegistry{Server: newHTTPTest(t, srv), srv: srv, dir: dir}
	tok := r.addUser(t, "alice")
	r.publish(t, tok, "plain", "1.0.0", "latest", nil, http.StatusCreated)
	resp := r.publish(t, tok, "signed", "1.0.0", "latest", []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), http.StatusUnprocessableEntity)
	if !strings.Contains(string(resp), "trusted-root check failed") || !strings.Contains(string(resp), "--trusted-root") {
		t.Errorf("422 body %s does not name the trusted-root check and the flag", resp)
	}
	if code, _, _ := r.do(t, http.MethodGet, "/signed", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /signed after the refused publish = %d, want 404", code)
	}
	yes := true
	for _, p := range []verify.Policy{
		{Default: verify.Rules{ProvenanceRequired: &yes}},
		{Packages: []verify.PackageRules{{Match: "@acme/*", Rules: verify.Rules{TrustedRoots: []string{"private"}}}}},
	} {
		_, err := New(context.Background(), Config{DataDir: t.TempDir(), SweepInterval: -1, Verification: verify.Config{Policy: p}})
		if err == nil || !strings.Contains(err.Error(), "--trusted-root") {
			t.Errorf("New(policy %+v) = %v, want an error naming --trusted-root", p, err)
		}
	}
}

// TestAllowIssuer: allowing an issuer keeps GitHub Actions and GitLab.com
// allowed, adds each URL once, and rejects what is not an http(s) URL.
func TestAllowIssuer(t *testing.T) {
	var c Config
	if err := c.ApplyEnv(func(k string) string {
		return map[string]string{EnvAllowIssuers: "http://127.0.0.1:8081, https://issuer.example"}[k]
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.AllowIssuer("https://issuer.example"); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(verify.DefaultIssuers), "http://127.0.0.1:8081", "https://issuer.example")
	if got := c.Verification.Policy.Default.AllowedIssuers; !slices.Equal(got, want) {
		t.Errorf("allowed issuers = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "issuer.example", "ftp://issuer.example", "https://"} {
		if err := (&Config{}).AllowIssuer(bad); err == nil {
			t.Errorf("AllowIssuer(%q) = nil, want an error", bad)
		}
	}
}
