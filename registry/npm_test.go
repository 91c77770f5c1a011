package registry

import (
	"bytes"
	"context"
	"encoding/json"
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

	// npm login (legacy) with the same account gets a second token.
	n2 := newNPMEnv(t, r.URL)
	if out, err := n2.interactive(work, creds[:2], "login", "--auth-type=legacy"); err != nil {
		t.Fatalf("npm login: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(n2.must(work, "whoami")); got != "alice" {
		t.Fatalf("whoami after login = %q", got)
	}
	if out, err := n2.interactive(work, [][2]string{{"Username:", "alice"}, {"Password:", "wrong password!"}}, "login", "--auth-type=legacy"); err == nil {
		t.Fatalf("npm login with a wrong password succeeded:\n%s", out)
	}

	// publish two packages (one scoped), no provenance: the policy allows it.
	pkgDir := filepath.Join(work, "demo")
	writePackage(t, pkgDir, "demo-pkg", "1.0.0")
	n.must(pkgDir, "publish")
	scoped := filepath.Join(work, "scoped")
	writePackage(t, scoped, "@acme/widget", "0.1.0", `"dependencies":{"demo-pkg":"^1.0.0"}`)
	n.must(scoped, "publish", "--access", "public")
	writePackage(t, pkgDir, "demo-pkg", "1.1.0")
	n.must(pkgDir, "publish")
	writePackage(t, pkgDir, "demo-pkg", "2.0.0-beta.1")
	n.must(pkgDir, "publish", "--tag", "beta")

	// republishing a version fails with npm's 403 wording.
	if out, err := n.run(pkgDir, "", "publish", "--tag", "beta"); err == nil || !strings.Contains(out, "previously published") {
		t.Fatalf("republish: err %v\n%s", err, out)
	}

	// view reads the packument.
	var view struct {
		Name     string            `json:"name"`
		Version  string            `json:"version"`
		DistTags map[string]string `json:"dist-tags"`
		Versions []string          `json:"versions"`
	}
	if err := json.Unmarshal([]byte(n.must(work, "view", "demo-pkg", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if view.Version != "1.1.0" || view.DistTags["beta"] != "2.0.0-beta.1" || strings.Join(view.Versions, ",") != "1.0.0,1.1.0,2.0.0-beta.1" {
		t.Fatalf("npm view = %+v", view)
	}
	if got := strings.TrimSpace(n.must(work, "view", "@acme/widget@0.1.0", "dependencies.demo-pkg")); got != "^1.0.0" {
		t.Fatalf("npm view scoped dependency = %q", got)
	}

	// install into a temp project: the scoped package pulls its dependency.
	proj := filepath.Join(work, "project")
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"project","version":"1.0.0","private":true}`), 0o644)
	n.must(proj, "install", "@acme/widget")
	cmd := exec.Command("node", "-e", `console.log(require("@acme/widget") + " " + require("demo-pkg"))`)
	cmd.Dir = proj
	if got, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(got)) != "@acme/widget@0.1.0 demo-pkg@1.1.0" {
		t.Fatalf("installed modules say %q (%v)", got, err)
	}

	// dist-tag add / ls / rm.
	n.must(work, "dist-tag", "add", "demo-pkg@1.0.0", "stable")
	if out := n.must(work, "dist-tag", "ls", "demo-pkg"); !strings.Contains(out, "stable: 1.0.0") || !strings.Contains(out, "latest: 1.1.0") {
		t.Fatalf("dist-tag ls:\n%s", out)
	}
	n.must(work, "dist-tag", "rm", "demo-pkg", "stable")
	if out := n.must(work, "dist-tag", "ls", "demo-pkg"); strings.Contains(out, "stable") {
		t.Fatalf("dist-tag rm left:\n%s", out)
	}

	// deprecate, then undeprecate.
	n.must(work, "deprecate", "demo-pkg@1.0.0", "use 1.1.0")
	if got := strings.TrimSpace(n.must(work, "view", "demo-pkg@1.0.0", "deprecated")); got != "use 1.1.0" {
		t.Fatalf("deprecated = %q", got)
	}
	n.must(work, "deprecate", "demo-pkg@1.0.0", "")
	if got := strings.TrimSpace(n.must(work, "view", "demo-pkg@1.0.0", "deprecated")); got != "" {
		t.Fatalf("undeprecated = %q", got)
	}

	// search.
	var hits []struct{ Name string }
	if err := json.Unmarshal([]byte(n.must(work, "search", "--json", "widget")), &hits); err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Name != "@acme/widget" {
		t.Fatalf("search = %+v", hits)
	}

	// another user cannot publish over alice's package.
	n3 := newNPMEnv(t, r.URL)
	if out, err := n3.interactive(work, [][2]string{{"Username:", "mallory"}, {"Password:", "mallory's password"}, {"Email", "m@example.com"}}, "adduser", "--auth-type=legacy"); err != nil {
		t.Fatalf("adduser mallory: %v\n%s", err, out)
	}
	writePackage(t, pkgDir, "demo-pkg", "9.0.0")
	if out, err := n3.run(pkgDir, "", "publish"); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("publish by non-owner: err %v\n%s", err, out)
	}

	// unpublish one version, then the whole package; numbers stay burnt.
	n.must(work, "unpublish", "demo-pkg@1.1.0")
	if err := json.Unmarshal([]byte(n.must(work, "view", "demo-pkg", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if strings.Join(view.Versions, ",") != "1.0.0,2.0.0-beta.1" || view.DistTags["latest"] != "1.0.0" {
		t.Fatalf("after unpublish: %+v", view)
	}
	writePackage(t, pkgDir, "demo-pkg", "1.1.0")
	if out, err := n.run(pkgDir, "", "publish", "--tag", "again"); err == nil {
		t.Fatalf("re-publish of an unpublished version succeeded:\n%s", out)
	}
	n.must(work, "unpublish", "demo-pkg", "--force")
	if out, err := n.run(work, "", "view", "demo-pkg"); err == nil || !strings.Contains(out, "404") {
		t.Fatalf("view after full unpublish: %v\n%s", err, out)
	}

	// tokens: list shows both of alice's, revoke one.
	out = n.must(work, "token", "list", "--json")
	var toks []struct{ Key string }
	if err := json.Unmarshal([]byte(out), &toks); err != nil || len(toks) != 2 {
		t.Fatalf("token list: %v\n%s", err, out)
	}
	n.must(work, "token", "revoke", toks[1].Key)
	if _, err := n2.run(work, "", "whoami"); err == nil {
		t.Fatalf("whoami with a revoked token succeeded")
	}
}
