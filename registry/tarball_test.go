package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/provenant/provenant/internal/limits"
)

// tarWith writes a tarball with package.json plus extra entries.
func tarWith(t testing.TB, extra func(tw *tar.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	pj := pkgJSON("p", "1.0.0")
	tw.WriteHeader(&tar.Header{Name: "package/package.json", Mode: 0o644, Size: int64(len(pj)), Typeflag: tar.TypeReg})
	tw.Write([]byte(pj))
	extra(tw)
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestInspectTarballEntryLimit(t *testing.T) {
	for _, tc := range []struct {
		entries int
		ok      bool
	}{{limits.MaxTarEntries, true}, {limits.MaxTarEntries + 1, false}} {
		tgz := tarWith(t, func(tw *tar.Writer) {
			for i := 1; i < tc.entries; i++ {
				tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("package/f%d", i), Mode: 0o644, Typeflag: tar.TypeReg})
			}
		})
		_, err := inspectTarball(tgz)
		if (err == nil) != tc.ok {
			t.Errorf("%d entries: err = %v", tc.entries, err)
		}
	}
}

func TestInspectTarballUnpackedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB through gzip")
	}
	pjLen := int64(len(pkgJSON("p", "1.0.0")))
	for _, tc := range []struct {
		size int64
		ok   bool
	}{{limits.MaxUnpackedBytes - pjLen, true}, {limits.MaxUnpackedBytes - pjLen + 1, false}} {
		tgz := tarWith(t, func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "package/big", Mode: 0o644, Size: tc.size, Typeflag: tar.TypeReg})
			io.CopyN(tw, zeros{}, tc.size)
		})
		info, err := inspectTarball(tgz)
		if (err == nil) != tc.ok {
			t.Errorf("file of %d bytes: err = %v", tc.size, err)
		}
		if err == nil && info.UnpackedSize != limits.MaxUnpackedBytes {
			t.Errorf("unpacked size = %d", info.UnpackedSize)
		}
		if err != nil && !errors.Is(err, ErrUnprocessable) {
			t.Errorf("error kind: %v", err)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestInspectTarballPaths(t *testing.T) {
	tests := []struct {
		name   string
		header tar.Header
		ok     bool
	}{
		{"plain file", tar.Header{Name: "package/lib/a.js", Typeflag: tar.TypeReg}, true},
		{"symlink inside", tar.Header{Name: "package/lib/link", Linkname: "../index.js", Typeflag: tar.TypeSymlink}, true},
		{"symlink to parent", tar.Header{Name: "package/link", Linkname: "../x", Typeflag: tar.TypeSymlink}, false},
		{"absolute symlink", tar.Header{Name: "package/link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink}, false},
		{"hard link out", tar.Header{Name: "package/h", Linkname: "../../etc/passwd", Typeflag: tar.TypeLink}, false},
		{"dot-dot", tar.Header{Name: "package/../x", Typeflag: tar.TypeReg}, false},
		{"backslash dot-dot", tar.Header{Name: `package\..\..\x`, Typeflag: tar.TypeReg}, false},
		{"absolute", tar.Header{Name: "/x", Typeflag: tar.TypeReg}, false},
		{"drive letter", tar.Header{Name: "C:/x", Typeflag: tar.TypeReg}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tgz := tarWith(t, func(tw *tar.Writer) { h := tt.header; h.Mode = 0o644; tw.WriteHeader(&h) })
			if _, err := inspectTarball(tgz); (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func FuzzInspectTarball(f *testing.F) {
	f.Add(tarWith(f, func(*tar.Writer) {}))
	f.Add(tarWith(f, func(tw *tar.Writer) {
		tw.WriteHeader(&tar.Header{Name: "package/l", Linkname: "../../x", Typeflag: tar.TypeSymlink})
	}))
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := inspectTarball(data)
		if err != nil {
			if !errors.Is(err, ErrUnprocessable) {
				t.Fatalf("error without kind: %v", err)
			}
			return
		}
		if info.PackageJSON == nil || info.UnpackedSize > limits.MaxUnpackedBytes || info.FileCount > limits.MaxTarEntries {
			t.Fatalf("accepted out-of-bounds tarball: %+v", info)
		}
	})
}
