package publisher

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := envFunc(map[string]string{"NODE_AUTH_TOKEN": "tok", "EMPTY": ""})
	for _, tc := range []struct {
		in, want, err string
	}{
		{"${NODE_AUTH_TOKEN}", "tok", ""},
		{"a${EMPTY}b", "ab", ""},
		{"${MISSING?}", "", ""},
		{"${MISSING}", "", "${MISSING}"},
		{`\${NODE_AUTH_TOKEN}`, "${NODE_AUTH_TOKEN}", ""},
		{"plain", "plain", ""},
	} {
		got, err := expandEnv(tc.in, env)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("expandEnv(%q) err = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestNpmrcAsSetupNodeWritesIt reads the .npmrc actions/setup-node writes
// (a user config named by NPM_CONFIG_USERCONFIG) next to a project .npmrc.
func TestNpmrcAsSetupNodeWritesIt(t *testing.T) {
	tmp := t.TempDir()
	user := filepath.Join(tmp, "runner", ".npmrc")
	if err := os.MkdirAll(filepath.Dir(user), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, []byte("//registry.example.test/:_authToken=${NODE_AUTH_TOKEN}\nregistry=https://registry.example.test/\nalways-auth=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	project := filepath.Join(tmp, "pkg")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, ".npmrc"), []byte("; project config\n@acme:registry = \"http://127.0.0.1:4873/npm/\"\n//127.0.0.1:4873/npm/:_authToken=scoped-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envFunc(map[string]string{"NPM_CONFIG_USERCONFIG": user, "NODE_AUTH_TOKEN": "from-setup-node"})
	cfg, files, err := loadNpmrc(project, env)
	if err != nil || len(files) != 2 {
		t.Fatalf("loadNpmrc: %v %v", files, err)
	}
	for _, tc := range []struct {
		pkg, wantReg, wantTok string
	}{
		{"plain", "https://registry.example.test/", "from-setup-node"},
		{"@acme/x", "http://127.0.0.1:4873/npm/", "scoped-token"},
	} {
		reg := registryFor(tc.pkg, "", "", cfg, env)
		if reg != tc.wantReg {
			t.Errorf("%s: registry %s, want %s", tc.pkg, reg, tc.wantReg)
		}
		u, _ := url.Parse(reg)
		if tok, _ := tokenFor(u, cfg, env); tok != tc.wantTok {
			t.Errorf("%s: token %q, want %q", tc.pkg, tok, tc.wantTok)
		}
	}
	// A token for the host root also serves a registry under a path.
	u, _ := url.Parse("https://registry.example.test/some/path/")
	if tok, src := tokenFor(u, cfg, env); tok != "from-setup-node" || !strings.Contains(src, "//registry.example.test/:_authToken") {
		t.Errorf("parent path token = %q from %q", tok, src)
	}
	// No .npmrc entry: NODE_AUTH_TOKEN, then NPM_TOKEN.
	u, _ = url.Parse("http://elsewhere.test/")
	if tok, src := tokenFor(u, npmrc{}, envFunc(map[string]string{"NPM_TOKEN": "n"})); tok != "n" || src != "NPM_TOKEN" {
		t.Errorf("env token = %q from %q", tok, src)
	}
	// Precedence: explicit, env, publishConfig, .npmrc.
	if got := registryFor("plain", "http://explicit/", "http://pc/", cfg, env); got != "http://explicit/" {
		t.Errorf("explicit registry lost: %s", got)
	}
	if got := registryFor("plain", "", "http://pc/", cfg, envFunc(map[string]string{"npm_config_registry": "http://env/"})); got != "http://env/" {
		t.Errorf("npm_config_registry lost: %s", got)
	}
	if got := registryFor("plain", "", "http://pc/", cfg, env); got != "http://pc/" {
		t.Errorf("publishConfig.registry lost: %s", got)
	}
	// A missing variable in .npmrc is an error naming it.
	if err := os.WriteFile(user, []byte("//r/:_authToken=${NOT_SET}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadNpmrc(project, env); err == nil || !strings.Contains(err.Error(), "NOT_SET") {
		t.Errorf("missing variable: %v", err)
	}
}

func FuzzParseNpmrc(f *testing.F) {
	f.Add([]byte("//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\nregistry=https://r/\n"))
	f.Add([]byte("; c\n# c\n[section]\nk = \"v\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := npmrc{}
		_ = parseNpmrc(data, envFunc(map[string]string{"NODE_AUTH_TOKEN": "x"}), cfg)
		for k := range cfg {
			if strings.Contains(k, "\n") {
				t.Fatalf("key %q spans lines", k)
			}
		}
	})
}
