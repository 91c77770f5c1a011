package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/provenant/provenant/npmwire"
)

// The generated data set. Every registry under test receives exactly these
// bytes, published in the same order.
const (
	// benchPackage is the one-version package whose packument and tarball
	// the HTTP load runs fetch.
	benchPackage = "bench-pkg"
	// depPrefix names the packages of the install project: bench-dep-000 …
	depPrefix = "bench-dep-"
	// publishPackage is the package that the timed npm publish runs publish,
	// one new version per run.
	publishPackage = "bench-publish"
	// maxDepsPerPackage bounds each package's dependency list.
	maxDepsPerPackage = 3
	// seed fixes the generated dependency graph across runs.
	seed = 20261122
)

// depVersions are the versions of every install-project package; the
// dependency ranges (^1.0.0) resolve to the last one.
var depVersions = []string{"1.0.0", "1.0.1", "1.1.0"}

// tarballTime is the modification time of every file in a generated tarball
// (the one npm pack uses), so the tarballs are byte-for-byte reproducible.
var tarballTime = time.Date(1985, 10, 26, 8, 15, 0, 0, time.UTC)

// A pkgVersion is one generated package version: its package.json, its
// tarball, and the npm publish body that uploads both.
type pkgVersion struct {
	Name, Version string
	Manifest      map[string]any
	Tarball       []byte
}

// dataSet is the whole generated data set.
type dataSet struct {
	// Seed holds the packages published before any measurement: the bench
	// package and every version of the install-project packages.
	Seed []pkgVersion
	// InstallDeps are the install project's direct dependencies.
	InstallDeps map[string]string
	// InstallCount is the number of packages npm install must place.
	InstallCount int
}

// generate builds the data set for n install-project packages.
func generate(n int) (*dataSet, error) {
	ds := &dataSet{InstallDeps: map[string]string{}, InstallCount: n}
	bench, err := newVersion(benchManifest())
	if err != nil {
		return nil, err
	}
	ds.Seed = append(ds.Seed, bench)

	// A random DAG: package i depends only on packages with a higher
	// index, so there is no cycle; the root depends on every package that
	// nothing else depends on, so npm install places all n.
	rng := rand.New(rand.NewPCG(seed, seed))
	deps := make([][]int, n)
	depended := make([]bool, n)
	for i := range n {
		if i == n-1 {
			break
		}
		k := rng.IntN(maxDepsPerPackage + 1)
		seen := map[int]bool{}
		for range k {
			j := i + 1 + rng.IntN(n-i-1)
			if !seen[j] {
				seen[j] = true
				deps[i] = append(deps[i], j)
				depended[j] = true
			}
		}
		sort.Ints(deps[i])
	}
	for i := range n {
		if !depended[i] {
			ds.InstallDeps[depName(i)] = "^1.0.0"
		}
		for _, v := range depVersions {
			m := depManifest(i, v, deps[i])
			pv, err := newVersion(m)
			if err != nil {
				return nil, err
			}
			ds.Seed = append(ds.Seed, pv)
		}
	}
	return ds, nil
}

func depName(i int) string { return fmt.Sprintf("%s%03d", depPrefix, i) }

// benchManifest is the package.json of the load-test package, sized so that
// its full packument is about 2 KB, like a small real package.
func benchManifest() map[string]any {
	return map[string]any{
		"name":        benchPackage,
		"version":     "1.0.0",
		"description": "A generated package whose packument and tarball the benchmark fetches under load.",
		"main":        "index.js",
		"license":     "MIT",
		"keywords":    []string{"benchmark", "provenant", "npm", "registry"},
		"author":      map[string]string{"name": "Provenant Bench", "email": "bench@provenant.invalid"},
		"repository":  map[string]string{"type": "git", "url": "git+https://git.provenant.invalid/bench/bench-pkg.git"},
		"homepage":    "https://git.provenant.invalid/bench/bench-pkg#readme",
		"bugs":        map[string]string{"url": "https://git.provenant.invalid/bench/bench-pkg/issues"},
		"engines":     map[string]string{"node": ">=18"},
		"scripts":     map[string]string{"test": "node --test"},
	}
}

func depManifest(i int, version string, deps []int) map[string]any {
	m := map[string]any{
		"name":        depName(i),
		"version":     version,
		"description": fmt.Sprintf("Generated install-benchmark package %d.", i),
		"main":        "index.js",
		"license":     "MIT",
		"repository":  map[string]string{"type": "git", "url": fmt.Sprintf("git+https://git.provenant.invalid/bench/%s.git", depName(i))},
	}
	if len(deps) > 0 {
		d := map[string]string{}
		for _, j := range deps {
			d[depName(j)] = "^1.0.0"
		}
		m["dependencies"] = d
	}
	return m
}

// publishManifest is the package.json of the k-th timed publish.
func publishManifest(k int) map[string]any {
	return map[string]any{
		"name":        publishPackage,
		"version":     fmt.Sprintf("1.0.%d", k),
		"description": "A generated package that the benchmark publishes, one version per run.",
		"main":        "index.js",
		"license":     "MIT",
		"repository":  map[string]string{"type": "git", "url": "git+https://github.com/" + devRepository + ".git"},
	}
}

// files returns the files of a generated package besides package.json.
func files(m map[string]any) map[string]string {
	name := m["name"].(string)
	return map[string]string{
		"index.js": fmt.Sprintf("'use strict';\n// %s@%s, generated by the Provenant benchmark harness.\nmodule.exports = function id() {\n  return %q;\n};\n",
			name, m["version"], name+"@"+m["version"].(string)),
		"README.md": fmt.Sprintf("# %s\n\n%s\n\nGenerated by `bench/compare.sh`; it exists only to be published and installed.\n",
			name, m["description"]),
	}
}

// newVersion packs m into a tarball laid out like npm pack's output.
func newVersion(m map[string]any) (pkgVersion, error) {
	pj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return pkgVersion{}, err
	}
	entries := files(m)
	entries["package.json"] = string(pj) + "\n"
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		body := entries[n]
		hdr := &tar.Header{
			Name:     "package/" + n,
			Mode:     0o644,
			Size:     int64(len(body)),
			ModTime:  tarballTime,
			Typeflag: tar.TypeReg,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return pkgVersion{}, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return pkgVersion{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return pkgVersion{}, err
	}
	if err := zw.Close(); err != nil {
		return pkgVersion{}, err
	}
	return pkgVersion{Name: m["name"].(string), Version: m["version"].(string), Manifest: m, Tarball: buf.Bytes()}, nil
}

// integrity returns the dist.integrity and dist.shasum of a tarball.
func integrity(tgz []byte) (string, string) {
	s512 := sha512.Sum512(tgz)
	s1 := sha1.Sum(tgz)
	return "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), hex.EncodeToString(s1[:])
}

// publishBody returns the npm publish body for pv, as npm publish would send
// it to the registry at base (see npm-protocol.md §4.3).
func publishBody(pv pkgVersion, base string) ([]byte, error) {
	sri, shasum := integrity(pv.Tarball)
	vm := map[string]any{}
	for k, v := range pv.Manifest {
		vm[k] = v
	}
	vm["_id"] = pv.Name + "@" + pv.Version
	readme := files(pv.Manifest)["README.md"]
	vm["readme"] = readme
	vm["readmeFilename"] = "README.md"
	vm["dist"] = npmwire.Dist{
		Integrity: sri,
		Shasum:    shasum,
		Tarball:   fmt.Sprintf("%s/%s/-/%s", strings.TrimSuffix(base, "/"), pv.Name, npmwire.TarballAttachmentName(pv.Name, pv.Version)),
	}
	raw, err := json.Marshal(vm)
	if err != nil {
		return nil, err
	}
	access := "public"
	body := npmwire.PublishBody{
		ID:          pv.Name,
		Name:        pv.Name,
		Description: fmt.Sprint(pv.Manifest["description"]),
		DistTags:    map[string]string{"latest": pv.Version},
		Versions:    map[string]json.RawMessage{pv.Version: raw},
		Access:      &access,
		Readme:      readme,
		Attachments: map[string]npmwire.Attachment{
			npmwire.TarballAttachmentName(pv.Name, pv.Version): {
				ContentType: "application/octet-stream",
				Data:        base64.StdEncoding.EncodeToString(pv.Tarball),
				Length:      int64(len(pv.Tarball)),
			},
		},
	}
	return json.Marshal(body)
}

// writePackageDir writes m and its files into dir, ready for npm publish.
func writePackageDir(dir string, m map[string]any) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	entries := files(m)
	entries["package.json"] = string(pj) + "\n"
	for n, body := range entries {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeInstallProject writes the package.json of the install project.
func writeInstallProject(dir string, deps map[string]string) error {
	return writePackageDir(dir, map[string]any{
		"name":         "bench-install-project",
		"version":      "1.0.0",
		"private":      true,
		"description":  "Generated project whose npm install the benchmark times.",
		"license":      "MIT",
		"dependencies": deps,
	})
}
