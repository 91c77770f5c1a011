package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTrustServeAndJobEnv runs `provenant trust serve` on a free port and
// `provenant trust job-env` against it, then evaluates the export lines
// with a real shell.
func TestTrustServeAndJobEnv(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"trust", "serve", "--data-dir", dir, "--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("serve exited %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	url := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}
	resp, err := http.Get(url + "/trusted_root.json")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("trusted root: %v %v", err, resp)
	}
	resp.Body.Close()
	if _, err := os.Stat(filepath.Join(dir, "trusted_root.json")); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	code := Run(context.Background(), []string{"trust", "job-env", "--repository", "octo-org/octo-pkg", "--sha", "0123456789abcdef0123456789abcdef01234567",
		"--ref", "refs/tags/v1.0.0", "--workflow", ".github/workflows/release.yml", "--runner", "self-hosted", "--trust-url", url}, &out, &errOut)
	if code != ExitOK {
		t.Fatalf("job-env exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "export RUNNER_ENVIRONMENT='self-hosted'\n") || !strings.Contains(out.String(), "export ACTIONS_ID_TOKEN_REQUEST_URL='"+url+"/oidc/token?api-version=2.0'\n") {
		t.Errorf("exports:\n%s", out.String())
	}
	// A person evals it: the variables must survive the shell.
	sh := exec.Command("sh", "-c", out.String()+`printf '%s|%s' "$GITHUB_WORKFLOW_REF" "$ACTIONS_ID_TOKEN_REQUEST_TOKEN"`)
	got, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(got), "|", 2)
	if parts[0] != "octo-org/octo-pkg/.github/workflows/release.yml@refs/tags/v1.0.0" || strings.Count(parts[1], ".") != 2 {
		t.Errorf("after eval: %q", got)
	}

	// GitLab: SIGSTORE_ID_TOKEN is minted up front.
	out.Reset()
	if code := Run(context.Background(), []string{"trust", "job-env", "--gitlab", "--repository", "grp/proj", "--sha", "0123456789abcdef0123456789abcdef01234567", "--ref", "refs/heads/main", "--trust-url", url}, &out, &errOut); code != ExitOK {
		t.Fatalf("gitlab job-env exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "export SIGSTORE_ID_TOKEN='") || !strings.Contains(out.String(), "export CI_PROJECT_PATH='grp/proj'") {
		t.Errorf("gitlab exports:\n%s", out.String())
	}

	// Bad input names the failed check and exits non-zero.
	errOut.Reset()
	if code := Run(context.Background(), []string{"trust", "job-env", "--repository", "octo-org/octo-pkg", "--sha", "nope", "--ref", "refs/heads/main", "--workflow", ".github/workflows/x.yml", "--trust-url", url}, io.Discard, &errOut); code == ExitOK || !strings.Contains(errOut.String(), "job-sha") {
		t.Errorf("bad sha: exit %d, %s", code, errOut.String())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"a": "'a'", "it's": `'it'\''s'`, "": "''", "$HOME `x`": "'$HOME `x`'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
