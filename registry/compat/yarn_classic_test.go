package compat_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newYarnClassic returns the pinned yarn 1.x with HOME, .yarnrc, .npmrc
// and cache in temp dirs; token, when set, authenticates to the registry.
func newYarnClassic(t *testing.T, r *liveRegistry, token string) *client {
	t.Helper()
	nm := clients(t)
	home := t.TempDir()
	yrc := "registry \"" + r.URL + "/\"\n" +
		"disable-self-update-check true\n" +
		"cache-folder \"" + filepath.Join(home, "cache") + "\"\n" +
		"global-folder \"" + filepath.Join(home, "global") + "\"\n"
	must(t, os.WriteFile(filepath.Join(home, ".yarnrc"), []byte(yrc), 0o600))
	rc := "registry=" + r.URL + "/\n"
	if token != "" {
		rc += r.hostPath() + ":_authToken=" + token + "\n"
	}
	must(t, os.WriteFile(filepath.Join(home, ".npmrc"), []byte(rc), 0o600))
	env := append(baseEnv(home), "YARN_CACHE_FOLDER="+filepath.Join(home, "cache"))
	return &client{t: t, name: "yarn1", argv: []string{"node", filepath.Join(nm, "yarn", "bin", "yarn.js")}, home: home, env: env}
}

// yarnLockEntry is one entry of a yarn.lock v1 file.
type yarnLockEntry struct {
	Version, Resolved, Integrity string
}

// readYarnClassicLock parses yarn.lock v1: unindented keys (one or more
// comma-separated patterns ending in ':') followed by indented fields.
func readYarnClassicLock(t *testing.T, dir string) map[string]yarnLockEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "yarn.lock"))
	must(t, err)
	defer f.Close()
	out := map[string]yarnLockEntry{}
	var patterns []string
	var cur yarnLockEntry
	flush := func() {
		for _, p := range patterns {
			out[p] = cur
		}
		patterns, cur = nil, yarnLockEntry{}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case !strings.HasPrefix(line, " "):
			flush()
			for _, p := range strings.Split(strings.TrimSuffix(line, ":"), ",") {
				patterns = append(patterns, strings.Trim(strings.TrimSpace(p), `"`))
			}
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "    "):
			k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
			v = strings.Trim(v, `"`)
			switch k {
			case "version":
				cur.Version = v
			case "resolved":
				cur.Resolved = v
			case "integrity":
				cur.Integrity = v
			}
		}
	}
	flush()
	return out
}

func TestYarnClassic(t *testing.T) {
	t.Parallel()
	r := newLiveRegistry(t)
	pub := newYarnClassic(t, r, r.addUser(t, "bob"))
	work := t.TempDir()

	// yarn publish, non-interactive, of a plain and a scoped package.
	lib := filepath.Join(work, "lib")
	writePackage(t, lib, "yc-lib", "1.0.0", nil)
	pub.must(lib, "publish", "--non-interactive", "--new-version", "1.0.0", "--no-git-tag-version")
	scoped := filepath.Join(work, "scoped")
	writePackage(t, scoped, "@yc/app", "0.1.0", map[string]string{"yc-lib": "^1.0.0"})
	pub.must(scoped, "publish", "--non-interactive", "--new-version", "0.1.0", "--no-git-tag-version", "--access", "public")
	libV1 := r.published(t, "yc-lib", "1.0.0")
	app := r.published(t, "@yc/app", "0.1.0")
	if p := r.packument(t, "@yc/app"); p.DistTags["latest"] != "0.1.0" || p.Versions["0.1.0"].Dependencies["yc-lib"] != "^1.0.0" {
		t.Fatalf("@yc/app packument after yarn publish: %+v", p)
	}

	// yarn info reads the packument.
	var info struct {
		Type string `json:"type"`
		Data struct {
			Name     string            `json:"name"`
			Version  string            `json:"version"`
			Versions []string          `json:"versions"`
			DistTags map[string]string `json:"dist-tags"`
			Dist     struct {
				Integrity string `json:"integrity"`
			} `json:"dist"`
		} `json:"data"`
	}
	jsonOut(t, pub.must(work, "info", "@yc/app", "--json"), &info)
	if info.Data.Name != "@yc/app" || info.Data.Version != "0.1.0" || info.Data.Dist.Integrity != app.Integrity {
		t.Fatalf("yarn info @yc/app = %+v", info.Data)
	}

	// yarn 1 reports a 404 and exits 0.
	checkUnknown(t, r, pub, work, "error Received invalid response", "info")

	// A consumer without a token adds the scoped package, cold cache.
	use := newYarnClassic(t, r, "")
	proj := filepath.Join(work, "consumer")
	writeProject(t, proj, map[string]string{})
	use.must(proj, "add", "@yc/app@^0.1.0", "--registry", r.URL+"/")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@yc", "app"), app, "0.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yc-lib"), libV1, "1.0.0")
	r.checkPackumentForm(t, "yarn add", "@yc/app", true)
	r.checkPackumentForm(t, "yarn add", "yc-lib", true)
	lock := readYarnClassicLock(t, proj)
	for pattern, want := range map[string]struct {
		version string
		pub     published
	}{"@yc/app@^0.1.0": {"0.1.0", app}, "yc-lib@^1.0.0": {"1.0.0", libV1}} {
		e := lock[pattern]
		if e.Version != want.version || e.Integrity != want.pub.Integrity || e.Resolved != want.pub.Tarball+"#"+want.pub.Shasum {
			t.Errorf("yarn.lock %q = %+v, want version %s integrity %s resolved %s#%s", pattern, e, want.version, want.pub.Integrity, want.pub.Tarball, want.pub.Shasum)
		}
	}

	// A new version published with --tag, and yarn tag add; yarn add picks
	// the tagged version.
	writePackage(t, lib, "yc-lib", "1.1.0", nil)
	pub.must(lib, "publish", "--non-interactive", "--new-version", "1.1.0", "--no-git-tag-version", "--tag", "next")
	p := r.packument(t, "yc-lib")
	if p.DistTags["latest"] != "1.0.0" || p.DistTags["next"] != "1.1.0" {
		t.Fatalf("dist-tags after yarn publish --tag next: %v", p.DistTags)
	}
	pub.must(work, "tag", "add", "yc-lib@1.1.0", "stable")
	if got := r.packument(t, "yc-lib").DistTags["stable"]; got != "1.1.0" {
		t.Fatalf("dist-tag stable after yarn tag add = %q", got)
	}
	libV11 := r.published(t, "yc-lib", "1.1.0")
	use.must(proj, "add", "yc-lib@stable")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yc-lib"), libV11, "1.1.0")
	// yarn add saves a tag as a caret range on the version it names.
	if e := readYarnClassicLock(t, proj)["yc-lib@^1.1.0"]; e.Version != "1.1.0" || e.Integrity != libV11.Integrity {
		t.Errorf("yarn.lock yc-lib@^1.1.0 = %+v, want 1.1.0 %s", e, libV11.Integrity)
	}

	// A frozen-lockfile install into an empty node_modules and cache.
	must(t, os.RemoveAll(filepath.Join(proj, "node_modules")))
	newYarnClassic(t, r, "").must(proj, "install", "--frozen-lockfile")
	checkInstalled(t, filepath.Join(proj, "node_modules", "yc-lib"), libV11, "1.1.0")
	checkInstalled(t, filepath.Join(proj, "node_modules", "@yc", "app", "node_modules", "yc-lib"), libV1, "1.0.0")

	// Publishing without a token is refused and changes nothing.
	writePackage(t, lib, "yc-lib", "1.2.0", nil)
	if out, err := use.run(lib, "publish", "--non-interactive", "--new-version", "1.2.0", "--no-git-tag-version"); err == nil {
		t.Fatalf("yarn publish without a token succeeded:\n%s", out)
	}
	if _, ok := r.packument(t, "yc-lib").Versions["1.2.0"]; ok {
		t.Fatal("an unauthenticated yarn publish stored a version")
	}
}
