package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
)

// tarballOfSize returns a valid npm package tarball for name@version of
// exactly size bytes: an uncompressed (stored) gzip stream whose header
// Extra field is sized to make up the difference.
func tarballOfSize(t *testing.T, name, version string, size int) []byte {
	t.Helper()
	const slack = 60000 // what the Extra field (at most 65535 bytes) fills in
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	pj := pkgJSON(name, version)
	blob := size - slack
	for _, f := range []struct {
		name string
		size int
	}{{"package/package.json", len(pj)}, {"package/blob.bin", blob}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(f.size), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if f.name == "package/package.json" {
			tw.Write([]byte(pj))
		} else {
			tw.Write(make([]byte, f.size))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	stored := func(extra []byte) []byte {
		var out bytes.Buffer
		out.Grow(size + 1)
		zw, err := gzip.NewWriterLevel(&out, gzip.NoCompression)
		if err != nil {
			t.Fatal(err)
		}
		zw.Extra = extra
		zw.Write(tb.Bytes())
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	// An Extra field of k bytes adds k+2 (its length prefix) to the stream.
	k := size - len(stored(nil)) - 2
	if k < 0 || k > 0xffff {
		t.Fatalf("cannot pad the tarball to %d bytes with an Extra field of %d bytes", size, k)
	}
	tgz := stored(make([]byte, k))
	if len(tgz) != size {
		t.Fatalf("tarball is %d bytes, want %d", len(tgz), size)
	}
	return tgz
}

// TestTarballLimit runs the registry's request-shape checks on a publish
// body whose tarball decodes to exactly limits.MaxTarballBytes, and to one
// byte more: the first passes every shape check, the second is refused as
// too large (a 413).
func TestTarballLimit(t *testing.T) {
	r := newTestRegistry(t)
	for _, tc := range []struct {
		name    string
		size    int
		wantErr error
	}{
		{"at the limit", limits.MaxTarballBytes, nil},
		{"one past", limits.MaxTarballBytes + 1, npmwire.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgz := tarballOfSize(t, "big-pkg", "1.0.0", tc.size)
			p, err := r.srv.checkShape("big-pkg", publishBody(t, "big-pkg", "1.0.0", "latest", tgz, nil))
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("tarball of %d bytes: %v", tc.size, err)
				}
				if len(p.tarball) != tc.size || p.info.FileCount != 2 {
					t.Errorf("decoded %d bytes, %d files; want %d bytes, 2 files", len(p.tarball), p.info.FileCount, tc.size)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("tarball of %d bytes: err = %v, want %v", tc.size, err, tc.wantErr)
			}
			if code, _ := statusOf(shapeError(err)); code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", code)
			}
		})
	}
}

// TestPublishBodyLimitBoundary sends a valid publish body padded with JSON
// whitespace to exactly limits.MaxPublishBodyBytes, which is published,
// and to one byte more, which is refused with 413 before it is parsed.
func TestPublishBodyLimitBoundary(t *testing.T) {
	r := newTestRegistry(t)
	tok := r.addUser(t, "alice")
	for _, tc := range []struct {
		name       string
		version    string
		size       int
		wantStatus int
	}{
		{"at the limit", "1.0.0", limits.MaxPublishBodyBytes, http.StatusCreated},
		{"one past", "1.0.1", limits.MaxPublishBodyBytes + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgz := makeTarball(t, map[string]string{"package/package.json": pkgJSON("pkg", tc.version)})
			body := publishBody(t, "pkg", tc.version, "latest", tgz, nil)
			padded := make([]byte, tc.size)
			copy(padded, body)
			for i := len(body); i < len(padded); i++ {
				padded[i] = ' '
			}
			code, resp, _ := r.do(t, http.MethodPut, "/pkg", tok, padded)
			if code != tc.wantStatus {
				t.Fatalf("body of %d bytes: status %d, want %d: %.300s", tc.size, code, tc.wantStatus, resp)
			}
		})
	}
	// Only the body at the limit was published.
	if code, _, _ := r.do(t, http.MethodGet, "/pkg/1.0.0", "", nil); code != http.StatusOK {
		t.Errorf("GET /pkg/1.0.0 = %d, want 200", code)
	}
	if code, _, _ := r.do(t, http.MethodGet, "/pkg/1.0.1", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /pkg/1.0.1 = %d, want 404", code)
	}
}
