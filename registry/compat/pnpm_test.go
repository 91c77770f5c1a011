package compat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// newPNPM returns the pinned pnpm with HOME, .npmrc, store and cache in
// temp dirs; token, when set, authenticates to the registry.
func newPNPM(t *testing.T, r *liveRegistry, token string) *client {
	t.Helper()
	nm := clients(t)
	home := t.TempDir()
	rc := "registry=" + r.URL + "/\n" +
		"store-dir=" + filepath.Join(home, "store") + "\n" +
		"cache-dir=" + filepath.Join(home, "cache") + "\n" +
		"state-dir=" + filepath.Join(home, "state") + "\n" +
		"update-notifier=false\nfund=false\naudit=false\n"
	if token != "" {
		rc += r.hostPath() + ":_authToken=" + token + "\n"
	}
	npmrc := filepath.Join(home, ".npmrc")
	must(t, os.WriteFile(npmrc, []byte(rc), 0o600))
	env := append(baseEnv(home), "npm_config_userconfig="+npmrc)
	return &client{t: t, name: "pnpm", argv: []string{"node", filepath.Join(nm, "pnpm", "bin", "pnpm.cjs")}, home: home, env: env}
}

// pnpmLock is the part of pnpm-lock.yaml (lockfile v9) the tests read.
type pnpmLock struct {
	LockfileVersion string `yaml:"lockfileVersion"`
	Importers       map[string]struct {
		Dependencies map[string]struct {
			Specifier string `yaml:"specifier"`
			Version   string `yaml:"version"`
		} `yaml:"dependencies"`
	} `yaml:"importers"`
	Packages map[string]struct {
		Resolution struct {
			Integrity string `yaml:"integrity"`
			Tarball   string `yaml:"tarball"`
		} `yaml:"resolution"`
	} `yaml:"packages"`
}

func readPNPMLock(t *testing.T, dir string) pnpmLock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pnpm-lock.yaml"))
	must(t, err)
	var l pnpmLock
	if err := yaml.Unmarshal(b, &l); err != nil {
		t.Fatalf("pnpm-lock.yaml: %v\n%s", err, b)
	}
	return l
}

func TestPNPM(t *testing.T) {
	t.Parallel()
	r := newLiveRegistry(t)
	pub := newPNPM(t, r, r.addUser(t, "alice"))
	work := t.TempDir()

	// pnpm publish of a plain package and of a scoped one depending on it.
	lib := filepath.Join(work, "lib")
	writePackage(t, lib, "pn-lib", "1.0.0", nil)
	pub.must(lib, "publish", "--no-git-checks")
	scoped := filepath.Join(work, "scoped")
	writePackage(t, scoped, "@pn/app", "0.1.0", map[string]string{"pn-lib": "^1.0.0"})
	pub.must(scoped, "publish", "--no-git-checks", "--access", "public")

	p := r.packument(t, "pn-lib")
	if p.DistTags["latest"] != "1.0.0" || len(p.Versions) != 1 {
		t.Fatalf("packument after pnpm publish: dist-tags %v versions %v", p.DistTags, keys(p.Versions))
	}
	libV1 := r.published(t, "pn-lib", "1.0.0")
	app := r.published(t, "@pn/app", "0.1.0")

	// pnpm view / pnpm info read the packument.
	var view struct {
		Name     string            `json:"name"`
		Version  string            `json:"version"`
		DistTags map[string]string `json:"dist-tags"`
		Dist     struct {
			Integrity string `json:"integrity"`
			Tarball   string `json:"tarball"`
		} `json:"dist"`
		Dependencies map[string]string `json:"dependencies"`
	}
	jsonOut(t, pub.must(work, "view", "@pn/app", "--json"), &view)
	if view.Name != "@pn/app" || view.Version != "0.1.0" || view.Dist.Integrity != app.Integrity || view.Dependencies["pn-lib"] != "^1.0.0" {
		t.Fatalf("pnpm view @pn/app = %+v", view)
	}
	// pnpm passes view and info to npm, which warns about pnpm's settings
	// first; the value is the last line.
	if got := lastLine(pub.must(work, "info", "pn-lib", "dist.integrity")); got != libV1.Integrity {
		t.Fatalf("pnpm info pn-lib dist.integrity = %q, want %s", got, libV1.Integrity)
	}

	checkUnknown(t, r, pub, work, "", "view")

	// A consumer without a token, cold store: pnpm install resolves the
	// scoped package and its dependency from the registry.
	use := newPNPM(t, r, "")
	proj := filepath.Join(work, "consumer")
	writeProject(t, proj, map[string]string{"@pn/app": "^0.1.0"})
	use.must(proj, "install")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@pn", "app"), app, "0.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", ".pnpm", "pn-lib@1.0.0", "node_modules", "pn-lib"), libV1, "1.0.0")
	r.checkPackumentForm(t, "pnpm install", "@pn/app", true)
	r.checkPackumentForm(t, "pnpm install", "pn-lib", true)
	lock := readPNPMLock(t, proj)
	if got := lock.Packages["@pn/app@0.1.0"].Resolution.Integrity; got != app.Integrity {
		t.Errorf("pnpm-lock.yaml @pn/app integrity %q, registry %s", got, app.Integrity)
	}
	if got := lock.Packages["pn-lib@1.0.0"].Resolution.Integrity; got != libV1.Integrity {
		t.Errorf("pnpm-lock.yaml pn-lib integrity %q, registry %s", got, libV1.Integrity)
	}

	// A new version, then pnpm dist-tag add, and pnpm add picks them up.
	writePackage(t, lib, "pn-lib", "1.1.0", nil)
	pub.must(lib, "publish", "--no-git-checks")
	writePackage(t, lib, "pn-lib", "2.0.0-rc.1", nil)
	pub.must(lib, "publish", "--no-git-checks", "--tag", "next")
	pub.must(work, "dist-tag", "add", "pn-lib@1.1.0", "stable")
	p = r.packument(t, "pn-lib")
	if p.DistTags["latest"] != "1.1.0" || p.DistTags["next"] != "2.0.0-rc.1" || p.DistTags["stable"] != "1.1.0" {
		t.Fatalf("dist-tags after publishes and pnpm dist-tag add: %v", p.DistTags)
	}
	libV11 := r.published(t, "pn-lib", "1.1.0")
	use.must(proj, "add", "pn-lib@stable")
	checkInstalled(t, filepath.Join(proj, "node_modules", "pn-lib"), libV11, "1.1.0")
	lock = readPNPMLock(t, proj)
	if d := lock.Importers["."].Dependencies["pn-lib"]; d.Version != "1.1.0" {
		t.Errorf("pnpm-lock.yaml importer pn-lib = %+v, want version 1.1.0", d)
	}
	if got := lock.Packages["pn-lib@1.1.0"].Resolution.Integrity; got != libV11.Integrity {
		t.Errorf("pnpm-lock.yaml pn-lib@1.1.0 integrity %q, registry %s", got, libV11.Integrity)
	}
	rc := r.published(t, "pn-lib", "2.0.0-rc.1")
	use.must(proj, "add", "pn-lib@next")
	checkInstalled(t, filepath.Join(proj, "node_modules", "pn-lib"), rc, "2.0.0-rc.1")

	// A frozen-lockfile install from scratch reproduces the lockfile.
	must(t, os.RemoveAll(filepath.Join(proj, "node_modules")))
	fresh := newPNPM(t, r, "")
	fresh.must(proj, "install", "--frozen-lockfile")
	checkInstalled(t, filepath.Join(proj, "node_modules", "pn-lib"), rc, "2.0.0-rc.1")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@pn", "app"), app, "0.1.0")

	// Publishing without a token is refused and changes nothing.
	writePackage(t, lib, "pn-lib", "1.2.0", nil)
	if out, err := use.run(lib, "publish", "--no-git-checks"); err == nil {
		t.Fatalf("pnpm publish without a token succeeded:\n%s", out)
	}
	if _, ok := r.packument(t, "pn-lib").Versions["1.2.0"]; ok {
		t.Fatal("an unauthenticated pnpm publish stored a version")
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
