package registry

import (
	"os"
	"path/filepath"
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
