package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPublishCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"cli-pkg","version":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"GITHUB_ACTIONS", "GITLAB_CI", "NODE_AUTH_TOKEN", "NPM_TOKEN", "npm_config_registry"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"two paths", []string{"publish", dir, dir}, ExitUsage, "accepts at most 1 arg"},
		{"both provenance flags", []string{"publish", dir, "--provenance", "--provenance-file", "b.json"}, ExitUsage, "--provenance-file can not be provided"},
		{"missing path", []string{"publish", filepath.Join(dir, "nope")}, ExitUsage, "no such file"},
		{"unknown flag", []string{"publish", "--provenanse"}, ExitUsage, "unknown flag"},
		{"registry down", []string{"publish", dir, "--dry-run", "--registry", "http://127.0.0.1:1/", "--retries", "-1"}, 3, "127.0.0.1:1"},
		{"not in CI", []string{"publish", dir, "--provenance", "--registry", "http://127.0.0.1:1/", "--token", "t"}, 3, "not supported for provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tc.args, &out, &errOut)
			if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.out) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, tc.code, tc.out, out.String(), errOut.String())
			}
		})
	}
}

func TestPublishCommandJSON(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"cli-pkg","version":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"publish", dir, "--json", "--dry-run", "--registry", "http://127.0.0.1:1/", "--retries", "-1"}, &out, &errOut)
	var res struct {
		Package struct {
			Name      string `json:"name"`
			Integrity string `json:"integrity"`
		} `json:"package"`
		Steps []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"steps"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out.String())
	}
	if code != 3 || res.Package.Name != "cli-pkg" || !strings.HasPrefix(res.Package.Integrity, "sha512-") || res.Error == "" {
		t.Fatalf("exit %d, result %+v", code, res)
	}
	if last := res.Steps[len(res.Steps)-1]; last.Name != "registry" || last.OK {
		t.Errorf("last step %+v", last)
	}
}
