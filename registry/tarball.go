package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/provenant/provenant/internal/limits"
)

// tarOverheadBytes bounds the decompressed tar stream beyond its files'
// contents: a 512-byte header and up to 511 bytes of padding per entry at
// MaxTarEntries, plus room for long-name PAX records.
const tarOverheadBytes = 64 << 20

// tarballInfo is what the registry learns from a package tarball.
type tarballInfo struct {
	// PackageJSON is package/package.json, verbatim.
	PackageJSON []byte
	// FileCount and UnpackedSize count the regular files.
	FileCount    int
	UnpackedSize int64
}

// inspectTarball reads a gzipped package tarball under the limits of
// internal/limits and rejects entries that would escape the package
// directory: absolute paths, ".." components, and links pointing outside.
// Every error wraps ErrUnprocessable and names the failed check.
func inspectTarball(tgz []byte) (*tarballInfo, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("%w: tarball: not gzip: %v", ErrUnprocessable, err)
	}
	// The files may total MaxUnpackedBytes; the tar stream around them
	// (headers, padding, PAX records) may add tarOverheadBytes.
	lr := &io.LimitedReader{R: zr, N: limits.MaxUnpackedBytes + tarOverheadBytes + 1}
	tr := tar.NewReader(lr)
	info := &tarballInfo{}
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("%w: tarball: decompressed stream over %d bytes", ErrUnprocessable, limits.MaxUnpackedBytes+tarOverheadBytes)
			}
			return nil, fmt.Errorf("%w: tarball: %v", ErrUnprocessable, err)
		}
		if entries >= limits.MaxTarEntries {
			return nil, fmt.Errorf("%w: tarball: more than %d entries", ErrUnprocessable, limits.MaxTarEntries)
		}
		if err := checkEntryPath(h.Name); err != nil {
			return nil, err
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			if err := checkSymlink(h.Name, h.Linkname); err != nil {
				return nil, err
			}
		case tar.TypeLink:
			if err := checkEntryPath(h.Linkname); err != nil {
				return nil, fmt.Errorf("%w (hard link %q)", err, h.Name)
			}
		case tar.TypeReg:
			info.FileCount++
			info.UnpackedSize += h.Size
			if info.UnpackedSize > limits.MaxUnpackedBytes {
				return nil, fmt.Errorf("%w: tarball: unpacked size over %d bytes", ErrUnprocessable, limits.MaxUnpackedBytes)
			}
			if h.Name == "package/package.json" {
				if h.Size > limits.MaxPackageJSONBytes {
					return nil, fmt.Errorf("%w: tarball: package.json is %d bytes, over %d", ErrUnprocessable, h.Size, limits.MaxPackageJSONBytes)
				}
				if info.PackageJSON, err = io.ReadAll(tr); err != nil {
					return nil, fmt.Errorf("%w: tarball: reading package.json: %v", ErrUnprocessable, err)
				}
			}
		}
	}
	// Drain the gzip trailer within the limit, so a bomb hidden after the
	// tar end is caught too.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return nil, fmt.Errorf("%w: tarball: %v", ErrUnprocessable, err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: tarball: decompressed stream over %d bytes", ErrUnprocessable, limits.MaxUnpackedBytes+tarOverheadBytes)
	}
	if info.PackageJSON == nil {
		return nil, fmt.Errorf("%w: tarball: no package/package.json", ErrUnprocessable)
	}
	return info, nil
}

// checkEntryPath rejects absolute paths and ".." components.
func checkEntryPath(name string) error {
	if path.IsAbs(name) || strings.HasPrefix(name, `\`) || (len(name) > 1 && name[1] == ':') {
		return fmt.Errorf("%w: tarball: absolute entry path %q", ErrUnprocessable, name)
	}
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return fmt.Errorf("%w: tarball: entry path %q leaves the package", ErrUnprocessable, name)
		}
	}
	return nil
}

// checkSymlink rejects a symlink whose target leaves the entry's top-level
// directory (package/).
func checkSymlink(name, target string) error {
	top, _, _ := strings.Cut(name, "/")
	joined := path.Clean(path.Join(path.Dir(name), target))
	if path.IsAbs(target) || (joined != top && !strings.HasPrefix(joined, top+"/")) {
		return fmt.Errorf("%w: tarball: symlink %q points outside the package (%q)", ErrUnprocessable, name, target)
	}
	return nil
}
