// Package realworld fetches real-world test data from package registries at
// test time (never committed): the npm provenance bundle for sigstore@2.0.0
// that the sigstore-go module ships, the sigstore@2.0.0 tarball from the npm
// registry, and the public-good Sigstore trusted root from @sigstore/tuf.
package realworld

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SigstoreGoVersion is the sigstore-go module version whose test data is used.
const SigstoreGoVersion = "v1.3.0"

var (
	cacheOnce sync.Once
	cacheDir  string
	cacheErr  error
	mu        sync.Mutex
)

func dir() (string, error) {
	cacheOnce.Do(func() {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		cacheDir = filepath.Join(base, "provenant-realworld")
		cacheErr = os.MkdirAll(cacheDir, 0o755)
	})
	return cacheDir, cacheErr
}

// SigstoreGoDir returns the directory of the sigstore-go module, downloading
// it with `go mod download` when needed.
func SigstoreGoDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/sigstore/sigstore-go@"+SigstoreGoVersion).Output()
	if err != nil {
		t.Fatalf("go mod download sigstore-go: %v", err)
	}
	var m struct{ Dir string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		t.Fatalf("go mod download sigstore-go: bad output %q: %v", out, err)
	}
	return m.Dir
}

// SigstoreJSBundle returns the real npm provenance bundle of sigstore@2.0.0.
func SigstoreJSBundle(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(SigstoreGoDir(t), "pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// NpmPack returns the bytes of `npm pack spec` (for example sigstore@2.0.0),
// cached across test runs.
func NpmPack(t testing.TB, spec string) []byte {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	d, err := dir()
	if err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(d, "pack-"+strings.NewReplacer("/", "_", "@", "_").Replace(spec))
	if matches, _ := filepath.Glob(filepath.Join(sub, "*.tgz")); len(matches) == 1 {
		if b, err := os.ReadFile(matches[0]); err == nil {
			return b
		}
	}
	tmp, err := os.MkdirTemp(d, "tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("npm", "pack", spec, "--silent", "--pack-destination", tmp)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm pack %s: %v\n%s", spec, err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if len(matches) != 1 {
		t.Fatalf("npm pack %s: expected one tarball, found %v", spec, matches)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(sub)
	if err := os.MkdirAll(sub, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(sub, filepath.Base(matches[0])), b, 0o644)
	}
	return b
}

// SigstoreJSTarball returns the published tarball of sigstore@2.0.0.
func SigstoreJSTarball(t testing.TB) []byte { return NpmPack(t, "sigstore@2.0.0") }

// PublicGoodTrustedRoot returns the public-good Sigstore trusted root JSON
// shipped in @sigstore/tuf's seeds.json.
func PublicGoodTrustedRoot(t testing.TB) []byte {
	t.Helper()
	b, err := PublicGoodTrustedRootFromTarball(NpmPack(t, "@sigstore/tuf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// PublicGoodTrustedRootFromTarball extracts trusted_root.json from the
// seeds.json inside an @sigstore/tuf tarball.
func PublicGoodTrustedRootFromTarball(tgz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(strings.NewReader(string(tgz)))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("seeds.json not found in @sigstore/tuf tarball")
		}
		if err != nil {
			return nil, err
		}
		if h.Name != "package/seeds.json" {
			continue
		}
		var seeds map[string]struct {
			Targets map[string]string `json:"targets"`
		}
		if err := json.NewDecoder(tr).Decode(&seeds); err != nil {
			return nil, fmt.Errorf("seeds.json: %w", err)
		}
		for _, s := range seeds {
			if enc, ok := s.Targets["trusted_root.json"]; ok {
				return decodeBase64(enc)
			}
		}
		return nil, errors.New("seeds.json has no trusted_root.json target")
	}
}
