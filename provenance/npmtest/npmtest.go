// Package npmtest is a test helper: it runs the npm CLI's own provenance code (libnpmpublish,
// installed with npm on the test machine) offline, so tests can compare
// Provenant's statements and publish bodies with npm's.
package npmtest

import (
	_ "embed"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed npm-statement.js
var script []byte

// Result is what npm produced for one publish with provenance.
type Result struct {
	// PayloadType is the DSSE payload type npm passed to sigstore.attest.
	PayloadType string `json:"payloadType"`
	// Statement is the in-toto statement npm would have signed.
	Statement json.RawMessage `json:"statement"`
	// Body is the publish PUT body npm would have sent.
	Body json.RawMessage `json:"body"`
}

// LibnpmpublishDir returns the directory of the libnpmpublish bundled with
// the machine's npm. Node and npm are part of the test environment, so
// their absence fails the test rather than skipping it.
func LibnpmpublishDir(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed; the npm parity tests need Node 20+ and npm")
	}
	out, err := exec.Command("npm", "root", "-g").Output()
	if err != nil {
		t.Fatalf("npm root -g: %v; the npm parity tests need npm", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "npm", "node_modules", "libnpmpublish")
	if _, err := os.Stat(filepath.Join(dir, "lib", "provenance.js")); err != nil {
		t.Fatalf("libnpmpublish not found in the installed npm: %v", err)
	}
	return dir
}

// Publish runs libnpmpublish's publish() with provenance on for the given
// package.json and tarball, in an environment holding only PATH, HOME and
// env, with signing and the registry request intercepted.
func Publish(t testing.TB, env map[string]string, packageJSON, tarball []byte) Result {
	t.Helper()
	lib := LibnpmpublishDir(t)
	dir := t.TempDir()
	files := map[string][]byte{"npm-statement.js": script, "package.json": packageJSON, "package.tgz": tarball}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("node", filepath.Join(dir, "npm-statement.js"), lib, filepath.Join(dir, "package.json"), filepath.Join(dir, "package.tgz"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("npm's libnpmpublish failed: %v\n%s", err, stderr.String())
	}
	var r Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("npm-statement.js output: %v\n%s", err, out)
	}
	return r
}
