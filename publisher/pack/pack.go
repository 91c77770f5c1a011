// Package pack builds npm package tarballs exactly as `npm pack` does and
// reads existing ones.
//
// # What npm pack does
//
// The file list follows npm-packlist: the "files" field of package.json
// when present, otherwise .npmignore, otherwise .gitignore, in every
// directory; package.json, README, LICENSE/LICENCE, COPYING, "main",
// "browser" and "bin" files are always included; .git, node_modules,
// .npmrc, lock files and editor debris are always left out; symlinks are
// never packed. Entries are sorted by extension, then basename, then path.
//
// The archive follows pacote and node-tar: every entry is a regular file
// under "package/", with mtime 1985-10-26T08:15:00Z, empty owner fields,
// mode (m|0o600)&^0o022 (plus 0o111 for top-level "bin" files), compressed
// with gzip at level 9. The uncompressed tar stream is byte-identical to
// npm's; the gzip stream is not (Go's deflate differs from zlib's), so the
// integrity differs from `npm pack`'s but is always computed over the
// exact bytes produced, which are the bytes published.
//
// Lifecycle scripts (prepack, prepare) are not run, and bundleDependencies
// are refused rather than silently dropped.
package pack

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/provenant/provenant/internal/limits"
)

// ErrInvalidPackage is wrapped by every error about a package that cannot
// be packed or read: a missing or malformed package.json, a bad tarball, a
// limit exceeded.
var ErrInvalidPackage = errors.New("invalid package")

// typeRegLegacy is the pre-POSIX "regular file" type flag '\x00' that old
// npm tarballs still carry. archive/tar deprecates its name (TypeRegA) and
// its reader already reports such entries as TypeReg, but comparing to the
// byte value keeps accepting them should that normalisation ever change.
const typeRegLegacy byte = '\x00'

// A File is one entry of a package tarball, as `npm pack --json` lists it.
type File struct {
	// Path is relative to the package root, without the "package/" prefix.
	Path string `json:"path"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Mode is the permission bits recorded in the tarball.
	Mode int64 `json:"mode"`
}

// A Tarball is a packed package: its bytes and what npm reports about them.
type Tarball struct {
	// Name and Version come from the packed package.json.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Manifest is the packed package.json, verbatim.
	Manifest json.RawMessage `json:"-"`
	// Bytes are the gzipped tarball, exactly what gets published.
	Bytes []byte `json:"-"`
	// Files lists the entries in archive order.
	Files []File `json:"files"`
	// Size is len(Bytes); UnpackedSize the sum of the entries' sizes.
	Size         int64 `json:"size"`
	UnpackedSize int64 `json:"unpackedSize"`
	// Integrity is the SRI string "sha512-<base64>" of Bytes.
	Integrity string `json:"integrity"`
	// Shasum is the lowercase hex SHA-1 of Bytes.
	Shasum string `json:"shasum"`
	// SHA512 is the lowercase hex SHA-512 of Bytes, the provenance subject digest.
	SHA512 string `json:"sha512"`
	// Filename is npm's file name: "@scope/name" becomes "scope-name-<version>.tgz".
	Filename string `json:"filename"`
	// Readme and ReadmeFilename are what npm adds to the published
	// manifest: the package root's README (a Markdown one preferred).
	Readme         string `json:"-"`
	ReadmeFilename string `json:"-"`
}

// readmeRE is npm's test for a Markdown README name (@npmcli/package-json).
var readmeRE = regexp.MustCompile(`(?i)\.m?a?r?k?d?o?w?n?$`)

// pickReadme chooses the README npm would: among root files named README
// or README.* (any case), the first Markdown-looking one, else the last
// plain "README".
func pickReadme(names []string) string {
	sort.Strings(names)
	pick := ""
	for _, n := range names {
		up := strings.ToUpper(n)
		if up != "README" && !strings.HasPrefix(up, "README.") {
			continue
		}
		if readmeRE.MatchString(n) {
			return n
		}
		if strings.HasSuffix(n, "README") {
			pick = n
		}
	}
	return pick
}

// manifest holds the package.json fields packing reads.
type manifest struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Files   []string        `json:"files"`
	Main    string          `json:"-"`
	Browser string          `json:"-"`
	Bin     json.RawMessage `json:"bin"`
	Bundle  json.RawMessage `json:"bundleDependencies"`
	Bundled json.RawMessage `json:"bundledDependencies"`

	RawMain    json.RawMessage `json:"main"`
	RawBrowser json.RawMessage `json:"browser"`
}

// parseManifest decodes package.json and checks what npm checks before
// packing: an object with a string name and version.
func parseManifest(data []byte) (*manifest, error) {
	if len(data) > limits.MaxPackageJSONBytes {
		return nil, fmt.Errorf("%w: package.json is %d bytes, over the limit of %d", ErrInvalidPackage, len(data), limits.MaxPackageJSONBytes)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: package.json: %v", ErrInvalidPackage, err)
	}
	if m.Name == "" {
		return nil, fmt.Errorf("%w: package.json has no \"name\"", ErrInvalidPackage)
	}
	if m.Version == "" {
		return nil, fmt.Errorf("%w: package.json has no \"version\"", ErrInvalidPackage)
	}
	_ = json.Unmarshal(m.RawMain, &m.Main)
	_ = json.Unmarshal(m.RawBrowser, &m.Browser)
	return &m, nil
}

// binPaths returns the normalized "bin" targets, as npm-normalize-package-bin
// leaves them: cleaned, relative, without a leading "./".
func (m *manifest) binPaths() []string {
	var out []string
	var one string
	if json.Unmarshal(m.Bin, &one) == nil && one != "" {
		return []string{cleanBin(one)}
	}
	var many map[string]string
	if json.Unmarshal(m.Bin, &many) == nil {
		for _, v := range many {
			if c := cleanBin(v); c != "" {
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

func cleanBin(p string) string { return strings.TrimPrefix(path.Join("/", filepath.ToSlash(p)), "/") }

func (m *manifest) bundles() bool {
	for _, raw := range []json.RawMessage{m.Bundle, m.Bundled} {
		var list []string
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			return true
		}
		var all bool
		if json.Unmarshal(raw, &all) == nil && all {
			return true
		}
	}
	return false
}

// isTopLevelBin mirrors pacote's is-package-bin, including its quirk: it
// strips the first path component before comparing, so only files in the
// package root are ever made executable by it.
func (m *manifest) isTopLevelBin(rel string) bool {
	p := rel
	if i := strings.IndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	for _, b := range m.binPaths() {
		if b == p {
			return true
		}
	}
	return false
}

// FileName returns npm's tarball file name for a package.
func FileName(name, version string) string {
	return strings.Replace(strings.Replace(name, "@", "", 1), "/", "-", 1) + "-" + version + ".tgz"
}

// Dir packs the package folder dir as `npm pack` does.
func Dir(dir string) (*Tarball, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPackage, err)
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	if m.bundles() {
		return nil, fmt.Errorf("%w: bundleDependencies are not supported; pack with `npm pack` and publish the tarball", ErrInvalidPackage)
	}
	files, err := listFiles(dir, m)
	if err != nil {
		return nil, fmt.Errorf("%w: listing files: %v", ErrInvalidPackage, err)
	}
	if len(files) > limits.MaxTarEntries {
		return nil, fmt.Errorf("%w: %d files, over the limit of %d", ErrInvalidPackage, len(files), limits.MaxTarEntries)
	}
	var tw tarWriter
	t := &Tarball{Name: m.Name, Version: m.Version, Manifest: data}
	for _, rel := range files {
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		st, err := os.Lstat(abs)
		if err != nil {
			return nil, err
		}
		content, err := os.ReadFile(abs)
		if err != nil {
			return nil, err
		}
		mode := int64(st.Mode().Perm())
		if m.isTopLevelBin(rel) {
			mode |= 0o111
		}
		mode = (mode | 0o600) &^ 0o022
		tw.addFile("package/"+rel, mode, content)
		t.Files = append(t.Files, File{Path: rel, Size: int64(len(content)), Mode: mode})
		t.UnpackedSize += int64(len(content))
		if t.UnpackedSize > limits.MaxUnpackedBytes {
			return nil, fmt.Errorf("%w: unpacked size over the limit of %d bytes", ErrInvalidPackage, limits.MaxUnpackedBytes)
		}
	}
	gz, err := gzipBytes(tw.close())
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil {
		var names []string
		for _, e := range entries {
			if e.Type().IsRegular() {
				names = append(names, e.Name())
			}
		}
		if n := pickReadme(names); n != "" {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil && len(b) <= limits.MaxPackageJSONBytes {
				t.Readme, t.ReadmeFilename = string(b), n
			}
		}
	}
	if len(gz) > limits.MaxTarballBytes {
		return nil, fmt.Errorf("%w: tarball is %d bytes, over the limit of %d", ErrInvalidPackage, len(gz), limits.MaxTarballBytes)
	}
	t.setBytes(gz)
	return t, nil
}

func (t *Tarball) setBytes(b []byte) {
	t.Bytes = b
	t.Size = int64(len(b))
	s512 := sha512.Sum512(b)
	s1 := sha1.Sum(b)
	t.SHA512 = hex.EncodeToString(s512[:])
	t.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	t.Shasum = hex.EncodeToString(s1[:])
	t.Filename = FileName(t.Name, t.Version)
}

// Read inspects an existing gzipped package tarball (for example one made
// by `npm pack`) without changing a byte: it lists the entries and reads
// package.json, which must be at package/package.json as npm requires.
// Untrusted input: every size and count is capped by internal/limits.
func Read(b []byte) (*Tarball, error) {
	if len(b) > limits.MaxTarballBytes {
		return nil, fmt.Errorf("%w: tarball is %d bytes, over the limit of %d", ErrInvalidPackage, len(b), limits.MaxTarballBytes)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: not a gzip file: %v", ErrInvalidPackage, err)
	}
	tr := tar.NewReader(io.LimitReader(zr, limits.MaxUnpackedBytes+1))
	t := &Tarball{}
	var total int64
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading tar: %v", ErrInvalidPackage, err)
		}
		if n >= limits.MaxTarEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrInvalidPackage, limits.MaxTarEntries)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != typeRegLegacy {
			continue
		}
		total += h.Size
		if total > limits.MaxUnpackedBytes {
			return nil, fmt.Errorf("%w: unpacked size over the limit of %d bytes", ErrInvalidPackage, limits.MaxUnpackedBytes)
		}
		rel := h.Name
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			rel = rel[i+1:]
		}
		t.Files = append(t.Files, File{Path: rel, Size: h.Size, Mode: h.Mode & 0o7777})
		if !strings.Contains(rel, "/") && pickReadme([]string{rel}) != "" && h.Size <= limits.MaxPackageJSONBytes &&
			(t.ReadmeFilename == "" || (pickReadme([]string{t.ReadmeFilename, rel}) == rel && rel != t.ReadmeFilename)) {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%w: reading %s: %v", ErrInvalidPackage, rel, err)
			}
			t.Readme, t.ReadmeFilename = string(data), rel
		}
		if h.Name == "package/package.json" {
			if h.Size > limits.MaxPackageJSONBytes {
				return nil, fmt.Errorf("%w: package.json is %d bytes, over the limit of %d", ErrInvalidPackage, h.Size, limits.MaxPackageJSONBytes)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, fmt.Errorf("%w: reading package.json: %v", ErrInvalidPackage, err)
			}
			t.Manifest = data
		}
	}
	if t.Manifest == nil {
		return nil, fmt.Errorf("%w: no package/package.json in the tarball", ErrInvalidPackage)
	}
	m, err := parseManifest(t.Manifest)
	if err != nil {
		return nil, err
	}
	t.Name, t.Version, t.UnpackedSize = m.Name, m.Version, total
	t.setBytes(b)
	return t, nil
}
