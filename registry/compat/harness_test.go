// Package compat_test drives the real pnpm, yarn classic (1.x) and yarn
// berry (4.x) clients, installed at test time from the npm registry, against
// a live Provenant registry on 127.0.0.1: publish, view, dist-tags and
// installs, checked against what the registry serves.
package compat_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

// The client versions under test, pinned. pnpm 11 and later need Node 22;
// CI runs Node 20, so pnpm stays on the 10.x line.
const (
	pnpmVersion      = "10.34.9"
	yarnClassicVer   = "1.22.22"
	yarnBerryVersion = "4.18.1"
)

// clientTimeout bounds one client command.
const clientTimeout = 3 * time.Minute

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

var (
	clientsOnce sync.Once
	clientsDir  string
	clientsErr  error
)

// clients returns the node_modules directory holding the pinned clients,
// installing them with npm into the user cache directory on first use.
func clients(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed", bin)
		}
	}
	clientsOnce.Do(func() { clientsDir, clientsErr = installClients() })
	if clientsErr != nil {
		t.Fatal(clientsErr)
	}
	return clientsDir
}

func installClients() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	specs := []string{"pnpm@" + pnpmVersion, "yarn@" + yarnClassicVer, "@yarnpkg/cli-dist@" + yarnBerryVersion}
	root := filepath.Join(base, "provenant-compat")
	dir := filepath.Join(root, strings.NewReplacer("/", "_", "@", "_").Replace(strings.Join(specs, "+")))
	nm := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(nm, ".complete")); err == nil {
		return nm, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, "tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The caller's npm configuration (registry, mirror) applies here only.
	args := append([]string{"install", "--prefix", tmp, "--no-audit", "--no-fund", "--ignore-scripts",
		"--no-package-lock"}, specs...)
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %v\n%s", strings.Join(specs, " "), err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, "node_modules", ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(nm, ".complete")); serr == nil {
			return nm, nil // another process won the race
		}
		return "", err
	}
	return nm, nil
}

// liveRegistry is a Provenant registry served on 127.0.0.1 with the real
// verifier. Its policy does not require provenance, so plain publishes are
// accepted. It records the requests it receives.
type liveRegistry struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
	gets []served
}

// served is one GET the registry answered.
type served struct {
	path, accept, contentType string
	status                    int
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func newLiveRegistry(t *testing.T) *liveRegistry {
	t.Helper()
	sig := verifytest.New(t)
	no := false
	srv, err := registry.New(context.Background(), registry.Config{
		DataDir: t.TempDir(), SweepInterval: -1,
		Verification: verify.Config{
			TrustedRoots: []verify.RootConfig{{Name: verify.RootPrivate, JSON: sig.TrustedRootJSON()}},
			Policy:       verify.Policy{Default: verify.Rules{ProvenanceRequired: &no}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &liveRegistry{}
	h := srv.Handler()
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, req)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.RequestURI())
		if req.Method == http.MethodGet && req.UserAgent() != testAgent {
			r.gets = append(r.gets, served{req.URL.EscapedPath(), req.Header.Get("Accept"), w.Header().Get("Content-Type"), sw.status})
		}
	}))
	t.Cleanup(func() {
		r.Close()
		srv.Close()
		if t.Failed() {
			t.Logf("requests the registry received:\n%s", strings.Join(r.requests(), "\n"))
		}
	})
	return r
}

func (r *liveRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// checkPackumentForm checks that the client got the packument of name in
// the form it asked for: abbreviated (npm's
// application/vnd.npm.install-v1+json, which pnpm and yarn 1 ask for when
// they install) or full (yarn 4 asks without an Accept header, since its
// age gate reads the full packument's time field).
func (r *liveRegistry) checkPackumentForm(t *testing.T, client, name string, abbreviated bool) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	p := "/" + npmwire.EscapeName(name)
	want := "application/json"
	if abbreviated {
		want = npmwire.MediaTypeAbbreviated
	}
	ok := false
	var seen []string
	for _, g := range r.gets {
		if !strings.EqualFold(g.path, p) {
			continue
		}
		seen = append(seen, fmt.Sprintf("Accept %q: %d %q", g.accept, g.status, g.contentType))
		if g.status != http.StatusOK || strings.Contains(g.accept, npmwire.MediaTypeAbbreviated) != abbreviated {
			continue
		}
		if !strings.HasPrefix(g.contentType, want) {
			t.Errorf("%s: GET %s (Accept %q) answered %q, want %s", client, g.path, g.accept, g.contentType, want)
		}
		ok = true
	}
	if !ok {
		t.Errorf("%s never got the %s packument of %s; its GETs:\n%s", client, want, name, strings.Join(seen, "\n"))
	}
}

// hostPath is the registry URL without its scheme, as .npmrc auth keys
// spell it: "//127.0.0.1:1234/".
func (r *liveRegistry) hostPath() string { return strings.TrimPrefix(r.URL, "http:") + "/" }

// addUser creates an account over npm's adduser call and returns its token.
func (r *liveRegistry) addUser(t *testing.T, name string) string {
	t.Helper()
	body, _ := json.Marshal(npmwire.AddUserRequest{ID: "org.couchdb.user:" + name, Name: name, Password: "correct horse battery", Email: name + "@example.com", Type: "user"})
	req, _ := http.NewRequest(http.MethodPut, r.URL+"/-/user/org.couchdb.user:"+name, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out npmwire.AddUserResponse
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &out) != nil || out.Token == "" {
		t.Fatalf("adduser %s: %d %s", name, resp.StatusCode, b)
	}
	return out.Token
}

// packument is the part of a full packument the tests read.
type packument struct {
	Name     string            `json:"name"`
	DistTags map[string]string `json:"dist-tags"`
	Versions map[string]struct {
		Version string `json:"version"`
		Dist    struct {
			Integrity string `json:"integrity"`
			Shasum    string `json:"shasum"`
			Tarball   string `json:"tarball"`
		} `json:"dist"`
		Dependencies map[string]string `json:"dependencies"`
	} `json:"versions"`
}

// testAgent marks the test's own requests, which checkPackumentForm
// leaves out.
const testAgent = "provenant-compat-test"

func (r *liveRegistry) get(t *testing.T, p string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", testAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", p, resp.StatusCode, err, b)
	}
	return b
}

func (r *liveRegistry) packument(t *testing.T, name string) packument {
	t.Helper()
	var p packument
	if err := json.Unmarshal(r.get(t, "/"+npmwire.EscapeName(name)), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// published is one version as the registry serves it, with the tarball's
// bytes checked against dist.integrity and dist.shasum.
type published struct {
	Integrity string
	Shasum    string
	Tarball   string
	Files     map[string][]byte // tarball entries, "package/" stripped
}

func (r *liveRegistry) published(t *testing.T, name, version string) published {
	t.Helper()
	p := r.packument(t, name)
	v, ok := p.Versions[version]
	if !ok {
		t.Fatalf("%s@%s is not in the packument (versions %v)", name, version, keys(p.Versions))
	}
	u, err := url.Parse(v.Dist.Tarball)
	if err != nil || u.Host != strings.TrimPrefix(r.URL, "http://") {
		t.Fatalf("dist.tarball %q does not point at the registry %s", v.Dist.Tarball, r.URL)
	}
	tgz := r.get(t, u.RequestURI())
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(s512[:]); got != v.Dist.Integrity {
		t.Fatalf("%s@%s: tarball sha512 %s, dist.integrity %s", name, version, got, v.Dist.Integrity)
	}
	if got := hex.EncodeToString(s1[:]); got != v.Dist.Shasum {
		t.Fatalf("%s@%s: tarball sha1 %s, dist.shasum %s", name, version, got, v.Dist.Shasum)
	}
	return published{Integrity: v.Dist.Integrity, Shasum: v.Dist.Shasum, Tarball: v.Dist.Tarball, Files: untar(t, tgz)}
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// untar returns the regular files of a package tarball by path under
// the tarball's top folder.
func untar(t *testing.T, tgz []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		_, rest, _ := strings.Cut(path.Clean(h.Name), "/")
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[rest] = b
	}
}

// checkInstalled compares an installed package folder with the published
// tarball: every file of the tarball is there with the same bytes, and the
// installed package.json names the version.
func checkInstalled(t *testing.T, dir string, pub published, version string) {
	t.Helper()
	var m struct{ Version string }
	if err := json.Unmarshal(pub.Files["package.json"], &m); err != nil || m.Version != version {
		t.Errorf("published package.json for %s: version %q, want %s (%v)", dir, m.Version, version, err)
	}
	for name, want := range pub.Files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("installed %s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("installed %s in %s differs from the published tarball", name, dir)
		}
	}
}

// writePackage writes a package folder with a package.json, an index.js
// and a nested file whose contents name the package and version.
func writePackage(t *testing.T, dir, name, version string, deps map[string]string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"name": name, "version": version, "description": "compat test package " + name,
		"main": "index.js", "license": "MIT", "repository": "https://example.com/" + name + ".git"}
	if len(deps) > 0 {
		m["dependencies"] = deps
	}
	pj, _ := json.MarshalIndent(m, "", "  ")
	must(t, os.WriteFile(filepath.Join(dir, "package.json"), append(pj, '\n'), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "index.js"), []byte("module.exports = require('./lib/id');\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "lib", "id.js"), []byte(fmt.Sprintf("module.exports = %q;\n", name+"@"+version)), 0o644))
}

// writeProject writes a consuming project's package.json.
func writeProject(t *testing.T, dir string, deps map[string]string) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	pj, _ := json.MarshalIndent(map[string]any{"name": "consumer", "version": "0.0.0", "private": true, "dependencies": deps}, "", "  ")
	must(t, os.WriteFile(filepath.Join(dir, "package.json"), append(pj, '\n'), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// client runs one real client with an isolated HOME, config and cache.
type client struct {
	t    *testing.T
	name string
	argv []string // command prefix, e.g. node /path/pnpm.cjs
	home string
	env  []string
}

// deadProxy is where the clients would send any request not meant for
// 127.0.0.1: nothing listens there, so such a request fails the test
// instead of reaching the internet.
const deadProxy = "http://127.0.0.1:9"

// baseEnv is the environment without the caller's npm, pnpm, yarn and
// proxy settings, with HOME and the XDG folders under home.
func baseEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "npm_") || strings.HasPrefix(lk, "pnpm_") || strings.HasPrefix(lk, "yarn_") ||
			strings.HasPrefix(lk, "corepack_") || strings.HasSuffix(lk, "_proxy") || lk == "home" ||
			strings.HasPrefix(lk, "xdg_") || lk == "ci" || lk == "node_options" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local/share"), "XDG_STATE_HOME="+filepath.Join(home, ".local/state"),
		"COREPACK_ENABLE_STRICT=0", "COREPACK_ENABLE_AUTO_PIN=0", "NO_COLOR=1", "FORCE_COLOR=0",
		"HTTP_PROXY="+deadProxy, "HTTPS_PROXY="+deadProxy, "http_proxy="+deadProxy, "https_proxy="+deadProxy,
		"NO_PROXY=127.0.0.1", "no_proxy=127.0.0.1",
	)
}

func (c *client) run(dir string, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	argv := append(slices.Clone(c.argv), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = strings.NewReader("")
	err := cmd.Run()
	return out.String(), err
}

func (c *client) must(dir string, args ...string) string {
	c.t.Helper()
	out, err := c.run(dir, args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", c.name, strings.Join(args, " "), err, out)
	}
	return out
}

// jsonOut returns the first JSON document in a client's output that
// unmarshals into v (clients print warnings around their JSON).
func jsonOut(t *testing.T, out string, v any) {
	t.Helper()
	for i := strings.IndexAny(out, "{["); i >= 0; {
		dec := json.NewDecoder(strings.NewReader(out[i:]))
		if err := dec.Decode(v); err == nil {
			return
		}
		j := strings.IndexAny(out[i+1:], "{[")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	t.Fatalf("no JSON in output:\n%s", out)
}

// checkUnknown runs a client command that reads a package only the public
// npm registry has: it must fail (exit status, or failMarker in the output
// for clients that exit 0 on a 404), after asking our registry for it.
func checkUnknown(t *testing.T, r *liveRegistry, c *client, dir, failMarker string, args ...string) {
	t.Helper()
	const name = "left-pad"
	out, err := c.run(dir, append(args, name)...)
	if err == nil && (failMarker == "" || !strings.Contains(out, failMarker)) {
		t.Fatalf("%s %s %s succeeded; the package exists only on the public registry:\n%s", c.name, strings.Join(args, " "), name, out)
	}
	if !slices.Contains(r.requests(), "GET /"+name) {
		t.Fatalf("%s %s %s did not ask the registry under test for %s:\n%s", c.name, strings.Join(args, " "), name, name, out)
	}
}
