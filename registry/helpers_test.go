package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify"
)

func TestMain(m *testing.M) {
	// Keep test and benchmark output readable; errors still fail tests.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// fakeVerifier stands in for registry/verify in unit tests: it accepts a
// version without a bundle, records a bundle's trust root as given, and
// fails with a CheckError when fail is set.
type fakeVerifier struct {
	root  string
	fail  *provenance.CheckError
	calls int
}

func (f *fakeVerifier) Verify(ctx context.Context, in verify.Input) (*verify.Result, error) {
	f.calls++
	if f.fail != nil {
		return nil, f.fail
	}
	r := &verify.Result{VerifiedAt: time.Now().UTC(), Checks: []verify.CheckRecord{{Name: "provenance-required", Status: verify.StatusOff}}}
	if in.Bundle != nil {
		r.Provenance, r.TrustRoot = true, f.root
		r.Summary = &provenance.Summary{PredicateType: npmwire.PredicateSLSAv1, Subjects: []provenance.Subject{{Name: npmwire.PURL(in.Name, in.Version)}}}
	}
	return r, nil
}

type testRegistry struct {
	*httptest.Server
	srv *Server
	fv  *fakeVerifier
	dir string
}

func newTestRegistry(t testing.TB, opts ...Option) *testRegistry {
	t.Helper()
	fv := &fakeVerifier{root: verify.RootPublicGood}
	dir := t.TempDir()
	srv, err := New(context.Background(), Config{DataDir: dir, SweepInterval: -1}, append([]Option{WithVerifier(fv)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &testRegistry{Server: newHTTPTest(t, srv), srv: srv, fv: fv, dir: dir}
}

// newHTTPTest serves srv on 127.0.0.1 until the test ends.
func newHTTPTest(t testing.TB, srv *Server) *httptest.Server {
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return hs
}

// makeTarball packs files (paths under package/) into a gzipped tarball.
func makeTarball(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	// Sorted, so that the same files always give the same bytes.
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := files[name]
		if target, ok := strings.CutPrefix(body, "symlink:"); ok {
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777})
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func pkgJSON(name, version string, extra ...string) string {
	s := `{"name":"` + name + `","version":"` + version + `"`
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

// publishBody builds npm's publish body for a tarball.
func publishBody(t testing.TB, name, version, tag string, tgz, bundle []byte) []byte {
	t.Helper()
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	manifest := map[string]any{
		"name": name, "version": version, "_id": name + "@" + version, "description": "the " + name + " package",
		"dist": map[string]any{
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
			"shasum":    hex.EncodeToString(s1[:]),
			"tarball":   "http://x/" + name + "/-/" + name + "-" + version + ".tgz",
		},
	}
	atts := map[string]any{
		npmwire.TarballAttachmentName(name, version): map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz),
		},
	}
	if bundle != nil {
		atts[npmwire.BundleAttachmentName(name, version)] = map[string]any{
			"content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": string(bundle), "length": len(bundle),
		}
	}
	tags := map[string]string{}
	if tag != "" {
		tags[tag] = version
	}
	b, err := json.Marshal(map[string]any{
		"_id": name, "name": name, "dist-tags": tags, "versions": map[string]any{version: manifest},
		"access": nil, "_attachments": atts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends a request with an optional bearer token and returns status and body.
func (r *testRegistry) do(t testing.TB, method, path, token string, body []byte, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, r.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// addUser creates a user (email name@example.com) and returns its token.
func (r *testRegistry) addUser(t testing.TB, name string) string {
	t.Helper()
	body, _ := json.Marshal(npmwire.AddUserRequest{ID: "org.couchdb.user:" + name, Name: name, Password: "correct horse battery", Email: name + "@example.com", Type: "user"})
	code, resp, _ := r.do(t, http.MethodPut, "/-/user/org.couchdb.user:"+name, "", body)
	if code != http.StatusCreated {
		t.Fatalf("adduser %s: %d %s", name, code, resp)
	}
	var out npmwire.AddUserResponse
	json.Unmarshal(resp, &out)
	return out.Token
}

// publish publishes name@version (tag latest) and checks the status.
func (r *testRegistry) publish(t testing.TB, token, name, version, tag string, bundle []byte, want int) []byte {
	t.Helper()
	tgz := makeTarball(t, map[string]string{"package/package.json": pkgJSON(name, version), "package/index.js": "module.exports = 1\n"})
	code, resp, _ := r.do(t, http.MethodPut, "/"+npmwire.EscapeName(name), token, publishBody(t, name, version, tag, tgz, bundle))
	if code != want {
		t.Fatalf("publish %s@%s: status %d, want %d: %s", name, version, code, want, resp)
	}
	return resp
}
