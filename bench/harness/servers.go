package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/npmwire"
)

// A target is one server under test: how to start it, where it listens.
type target struct {
	// Name is the label in the results: provenant, verdaccio or ceiling.
	Name string
	// Addr is the loopback host:port, fixed for the whole run so that the
	// tarball URLs a registry stored stay valid across restarts.
	Addr string
	// Argv and Env start the server process.
	Argv []string
	Env  []string
	// Log receives the server's stdout and stderr.
	Log string
	// ReadyPath is the path whose first 200 marks the end of startup.
	ReadyPath string

	proc *exec.Cmd
	done chan struct{}
}

// Base is the server's base URL.
func (t *target) Base() string { return "http://" + t.Addr }

// freeAddr returns an unused loopback address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start launches the server and returns the time from exec to its first
// successful (200) answer on ReadyPath.
func (t *target) start(ctx context.Context) (time.Duration, error) {
	if t.proc != nil {
		return 0, fmt.Errorf("%s is already running", t.Name)
	}
	logf, err := os.OpenFile(t.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(t.Argv[0], t.Argv[1:]...)
	cmd.Env = append(os.Environ(), t.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, fmt.Errorf("start %s: %w", t.Name, err)
	}
	t.proc, t.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(t.done) }()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := begin.Add(60 * time.Second)
	for {
		select {
		case <-t.done:
			t.proc = nil
			return 0, fmt.Errorf("%s exited during startup (see %s)", t.Name, t.Log)
		case <-ctx.Done():
			t.stop()
			return 0, ctx.Err()
		default:
		}
		resp, err := client.Get(t.Base() + t.ReadyPath)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(begin), nil
			}
		}
		if time.Now().After(deadline) {
			t.stop()
			return 0, fmt.Errorf("%s not ready after 60s (last error %v)", t.Name, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// stop ends the server: SIGTERM to its process group, then SIGKILL after 10 s.
func (t *target) stop() {
	if t.proc == nil {
		return
	}
	pgid := t.proc.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-t.done
	}
	t.proc = nil
}

// rss returns the resident set size of the server process in bytes.
func (t *target) rss() (int64, error) {
	if t.proc == nil {
		return 0, fmt.Errorf("%s is not running", t.Name)
	}
	return readRSS(t.proc.Process.Pid)
}

// readRSS reads VmRSS from /proc/PID/status.
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(b)
}

// parseVmRSS extracts VmRSS (in bytes) from the text of /proc/PID/status.
func parseVmRSS(status []byte) (int64, error) {
	for line := range strings.SplitSeq(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS: %w", err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line in status")
}

// verdaccioConfig is the peer's configuration: local storage, htpasswd
// users, no uplinks, every package served locally, web UI off and logging
// at error level (so neither side pays for request logs).
const verdaccioConfig = `# Written by the Provenant benchmark harness.
storage: %s
auth:
  htpasswd:
    file: %s
    max_users: 1000
uplinks: {}
packages:
  '@*/*':
    access: $all
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
web:
  enable: false
log: { type: stdout, format: json, level: error }
`

// newVerdaccio prepares the peer's configuration under dir.
func newVerdaccio(dir, node, entry string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(verdaccioConfig, filepath.Join(dir, "storage"), filepath.Join(dir, "htpasswd"))
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return nil, err
	}
	return &target{
		Name:      "verdaccio",
		Addr:      addr,
		Argv:      []string{node, entry, "--config", cfg, "--listen", addr},
		Env:       []string{"NODE_ENV=production"},
		Log:       filepath.Join(dir, "server.log"),
		ReadyPath: "/" + benchPackage,
	}, nil
}

// provenantConfig is the registry's configuration: it trusts the
// public-good Sigstore root, as an operator's registry would. The publish
// rate limit is off because the seed publishes about 900 versions with one
// token, over the default burst (Verdaccio has no such limit).
const provenantConfig = `# Written by the Provenant benchmark harness.
rateLimits:
  publishPerMinute: -1
verification:
  trustedRoots:
    - name: public-good
      path: %s
`

// newProvenant prepares a provenant registry on its own data directory,
// trusting the public-good root at trustedRoot and logging at error level
// like the peer.
func newProvenant(dir, bin, trustedRoot string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, provenantConfig, trustedRoot), 0o644); err != nil {
		return nil, err
	}
	return &target{
		Name:      "provenant",
		Addr:      addr,
		Argv:      []string{bin, "registry", "--config", cfg, "--data-dir", data, "--addr", addr, "--log-level", "error"},
		Log:       filepath.Join(dir, "server.log"),
		ReadyPath: "/" + benchPackage,
	}, nil
}

// newCeiling prepares the bare Go server over the files in dir.
func newCeiling(dir, bin string) (*target, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &target{
		Name:      "ceiling",
		Addr:      addr,
		Argv:      []string{bin, "-addr", addr, "-dir", dir},
		Log:       filepath.Join(dir, "server.log"),
		ReadyPath: "/" + benchPackage,
	}, nil
}

// publicGoodRoot returns the path of the public-good Sigstore
// trusted_root.json under work, extracting it on first use from the
// seeds.json of the @sigstore/tuf package (fetched with npm pack).
func publicGoodRoot(ctx context.Context, work string) (string, error) {
	path := filepath.Join(work, "public-good-trusted_root.json")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp, err := os.MkdirTemp(work, "tuf-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	out, err := exec.CommandContext(ctx, "npm", "pack", "@sigstore/tuf", "--silent", "--pack-destination", tmp).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm pack @sigstore/tuf: %w: %s", err, out)
	}
	tgzs, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgzs) != 1 {
		return "", fmt.Errorf("npm pack @sigstore/tuf: want one tarball, found %v", tgzs)
	}
	tgz, err := os.ReadFile(tgzs[0])
	if err != nil {
		return "", err
	}
	root, err := realworld.PublicGoodTrustedRootFromTarball(tgz)
	if err != nil {
		return "", err
	}
	return path, os.WriteFile(path, root, 0o644)
}

// addUser creates a user on a registry with npm's adduser call and returns
// the token (PUT /-/user/org.couchdb.user:NAME, npm-protocol.md).
func addUser(base, name, password string) (string, error) {
	body, err := json.Marshal(npmwire.AddUserRequest{
		ID: "org.couchdb.user:" + name, Name: name, Password: password,
		Email: name + "@provenant.invalid", Type: "user", Roles: []string{},
		Date: time.Now().UTC().Format(time.RFC3339),
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequest(http.MethodPut, base+"/-/user/org.couchdb.user:"+name, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("adduser on %s: %s: %s", base, resp.Status, raw)
	}
	// Only the token is read: Verdaccio answers "ok" with a string where
	// npmwire.AddUserResponse has a bool.
	var ar struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &ar); err != nil || ar.Token == "" {
		return "", fmt.Errorf("adduser on %s: no token in %s", base, raw)
	}
	return ar.Token, nil
}

// put publishes one version with npm's publish PUT.
func put(client *http.Client, base, token string, pv pkgVersion) error {
	body, err := publishBody(pv, base)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, base+"/"+npmwire.EscapeName(pv.Name), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("npm-command", "publish")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish %s@%s: %s: %s", pv.Name, pv.Version, resp.Status, raw)
	}
	return nil
}

// get fetches base+path with an optional Accept header and returns the body
// of a 200 answer.
func get(base, path, accept string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s%s: %s", base, path, resp.Status)
	}
	return b, nil
}
