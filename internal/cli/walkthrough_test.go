package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperatorWalkthrough follows the README's "Trust services" section
// with the real commands: `provenant trust serve`, `provenant registry`
// trusting its root, a simulated GitHub Actions job from `provenant trust
// job-env` evaluated by a real shell, and `provenant publish --provenance`
// with the signing config the trust services serve. A registry that does
// not allow the embedded issuer rejects the publish naming issuer-allowed;
// with --allow-issuer it accepts it and serves the provenance.
func TestOperatorWalkthrough(t *testing.T) {
	t.Setenv("PROVENANT_REGISTRY_POSTGRES", "")
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	trustDir := filepath.Join(dir, "trust")
	trustURL, _, _ := runCommand(t, "trust", "serve", "--data-dir", trustDir, "--addr", "127.0.0.1:0")
	trustURL = strings.TrimSuffix(trustURL, "/")
	rootFlag := "private=" + filepath.Join(trustDir, "trusted_root.json")

	// The package, committed in a real git repository.
	pkg := filepath.Join(dir, "pkg")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(pkg, "package.json"), `{"name":"widget-demo","version":"1.0.0","license":"MIT","repository":{"type":"git","url":"git+https://github.com/acme/widget.git"}}`)
	writeFile(t, filepath.Join(pkg, "index.js"), "module.exports = 1\n")
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-c", "user.name=ci", "-c", "user.email=ci@example.com"}, args...)...)
		cmd.Dir = pkg
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-qm", "widget")
	sha := git("rev-parse", "HEAD")

	// The job environment, evaluated by a real shell as the README does.
	var exports, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"trust", "job-env", "--trust-url", trustURL, "--repository", "acme/widget",
		"--sha", sha, "--ref", "refs/heads/main", "--workflow", ".github/workflows/release.yml"}, &exports, &errOut); code != ExitOK {
		t.Fatalf("job-env exit %d: %s", code, errOut.String())
	}
	envOut, err := exec.Command("sh", "-c", exports.String()+"\nenv -0").Output()
	if err != nil {
		t.Fatalf("eval job-env: %v", err)
	}
	for kv := range strings.SplitSeq(string(envOut), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok && (strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "RUNNER_") || strings.HasPrefix(k, "ACTIONS_")) {
			t.Setenv(k, v)
		}
	}
	if os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" {
		t.Fatalf("job-env set no ACTIONS_ID_TOKEN_REQUEST_URL:\n%s", exports.String())
	}

	publish := func(registryURL string) (int, string) {
		token := addUser(t, registryURL)
		var out, errb bytes.Buffer
		code := Run(context.Background(), []string{"publish", pkg, "--provenance", "--registry", registryURL,
			"--token", token, "--signing-config", trustURL + "/signing_config.json"}, &out, &errb)
		return code, out.String() + errb.String()
	}

	// Without --allow-issuer the embedded issuer is not allowed.
	strict, _, _ := runCommand(t, "registry", "--data-dir", filepath.Join(dir, "strict"), "--addr", "127.0.0.1:0",
		"--trusted-root", rootFlag, "--commit-check", "off")
	if code, out := publish(strict); code != 5 || !strings.Contains(out, "issuer-allowed check failed") {
		t.Fatalf("publish to a registry not allowing the issuer: exit %d, want 5 naming issuer-allowed:\n%s", code, out)
	}
	if code, _ := getBody(t, strict+"widget-demo", "application/json"); code != http.StatusNotFound {
		t.Errorf("rejected publish left a package behind: GET = %d", code)
	}

	// With --allow-issuer it is accepted, and the version carries provenance.
	open, _, _ := runCommand(t, "registry", "--data-dir", filepath.Join(dir, "open"), "--addr", "127.0.0.1:0",
		"--trusted-root", rootFlag, "--allow-issuer", trustURL, "--commit-check", "off")
	code, out := publish(open)
	if code != ExitOK {
		t.Fatalf("publish exit %d:\n%s", code, out)
	}
	code, body := getBody(t, open+"-/provenant/v1/attestations/widget-demo@1.0.0", "application/json")
	if code != http.StatusOK || !strings.Contains(body, "https://slsa.dev/provenance/v1") {
		t.Fatalf("attestations = %d %.300s", code, body)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// addUser creates a user with npm's adduser request and returns its token.
func addUser(t *testing.T, registryURL string) string {
	t.Helper()
	body := `{"name":"alice","password":"correct-horse-battery","email":"alice@example.com","type":"user"}`
	req, _ := http.NewRequest(http.MethodPut, registryURL+"-/user/org.couchdb.user:alice", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Token == "" {
		t.Fatalf("adduser: %d %v", resp.StatusCode, err)
	}
	return r.Token
}
