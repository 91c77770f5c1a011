package compat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// yarnBerry is the pinned yarn 4.x with its global folder and cache in
// temp dirs. Each project folder gets a .yarnrc.yml from rc.
type yarnBerry struct {
	*client
	r     *liveRegistry
	token string
}

func newYarnBerry(t *testing.T, r *liveRegistry, token string) *yarnBerry {
	t.Helper()
	nm := clients(t)
	home := t.TempDir()
	env := append(baseEnv(home), "YARN_ENABLE_TELEMETRY=0", "YARN_ENABLE_GLOBAL_CACHE=0",
		"YARN_GLOBAL_FOLDER="+filepath.Join(home, "global"), "YARN_CACHE_FOLDER="+filepath.Join(home, "cache"),
		"YARN_ENABLE_PROGRESS_BARS=0", "YARN_ENABLE_INLINE_BUILDS=0", "YARN_ENABLE_HYPERLINKS=0")
	c := &client{t: t, name: "yarn4", argv: []string{"node", filepath.Join(nm, "@yarnpkg", "cli-dist", "bin", "yarn.js")}, home: home, env: env}
	return &yarnBerry{client: c, r: r, token: token}
}

// project makes dir a yarn project: a .yarnrc.yml pointing at the
// registry and an empty yarn.lock. (A global enableNetwork: false with a
// per-host exception for 127.0.0.1 would fence yarn in, but yarn add then
// refuses to resolve tags; the registry's request log shows the traffic.)
// Yarn's age gate (npmMinimalAgeGate, one day by default, read from the
// packument's time field) is off unless keepAgeGate.
func (y *yarnBerry) project(dir string, keepAgeGate ...bool) {
	t := y.t
	t.Helper()
	must(t, os.MkdirAll(dir, 0o755))
	rc := map[string]any{
		"npmRegistryServer":   y.r.URL,
		"unsafeHttpWhitelist": []string{"127.0.0.1"},
		"nodeLinker":          "node-modules",
		"enableTelemetry":     false,
	}
	if len(keepAgeGate) == 0 || !keepAgeGate[0] {
		rc["npmMinimalAgeGate"] = "0"
	}
	if y.token != "" {
		rc["npmAuthToken"] = y.token
	}
	b, err := yaml.Marshal(rc)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, ".yarnrc.yml"), b, 0o644))
	if _, err := os.Stat(filepath.Join(dir, "yarn.lock")); os.IsNotExist(err) {
		must(t, os.WriteFile(filepath.Join(dir, "yarn.lock"), nil, 0o644))
	}
}

// berryLock is the part of a yarn 4 lockfile the tests read.
type berryLock map[string]struct {
	Version    string `yaml:"version"`
	Resolution string `yaml:"resolution"`
	Checksum   string `yaml:"checksum"`
}

func readBerryLock(t *testing.T, dir string) berryLock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "yarn.lock"))
	must(t, err)
	var l berryLock
	if err := yaml.Unmarshal(b, &l); err != nil {
		t.Fatalf("yarn.lock: %v\n%s", err, b)
	}
	return l
}

// entry finds the lock entry whose key lists pattern.
func (l berryLock) entry(pattern string) (string, string) {
	for k, v := range l {
		for _, p := range strings.Split(k, ",") {
			if strings.TrimSpace(p) == pattern {
				return v.Version, v.Resolution
			}
		}
	}
	return "", ""
}

func TestYarnBerry(t *testing.T) {
	t.Parallel()
	r := newLiveRegistry(t)
	pub := newYarnBerry(t, r, r.addUser(t, "carol"))
	work := t.TempDir()

	// yarn npm publish of a plain and a scoped package.
	lib := filepath.Join(work, "lib")
	writePackage(t, lib, "yb-lib", "1.0.0", nil)
	pub.project(lib)
	// yarn publishes a workspace of an installed project.
	pub.must(lib, "install")
	if out := pub.must(lib, "npm", "whoami"); !strings.Contains(out, "YN0000: carol\n") {
		t.Fatalf("yarn npm whoami does not name carol:\n%s", out)
	}
	pub.must(lib, "npm", "publish")
	scoped := filepath.Join(work, "scoped")
	writePackage(t, scoped, "@yb/app", "0.1.0", map[string]string{"yb-lib": "^1.0.0"})
	pub.project(scoped)
	pub.must(scoped, "install")
	pub.must(scoped, "npm", "publish", "--access", "public")
	libV1 := r.published(t, "yb-lib", "1.0.0")
	app := r.published(t, "@yb/app", "0.1.0")
	if p := r.packument(t, "@yb/app"); p.DistTags["latest"] != "0.1.0" || p.Versions["0.1.0"].Dependencies["yb-lib"] != "^1.0.0" {
		t.Fatalf("@yb/app packument after yarn npm publish: %+v", p)
	}

	// yarn npm info reads the packument.
	var info struct {
		Name     string            `json:"name"`
		Version  string            `json:"version"`
		DistTags map[string]string `json:"dist-tags"`
		Dist     struct {
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	jsonOut(t, pub.must(lib, "npm", "info", "@yb/app", "--json"), &info)
	if info.Name != "@yb/app" || info.Version != "0.1.0" || info.Dist.Integrity != app.Integrity {
		t.Fatalf("yarn npm info @yb/app = %+v", info)
	}

	checkUnknown(t, r, pub.client, lib, "", "npm", "info")

	// A consumer without a token adds the scoped package, cold cache.
	use := newYarnBerry(t, r, "")
	proj := filepath.Join(work, "consumer")
	writeProject(t, proj, map[string]string{})
	// With yarn's default age gate, versions published a moment ago (by
	// the packument's time field) are quarantined.
	use.project(proj, true)
	if out, err := use.run(proj, "add", "@yb/app@^0.1.0"); err == nil || !strings.Contains(out, "quarantined") {
		t.Fatalf("yarn add under the default age gate: err %v\n%s", err, out)
	}
	use.project(proj)
	use.must(proj, "add", "@yb/app@^0.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@yb", "app"), app, "0.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yb-lib"), libV1, "1.0.0")
	r.checkPackumentForm(t, "yarn add", "@yb/app", false)
	r.checkPackumentForm(t, "yarn add", "yb-lib", false)
	lock := readBerryLock(t, proj)
	if v, res := lock.entry("@yb/app@npm:^0.1.0"); v != "0.1.0" || res != "@yb/app@npm:0.1.0" {
		t.Errorf("yarn.lock @yb/app = %s %s", v, res)
	}
	if v, res := lock.entry("yb-lib@npm:^1.0.0"); v != "1.0.0" || res != "yb-lib@npm:1.0.0" {
		t.Errorf("yarn.lock yb-lib = %s %s", v, res)
	}

	// A new version with --tag, and yarn npm tag add; yarn add picks the
	// tagged version.
	writePackage(t, lib, "yb-lib", "1.1.0", nil)
	pub.must(lib, "npm", "publish", "--tag", "next")
	p := r.packument(t, "yb-lib")
	if p.DistTags["latest"] != "1.0.0" || p.DistTags["next"] != "1.1.0" {
		t.Fatalf("dist-tags after yarn npm publish --tag next: %v", p.DistTags)
	}
	pub.must(lib, "npm", "tag", "add", "yb-lib@1.1.0", "stable")
	if got := r.packument(t, "yb-lib").DistTags["stable"]; got != "1.1.0" {
		t.Fatalf("dist-tag stable after yarn npm tag add = %q", got)
	}
	libV11 := r.published(t, "yb-lib", "1.1.0")
	use.must(proj, "add", "yb-lib@stable")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yb-lib"), libV11, "1.1.0")
	// yarn add saves a tag as a caret range on the version it names.
	if v, res := readBerryLock(t, proj).entry("yb-lib@npm:^1.1.0"); v != "1.1.0" || res != "yb-lib@npm:1.1.0" {
		t.Errorf("yarn.lock yb-lib@npm:^1.1.0 = %s %s, want 1.1.0", v, res)
	}

	// An immutable install into an empty node_modules and cache.
	must(t, os.RemoveAll(filepath.Join(proj, "node_modules")))
	newYarnBerry(t, r, "").must(proj, "install", "--immutable")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yb-lib"), libV11, "1.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@yb", "app", "node_modules", "yb-lib"), libV1, "1.0.0")

	// Publishing without a token is refused and changes nothing.
	writePackage(t, lib, "yb-lib", "1.2.0", nil)
	use.project(lib)
	use.must(lib, "install")
	if out, err := use.run(lib, "npm", "publish"); err == nil {
		t.Fatalf("yarn npm publish without a token succeeded:\n%s", out)
	}
	if _, ok := r.packument(t, "yb-lib").Versions["1.2.0"]; ok {
		t.Fatal("an unauthenticated yarn npm publish stored a version")
	}
}
