package registry

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// npmEnv runs the real npm CLI against a registry with its own HOME,
// user config and cache.
type npmEnv struct {
	t        *testing.T
	registry string
	home     string
	npmrc    string
}

func newNPMEnv(t *testing.T, registry string) *npmEnv {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed")
	}
	home := t.TempDir()
	npmrc := filepath.Join(home, ".npmrc")
	if err := os.WriteFile(npmrc, []byte("registry="+registry+"/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &npmEnv{t: t, registry: registry, home: home, npmrc: npmrc}
}

// run runs npm in dir with stdin and returns combined output.
func (n *npmEnv) run(dir, stdin string, args ...string) (string, error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = n.env()
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (n *npmEnv) env() []string {
	return append(os.Environ(),
		"HOME="+n.home, "npm_config_userconfig="+n.npmrc, "npm_config_cache="+filepath.Join(n.home, "cache"),
		"npm_config_registry="+n.registry+"/", "npm_config_update_notifier=false", "npm_config_fund=false",
		"npm_config_audit=false", "npm_config_loglevel=warn", "NO_COLOR=1", "CI=",
	)
}

// syncBuffer is a bytes.Buffer safe for one writer and polling readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// interactive runs npm and answers its prompts one at a time, each after
// the prompt appears (npm's prompt reader drops input typed ahead).
func (n *npmEnv) interactive(dir string, answers [][2]string, args ...string) (string, error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = n.env()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() {
		defer stdin.Close()
		seen := 0
		for _, a := range answers {
			for {
				s := out.String()
				if i := strings.Index(s[seen:], a[0]); i >= 0 {
					seen += i + len(a[0])
					break
				}
				if ctx.Err() != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			io.WriteString(stdin, a[1]+"\n")
		}
	}()
	err = cmd.Wait()
	return out.String(), err
}

func (n *npmEnv) must(dir string, args ...string) string {
	n.t.Helper()
	out, err := n.run(dir, "", args...)
	if err != nil {
		n.t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// writePackage writes a package folder.
func writePackage(t *testing.T, dir, name, version string, extra ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(pkgJSON(name, version, append([]string{`"description":"demo package ` + name + `"`, `"main":"index.js"`, `"keywords":["provenant-demo"]`}, extra...)...)), 0o644)
	os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = "+`"`+name+"@"+version+`"`+";\n"), 0o644)
}

func TestRealNPM(t *testing.T) {
	r := newTestRegistry(t)
	n := newNPMEnv(t, r.URL)
	work := t.TempDir()

	// npm adduser (legacy): the real CLI PUTs /-/user/org.couchdb.user:alice.
	creds := [][2]string{{"Username:", "alice"}, {"Password:", "correct horse battery"}, {"Email", "alice@example.com"}}
	out, err := n.interactive(work, creds, "adduser", "--auth-type=legacy")
	if err != nil {
		t.Fatalf("npm adduser: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(n.must(work, "whoami")); got != "alice" {
		t.Fatalf("whoami = %q", got)
	}
	t.Logf("adduser: %s", out)
}
