package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
)

func runExplain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"explain"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExplainCommand(t *testing.T) {
	dir := t.TempDir()
	real := realworld.SigstoreJSBundle(t)
	bundlePath := filepath.Join(dir, "sigstore-2.0.0.sigstore")
	if err := os.WriteFile(bundlePath, real, 0o644); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runExplain(t, bundlePath)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Built and signed on GitHub Actions",
		"pkg:npm/sigstore@2.0.0",
		"https://github.com/sigstore/sigstore-js",
		"f0b49a04e5a62250e0f60fb128004a73110fe311",
		".github/workflows/release.yml",
		"https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1",
		"github-hosted",
		"agrees with the certificate",
		"conforms to statement-github-v1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = runExplain(t, "--json", bundlePath)
	if code != ExitOK {
		t.Fatalf("--json exit %d: %s", code, errOut)
	}
	var j struct {
		Source      string
		Summary     provenance.Summary
		Certificate struct{ SubjectAlternativeName string }
		OK          *bool `json:"certificateMatchesStatement"`
		Schema      struct {
			Name  string
			Valid bool
		}
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if j.Schema.Name != "statement-github-v1" || !j.Schema.Valid {
		t.Errorf("--json schema %+v", j.Schema)
	}
	if j.Source != "bundle" || j.Summary.SourceCommit != "f0b49a04e5a62250e0f60fb128004a73110fe311" || j.OK == nil || !*j.OK ||
		j.Certificate.SubjectAlternativeName != "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("--json output %s", out)
	}

	// A bare statement from standard input.
	var b struct {
		DSSE struct{ Payload string } `json:"dsseEnvelope"`
	}
	_ = json.Unmarshal(real, &b)
	payload, _ := base64.StdEncoding.DecodeString(b.DSSE.Payload)
	var stdout, stderr bytes.Buffer
	root := NewRootCommand()
	root.SetArgs([]string{"explain", "-"})
	root.SetIn(bytes.NewReader(payload))
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if err := root.Execute(); err != nil || !strings.Contains(stdout.String(), "pkg:npm/sigstore@2.0.0") || strings.Contains(stdout.String(), "Signing certificate") {
		t.Errorf("statement from stdin: %v\n%s", err, stdout.String())
	}

	// A statement that lies about its repository: exit 3, check named.
	forged := strings.Replace(string(payload), "https://github.com/sigstore/sigstore-js", "https://github.com/evil/sigstore-js", -1)
	var m map[string]any
	_ = json.Unmarshal(real, &m)
	m["dsseEnvelope"].(map[string]any)["payload"] = base64.StdEncoding.EncodeToString([]byte(forged))
	forgedBundle, _ := json.Marshal(m)
	forgedPath := filepath.Join(dir, "forged.sigstore")
	_ = os.WriteFile(forgedPath, forgedBundle, 0o644)
	code, out, errOut = runExplain(t, forgedPath)
	if code != ExitMismatch || !strings.Contains(errOut, "certificate-source-repository") || !strings.Contains(out, "CONTRADICTS") || !strings.Contains(out, "conforms to") {
		t.Errorf("forged: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}

	// A statement that breaks the schema (a non-numeric repository id) is
	// explained, with the pointer of the bad field.
	bad := strings.Replace(string(payload), `"repository_id":"495574555"`, `"repository_id":"x"`, 1)
	badPath := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(badPath, []byte(bad), 0o644)
	if code, out, _ := runExplain(t, badPath); code != ExitOK || !strings.Contains(out, `at "/predicate/buildDefinition/internalParameters/github/repository_id"`) {
		t.Errorf("schema violation: exit %d\n%s", code, out)
	}

	// Not a provenance document; missing file; no argument.
	junk := filepath.Join(dir, "junk.json")
	_ = os.WriteFile(junk, []byte(`{"name":"x"}`), 0o644)
	if code, _, errOut := runExplain(t, junk); code != ExitFailure || !strings.Contains(errOut, "invalid provenance statement") {
		t.Errorf("junk: exit %d, %s", code, errOut)
	}
	if code, _, _ := runExplain(t, filepath.Join(dir, "missing")); code != ExitFailure {
		t.Errorf("missing file: exit %d", code)
	}
	if code, _, _ := runExplain(t); code != ExitUsage {
		t.Errorf("no argument: exit %d", code)
	}
}
