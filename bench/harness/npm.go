package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// npmClient runs the npm CLI against one registry with its own user config,
// so that nothing from the user's ~/.npmrc leaks into a measurement.
type npmClient struct {
	// Registry is the registry's base URL.
	Registry string
	// Userconfig is the npmrc holding the registry and its token.
	Userconfig string
}

// newNPMClient writes an npmrc for base (with token, when set) under dir.
func newNPMClient(dir, base, token string) (*npmClient, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	lines := []string{
		"registry=" + base + "/",
		"audit=false",
		"fund=false",
		"update-notifier=false",
		"progress=false",
		"loglevel=error",
	}
	if token != "" {
		lines = append(lines, fmt.Sprintf("//%s/:_authToken=%s", u.Host, token))
	}
	rc := filepath.Join(dir, "npmrc")
	if err := os.WriteFile(rc, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return &npmClient{Registry: base + "/", Userconfig: rc}, nil
}

// run times one whole npm process in dir with a given cache directory.
func (c *npmClient) run(ctx context.Context, dir, cache string, args ...string) (time.Duration, error) {
	argv := append(args, "--userconfig", c.Userconfig, "--registry", c.Registry, "--cache", cache)
	return timeCommand(ctx, dir, nil, "npm", argv...)
}

// timeCommand runs a command to completion and returns its wall time; a
// failed command is an error carrying its output.
func timeCommand(ctx context.Context, dir string, env []string, name string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	begin := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(begin)
	if err != nil {
		return d, fmt.Errorf("%s %s in %s: %w\n%s", name, strings.Join(args, " "), dir, err, tail(out, 2000))
	}
	return d, nil
}

// cleanEnv is the harness's environment without npm configuration or CI
// variables, which would change what npm does (CI detection turns on
// different code paths).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "npm_config_") || strings.HasPrefix(k, "GITHUB_") || strings.HasPrefix(k, "ACTIONS_") ||
			strings.HasPrefix(k, "GITLAB_") || k == "CI" || k == "SIGSTORE_ID_TOKEN" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// npmPublish publishes the k-th bench-publish version with the npm CLI and
// returns the process's wall time.
func (c *npmClient) npmPublish(ctx context.Context, work string, k int) (time.Duration, error) {
	dir := filepath.Join(work, fmt.Sprintf("pkg-%d", k))
	if err := writePackageDir(dir, publishManifest(k)); err != nil {
		return 0, err
	}
	return c.run(ctx, dir, filepath.Join(work, "cache"), "publish", "--ignore-scripts", "--provenance=false")
}

// npmInstall installs the generated project from a cold cache: no cache,
// no node_modules and no lock file, so npm resolves every packument and
// fetches every tarball. It checks that all want packages were placed.
func (c *npmClient) npmInstall(ctx context.Context, project, work string, want int) (time.Duration, error) {
	cache := filepath.Join(work, "cache")
	for _, p := range []string{cache, filepath.Join(project, "node_modules"), filepath.Join(project, "package-lock.json")} {
		if err := os.RemoveAll(p); err != nil {
			return 0, err
		}
	}
	d, err := c.run(ctx, project, cache, "install", "--ignore-scripts", "--no-audit", "--no-fund")
	if err != nil {
		return d, err
	}
	got, err := filepath.Glob(filepath.Join(project, "node_modules", depPrefix+"*", "package.json"))
	if err != nil {
		return d, err
	}
	if len(got) != want {
		return d, fmt.Errorf("npm install from %s placed %d of %d packages", c.Registry, len(got), want)
	}
	return d, nil
}
