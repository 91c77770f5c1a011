package pack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/limits"
)

// fixture is a package folder written by the test: path → content; a
// path ending in "*" is written executable (the star is dropped).
type fixture map[string]string

var fixtures = []struct {
	name  string
	files fixture
}{
	{"plain", fixture{
		"package.json": `{"name":"plain-pkg","version":"1.0.0","main":"index.js"}`,
		"index.js":     "module.exports = 1\n",
		"README.md":    "# plain\n",
		"LICENSE":      "MIT\n",
		"a_b.txt":      "x", "a-b.txt": "y", "A.txt": "z", "B10.txt": "1", "b2.txt": "2",
		".npmrc":                    "//r/:_authToken=secret\n",
		"package-lock.json":         "{}",
		"yarn.lock":                 "",
		"node_modules/dep/index.js": "x",
		".DS_Store":                 "x",
		"x.orig":                    "x",
		"npm-debug.log":             "x",
		".git/HEAD":                 "ref: refs/heads/main\n",
		"notes.swp":                 "keep: only .*.swp is ignored",
		".hidden.swp":               "dropped",
	}},
	{"scoped", fixture{
		"package.json":       `{"name":"@acme/scoped","version":"2.3.4-beta.1","description":"s"}`,
		"lib/index.js":       "exports.a = 1\n",
		"lib/util/deep/x.js": "exports.x = 1\n",
		"CHANGELOG.md":       "changes\n",
		"readme.markdown":    "r\n",
		"Licence.txt":        "l\n",
	}},
	{"files-field", fixture{
		"package.json":      `{"name":"files-pkg","version":"0.1.0","files":["dist","types/*.d.ts","./extra.js","docs/guide.md"],"main":"dist/index.js"}`,
		"dist/index.js":     "1",
		"dist/sub/inner.js": "2",
		"dist/.npmignore":   "inner.js\n",
		"types/a.d.ts":      "a",
		"types/b.ts":        "b",
		"extra.js":          "e",
		"src/index.ts":      "s",
		"docs/guide.md":     "g",
		"docs/other.md":     "o",
		"README":            "r",
		".npmignore":        "dist\n",
		"test/t.js":         "t",
	}},
	{"npmignore", fixture{
		"package.json":     `{"name":"ign-pkg","version":"1.0.0"}`,
		".npmignore":       "# comment\n\ntest/\n*.log\n/build\n!important.log\ncoverage\n",
		".gitignore":       "lib\n",
		"lib/a.js":         "a",
		"test/t.js":        "t",
		"src/test/keep.js": "nested test dir is ignored too",
		"debug.log":        "d",
		"important.log":    "i",
		"build/out.js":     "o",
		"src/build/in.js":  "anchored /build leaves nested build alone",
		"coverage/c.json":  "{}",
		"src/.npmignore":   "*.tmp\n",
		"src/x.tmp":        "tmp",
		"src/y.js":         "y",
	}},
	{"gitignore", fixture{
		"package.json": `{"name":"git-pkg","version":"1.0.0"}`,
		".gitignore":   "dist/\n*.map\nsecret.txt\n",
		"dist/a.js":    "a",
		"index.js":     "i",
		"index.js.map": "m",
		"secret.txt":   "s",
		"sub/dist":     "a file named dist is not a dist/ directory",
		"sub/index.js": "s",
	}},
	{"bin", fixture{
		"package.json": `{"name":"bin-pkg","version":"1.0.0","bin":{"top":"./cli.js","nested":"bin/run.js"},"files":["lib"]}`,
		"cli.js":       "#!/usr/bin/env node\n",
		"bin/run.js":   "#!/usr/bin/env node\n",
		"lib/main.js":  "m",
		"tool.sh*":     "#!/bin/sh\n",
		"other.js":     "o",
	}},
	{"edge-cases", fixture{
		"package.json":              `{"name":"edge-pkg","version":"1.0.0","files":["lib/","!lib/test","*.json","docs/**/*.md"],"browser":"web.js","bin":"cli.js"}`,
		"lib/a.JS":                  "upper-case extension",
		"lib/test/t.js":             "negated in files",
		"lib/.npmignore":            "secret.js\n",
		"lib/secret.js":             "dropped by nested .npmignore",
		"lib/node_modules/dep/i.js": "nested node_modules",
		"lib/package-lock.json":     "{}",
		"lib/.npmrc":                "nested npmrc",
		"lib/.DS_Store":             "x",
		"lib/README.md":             "nested readme",
		"data.json":                 "{}",
		"tsconfig.json":             "{}",
		"docs/a/b/guide.md":         "deep doc",
		"docs/a/b/img.png":          "png",
		"web.js":                    "browser field",
		"cli.js":                    "string bin",
		"CHANGELOG.md":              "not always included",
		"empty/.keep":               "",
		"Licence":                   "always included",
	}},
	{"nested", fixture{
		"package.json": `{"name":"nested-pkg","version":"1.0.0"}`,
		"a/b/c/d/e.js": "e",
		"a/b/c/f.json": "{}",
		"a/README.md":  "nested readme",
		"a/.gitignore": "c/d\n",
		"z/.npmignore": "",
		"z/y.js":       "y",
		"@at.js":       "a root file whose name starts with @",
		"n/" + strings.Repeat("long-name-", 11) + ".js": "a basename over 100 bytes needs a pax header",
		"n/café-ünïcode.js":                             "non-ASCII names need a pax header",
		"@x/y.js":                                       "a folder whose name starts with @",
		"very/long/directory/name/that/goes/on/and/on/for/more/than/a/hundred/bytes/in/total/length/file.js": "long",
	}},
}

func writeFixture(t *testing.T, dir string, f fixture) {
	t.Helper()
	for name, content := range f {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

// npmEnv isolates npm from the user's configuration.
func npmEnv(t *testing.T) []string {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "npmrc")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "HOME="+home, "npm_config_userconfig="+empty, "npm_config_cache="+filepath.Join(home, "cache"),
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
}

type npmPackResult struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Filename string `json:"filename"`
	Files    []File `json:"files"`
	Unpacked int64  `json:"unpackedSize"`
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tarContents(t *testing.T, raw []byte) (names []string, contents map[string]string) {
	t.Helper()
	contents = map[string]string{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, contents
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		contents[h.Name] = string(b)
	}
}

// TestParityWithNPM packs each fixture with the real npm CLI and with Dir
// and requires the same file list, modes, sizes, contents, entry order and
// uncompressed tar bytes.
func TestParityWithNPM(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not on PATH")
	}
	env := npmEnv(t)
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFixture(t, dir, fx.files)
			dest := t.TempDir()
			cmd := exec.Command("npm", "pack", "--json", "--ignore-scripts", "--pack-destination", dest)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("npm pack: %v\n%s", err, out)
			}
			var res []npmPackResult
			if err := json.Unmarshal(out, &res); err != nil || len(res) != 1 {
				t.Fatalf("npm pack --json: %v\n%s", err, out)
			}
			npmTgz, err := os.ReadFile(filepath.Join(dest, res[0].Filename))
			if err != nil {
				t.Fatal(err)
			}

			got, err := Dir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != res[0].Name || got.Version != res[0].Version || got.Filename != res[0].Filename {
				t.Errorf("name/version/filename = %s %s %s, npm says %s %s %s", got.Name, got.Version, got.Filename, res[0].Name, res[0].Version, res[0].Filename)
			}
			if got.UnpackedSize != res[0].Unpacked {
				t.Errorf("unpackedSize = %d, npm says %d", got.UnpackedSize, res[0].Unpacked)
			}
			want := append([]File(nil), res[0].Files...)
			have := append([]File(nil), got.Files...)
			sort.Slice(want, func(i, j int) bool { return want[i].Path < want[j].Path })
			sort.Slice(have, func(i, j int) bool { return have[i].Path < have[j].Path })
			if !equalFiles(have, want) {
				t.Fatalf("files differ\n ours: %v\n  npm: %v", have, want)
			}
			npmTar, ourTar := gunzip(t, npmTgz), gunzip(t, got.Bytes)
			npmNames, npmContents := tarContents(t, npmTar)
			ourNames, ourContents := tarContents(t, ourTar)
			if strings.Join(npmNames, "\n") != strings.Join(ourNames, "\n") {
				t.Errorf("entry order differs\n ours: %v\n  npm: %v", ourNames, npmNames)
			}
			for name, c := range npmContents {
				if ourContents[name] != c {
					t.Errorf("%s: content %q, npm has %q", name, ourContents[name], c)
				}
			}
			if !bytes.Equal(npmTar, ourTar) {
				t.Errorf("uncompressed tar bytes differ (ours %d bytes, npm %d)", len(ourTar), len(npmTar))
			}
			// Read sees the same package in both tarballs.
			for _, b := range [][]byte{npmTgz, got.Bytes} {
				r, err := Read(b)
				if err != nil {
					t.Fatal(err)
				}
				if r.Name != got.Name || len(r.Files) != len(got.Files) {
					t.Errorf("Read: %s with %d files, want %s with %d", r.Name, len(r.Files), got.Name, len(got.Files))
				}
			}
		})
	}
}

func equalFiles(a, b []File) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// tarOf builds a gzipped tarball with the given entries (name → content).
func tarOf(t testing.TB, names []string, content map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		c := content[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestReadLimits(t *testing.T) {
	pj := `{"name":"x","version":"1.0.0"}`
	entries := func(n int) []string {
		names := []string{"package/package.json"}
		for i := 1; i < n; i++ {
			names = append(names, "package/f"+strconv.Itoa(i))
		}
		return names
	}
	for _, tc := range []struct {
		name    string
		tgz     func() []byte
		wantErr string
	}{
		{"entries at limit", func() []byte {
			return tarOf(t, entries(limits.MaxTarEntries), map[string]string{"package/package.json": pj})
		}, ""},
		{"entries over limit", func() []byte {
			return tarOf(t, entries(limits.MaxTarEntries+1), map[string]string{"package/package.json": pj})
		}, "more than"},
		{"package.json at limit", func() []byte {
			big := `{"name":"x","version":"1.0.0","d":"` + strings.Repeat("a", limits.MaxPackageJSONBytes-len(pj)-7) + `"}`
			return tarOf(t, []string{"package/package.json"}, map[string]string{"package/package.json": big})
		}, ""},
		{"package.json over limit", func() []byte {
			big := `{"name":"x","version":"1.0.0","d":"` + strings.Repeat("a", limits.MaxPackageJSONBytes-len(pj)-6) + `"}`
			return tarOf(t, []string{"package/package.json"}, map[string]string{"package/package.json": big})
		}, "over the limit"},
		{"no package.json", func() []byte { return tarOf(t, []string{"package/index.js"}, nil) }, "no package/package.json"},
		{"not gzip", func() []byte { return []byte("plain text") }, "not a gzip file"},
		{"package.json without version", func() []byte {
			return tarOf(t, []string{"package/package.json"}, map[string]string{"package/package.json": `{"name":"x"}`})
		}, `no "version"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tc.tgz())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidPackage)):
				t.Fatalf("Read error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	for _, tc := range []struct {
		rule, path string
		partial    bool
		want       bool
	}{
		{"*.log", "a/b/debug.log", false, true},
		{"/build", "/build", false, true},
		{"/build", "/src/build", false, false},
		{"build/", "build/", false, true},
		{"build/", "build", false, false},
		{"**/.git", "/a/.git", false, true},
		{"lib/**", "lib", false, false},
		{"lib/**", "lib/", false, true},
		{"lib/**", "lib/x/y.js", false, true},
		{"/readme{,.*[^~$]}", "/README.md", false, true},
		{"/readme{,.*[^~$]}", "/readme.md~", false, false},
		{"/readme{,.*[^~$]}", "/README", false, true},
		{"types/*.d.ts", "types/a.d.ts", false, true},
		{"types/*.d.ts", "types", true, true},
		{"*", "", false, false},
	} {
		r := compileRule(tc.rule)
		if got := r.match(tc.path, tc.partial); got != tc.want {
			t.Errorf("%q.match(%q, %v) = %v, want %v", tc.rule, tc.path, tc.partial, got, tc.want)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add(tarOf(f, []string{"package/package.json"}, map[string]string{"package/package.json": `{"name":"x","version":"1.0.0"}`}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := Read(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidPackage) {
				t.Fatalf("error does not wrap ErrInvalidPackage: %v", err)
			}
			return
		}
		if tb.Name == "" || tb.Version == "" || tb.Size != int64(len(b)) {
			t.Fatalf("accepted a tarball without name/version: %+v", tb)
		}
	})
}

func FuzzRule(f *testing.F) {
	for _, s := range append(defaultIgnores, "!/readme{,.*[^~$]}", "a/**/b", "[a-", "{a,{b,c}}") {
		f.Add(s, "a/b/c")
	}
	f.Fuzz(func(t *testing.T, rule, p string) {
		r := compileRule(rule)
		_ = r.match(p, false)
		_ = r.match(p, true)
	})
}

func TestPickReadme(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"index.js", "README"}, "README"},
		{[]string{"README", "README.md"}, "README.md"},
		{[]string{"readme.markdown", "README.txt"}, "readme.markdown"},
		{[]string{"README.txt"}, ""},
		{[]string{"READMEX.md"}, ""},
	} {
		if got := pickReadme(tc.names); got != tc.want {
			t.Errorf("pickReadme(%v) = %q, want %q", tc.names, got, tc.want)
		}
	}
}

// legacyTypeTar rewrites every header of an uncompressed ustar stream to
// the pre-POSIX regular-file type '\x00' (archive/tar's writer refuses to
// write it) and fixes the header checksums, then gzips the result.
func legacyTypeTar(t *testing.T, tgz []byte) []byte {
	t.Helper()
	raw := gunzip(t, tgz)
	for off := 0; off+512 <= len(raw); {
		h := raw[off : off+512]
		if bytes.Equal(h, make([]byte, 512)) {
			break
		}
		size, err := strconv.ParseInt(strings.TrimRight(string(h[124:136]), " \x00"), 8, 64)
		if err != nil {
			t.Fatalf("header at %d: size: %v", off, err)
		}
		h[156] = 0
		copy(h[148:156], "        ")
		var sum int64
		for _, c := range h {
			sum += int64(c)
		}
		copy(h[148:156], []byte(leftPadOctal(sum, 6)+"\x00 "))
		off += 512 + int(size+511)/512*512
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

func leftPadOctal(n int64, width int) string {
	s := strconv.FormatInt(n, 8)
	return strings.Repeat("0", width-len(s)) + s
}

// Old npm tarballs mark regular files with type '\x00' (tar.TypeRegA);
// Read must keep listing them and reading their package.json.
func TestReadLegacyRegularFileType(t *testing.T) {
	names := []string{"package/package.json", "package/index.js"}
	content := map[string]string{"package/package.json": `{"name":"old-pkg","version":"0.1.0"}`, "package/index.js": "module.exports = 1\n"}
	tgz := legacyTypeTar(t, tarOf(t, names, content))
	raw := gunzip(t, tgz)
	if raw[156] != 0 || raw[512+512*((len(content["package/package.json"])+511)/512)+156] != 0 {
		t.Fatal("fixture: type flags were not rewritten to '\\x00'")
	}
	tb, err := Read(tgz)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if tb.Name != "old-pkg" || tb.Version != "0.1.0" {
		t.Errorf("name@version = %s@%s, want old-pkg@0.1.0", tb.Name, tb.Version)
	}
	want := []File{{Path: "package.json", Size: int64(len(content["package/package.json"])), Mode: 0o644}, {Path: "index.js", Size: int64(len(content["package/index.js"])), Mode: 0o644}}
	if !equalFiles(tb.Files, want) {
		t.Errorf("Files = %+v, want %+v", tb.Files, want)
	}
}
