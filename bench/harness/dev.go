package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The simulated CI job of the provenance publish runs: a GitHub Actions
// workflow of this repository, whose commits live in the dev stack's forge
// (the registry's commit check is rewritten to it).
const (
	devRepository = "provenant-bench/bench-publish"
	devWorkflow   = ".github/workflows/release.yml"
)

// devStack is a running `provenant dev`: trust services (OIDC issuer, CA,
// log), a registry that verifies provenance and a git forge. It is the
// target of the timed `provenant publish --provenance` runs.
type devStack struct {
	t     *target
	bin   string
	dir   string
	info  devInfo
	token string
}

// devInfo is the part of DIR/dev.json the harness reads.
type devInfo struct {
	Registry      string `json:"registry"`
	Trust         string `json:"trust"`
	TrustedRoot   string `json:"trustedRoot"`
	SigningConfig string `json:"signingConfig"`
}

// startDevStack starts `provenant dev` with its state under dir and
// creates a registry account.
func startDevStack(ctx context.Context, bin, dir string) (*devStack, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if exec.Command(bin, "dev", "--help").Run() != nil {
		return nil, fmt.Errorf("%s has no `dev` subcommand", bin)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var addrs [3]string
	for i := range addrs {
		if addrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	d := &devStack{bin: bin, dir: dir, t: &target{
		Name:      "provenant-dev",
		Addr:      addrs[0],
		Argv:      []string{bin, "dev", "--data-dir", data, "--registry-addr", addrs[0], "--trust-addr", addrs[1], "--forge-addr", addrs[2]},
		Log:       filepath.Join(dir, "server.log"),
		ReadyPath: "/-/ping",
	}}
	if _, err := d.t.start(ctx); err != nil {
		return nil, err
	}
	// dev.json is written once every service is up, after the listeners
	// already answer.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(data, "dev.json"))
		if err == nil && json.Unmarshal(b, &d.info) == nil && d.info.TrustedRoot != "" {
			break
		}
		if time.Now().After(deadline) {
			d.stop()
			return nil, fmt.Errorf("provenant dev wrote no usable %s/dev.json", data)
		}
	}
	if d.token, err = addUser(d.info.Registry, "bench", "bench-password-1"); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// publish commits the k-th bench-publish version to the forge (untimed),
// gets the environment of a GitHub Actions job building that commit from
// the OIDC issuer (untimed), and times the whole
// `provenant publish --provenance` process: identity token, certificate,
// signature, log entry, upload and the registry's verification.
func (d *devStack) publish(ctx context.Context, k int) (time.Duration, error) {
	work := filepath.Join(d.dir, "repo")
	bare := filepath.Join(d.dir, "data", "forge", filepath.FromSlash(devRepository)+".git")
	sha, err := commitPackage(ctx, work, bare, publishManifest(k))
	if err != nil {
		return 0, err
	}
	env, err := d.jobEnv(sha)
	if err != nil {
		return 0, err
	}
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	return timeCommand(ctx, work, kv, d.bin, "publish", "--provenance",
		"--registry", d.info.Registry+"/", "--token", d.token,
		"--signing-config", d.info.SigningConfig, "--trusted-root", d.info.TrustedRoot, ".")
}

// jobEnv asks the dev stack's OIDC issuer for the environment of a GitHub
// Actions job (POST /oidc/job-env).
func (d *devStack) jobEnv(sha string) (map[string]string, error) {
	spec, err := json.Marshal(map[string]string{
		"repository": devRepository, "sha": sha, "ref": "refs/heads/main",
		"workflow": devWorkflow, "workflowName": "release",
	})
	if err != nil {
		return nil, err
	}
	resp, err := http.Post(d.info.Trust+"/oidc/job-env", "application/json", bytes.NewReader(spec))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("job env: %s: %s", resp.Status, raw)
	}
	var out struct {
		Env map[string]string `json:"env"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Env) == 0 {
		return nil, fmt.Errorf("job env: no env in %s", raw)
	}
	return out.Env, nil
}

// commitPackage writes m into the work tree, commits and pushes it to the
// bare repository the forge serves, and returns the commit.
func commitPackage(ctx context.Context, work, bare string, m map[string]any) (string, error) {
	if _, err := os.Stat(bare); err != nil {
		if err := os.MkdirAll(bare, 0o755); err != nil {
			return "", err
		}
		if _, err := git(ctx, bare, "init", "--bare", "--quiet", "--initial-branch=main"); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(work, ".git")); err != nil {
		if err := os.MkdirAll(work, 0o755); err != nil {
			return "", err
		}
		if _, err := git(ctx, work, "init", "--quiet", "--initial-branch=main"); err != nil {
			return "", err
		}
	}
	if err := writePackageDir(work, m); err != nil {
		return "", err
	}
	steps := [][]string{
		{"add", "--all"},
		{"-c", "user.name=Provenant Bench", "-c", "user.email=bench@provenant.invalid", "commit", "--quiet", "--allow-empty", "--no-gpg-sign", "-m", fmt.Sprintf("release %s", m["version"])},
		{"push", "--quiet", "--force", bare, "HEAD:refs/heads/main"},
	}
	for _, s := range steps {
		if _, err := git(ctx, work, s...); err != nil {
			return "", err
		}
	}
	return git(ctx, work, "rev-parse", "HEAD")
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func (d *devStack) stop() {
	if d.t != nil {
		d.t.stop()
	}
}
