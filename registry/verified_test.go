package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

// newVerifiedRegistry runs a registry with the real verifier (registry/verify).
func newVerifiedRegistry(t *testing.T, cfg verify.Config) *testRegistry {
	t.Helper()
	dir := t.TempDir()
	srv, err := New(context.Background(), Config{DataDir: dir, SweepInterval: -1, Verification: cfg})
	if err != nil {
		t.Fatal(err)
	}
	r := &testRegistry{srv: srv, dir: dir}
	r.Server = newHTTPTest(t, srv)
	return r
}

// publishTarball publishes a real tarball with its own package.json as the
// version manifest, as npm does.
func (r *testRegistry) publishTarball(t *testing.T, tok, name, version string, tgz, bundle []byte) (int, string) {
	t.Helper()
	info, err := inspectTarball(tgz)
	if err != nil {
		t.Fatal(err)
	}
	body := mutateBody(t, publishBody(t, name, version, "latest", tgz, bundle), func(m map[string]any) {
		var pj map[string]any
		json.Unmarshal(info.PackageJSON, &pj)
		pj["_id"], pj["dist"] = name+"@"+version, version0(m)["dist"]
		m["versions"] = map[string]any{version: pj}
	})
	code, resp, _ := r.do(t, http.MethodPut, "/"+npmwire.EscapeName(name), tok, body)
	return code, string(resp)
}

// TestPublicGoodBundleAccepted publishes sigstore@2.0.0's real tarball with
// its real public-good bundle (v0.1, intoto 0.0.2) against the public-good
// root from @sigstore/tuf, commit check off (no internet), then reads the
// bundle back from the attestations endpoint npm uses.
func TestPublicGoodBundleAccepted(t *testing.T) {
	rootPath := filepath.Join(t.TempDir(), "public-good.json")
	if err := os.WriteFile(rootPath, realworld.PublicGoodTrustedRoot(t), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newVerifiedRegistry(t, verify.Config{
		TrustedRoots: []verify.RootConfig{{Name: verify.RootPublicGood, Path: rootPath}},
		Policy:       verify.Policy{Default: verify.Rules{CommitCheck: verify.CommitOff}},
	})
	tok := r.addUser(t, "alice")
	bundle := realworld.SigstoreJSBundle(t)
	tgz := realworld.SigstoreJSTarball(t)

	// The same bundle attached to another package's real tarball is refused.
	other := realworld.NpmPack(t, "@sigstore/tuf")
	info, err := inspectTarball(other)
	if err != nil {
		t.Fatal(err)
	}
	var pj struct{ Name, Version string }
	json.Unmarshal(info.PackageJSON, &pj)
	if code, resp := r.publishTarball(t, tok, pj.Name, pj.Version, other, bundle); code != http.StatusUnprocessableEntity || !strings.Contains(resp, "subject") {
		t.Fatalf("bundle on another tarball: %d %s", code, resp)
	}
	code, resp := r.publishTarball(t, tok, "sigstore", "2.0.0", tgz, bundle)
	if code != http.StatusCreated {
		t.Fatalf("publish sigstore@2.0.0: %d %s", code, resp)
	}
	_, body, _ := r.do(t, http.MethodGet, "/sigstore/2.0.0", "", nil)
	var m struct{ Dist npmwire.Dist }
	json.Unmarshal(body, &m)
	if m.Dist.Attestations == nil || m.Dist.Attestations.Provenance.PredicateType != npmwire.PredicateSLSAv1 {
		t.Fatalf("dist.attestations = %+v", m.Dist.Attestations)
	}
	atts := fetchAttestations(t, r, "/-/npm/v1/attestations/sigstore@2.0.0")
	if len(atts) != 1 || !jsonEqual(atts[0].Bundle, bundle) {
		t.Fatalf("attestations endpoint does not return the uploaded bundle")
	}
	all := fetchAttestations(t, r, "/-/provenant/v1/attestations/sigstore@2.0.0")
	if len(all) != 2 || all[0].PredicateType != npmwire.PredicatePublishV01 {
		t.Fatalf("provenant attestations = %d", len(all))
	}
	checkPublishAttestation(t, npmKeys(t, r), all[0], "sigstore", "2.0.0", m.Dist.Integrity, r.URL)
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestPrivateInstanceBundles runs the real verifier against bundles signed
// by an in-memory private Sigstore: a correct one is accepted; the same
// bundle with another package's tarball, another version, or a package.json
// repository that does not match is rejected with the named check, and
// nothing is stored.
func TestPrivateInstanceBundles(t *testing.T) {
	sig := verifytest.New(t)
	job := verifytest.Job{}
	const sha = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	r := newVerifiedRegistry(t, verify.Config{
		TrustedRoots: []verify.RootConfig{{Name: verify.RootPrivate, JSON: sig.TrustedRootJSON()}},
		CommitChecker: commit.CheckerFunc(func(_ context.Context, repo, got string) error {
			if repo == job.RepositoryURL() && got == sha {
				return nil
			}
			return fmt.Errorf("%s@%s: %w", repo, got, commit.ErrNotFound)
		}),
	})
	tok := r.addUser(t, "alice")
	repo := `"repository":{"type":"git","url":"git+` + job.RepositoryURL() + `.git"}`
	mk := func(name, version, repository string) []byte {
		return makeTarball(t, map[string]string{"package/package.json": pkgJSON(name, version, repository), "package/index.js": "1"})
	}
	good := mk("@octo/pkg", "1.0.0", repo)
	bundle := sig.Sign(t, job, "@octo/pkg", "1.0.0", good, verifytest.Options{})

	tests := []struct {
		name, pkg, version string
		tgz, bundle        []byte
		check              string
	}{
		{"another package's tarball", "@octo/pkg", "1.0.0", mk("@octo/pkg", "1.0.0", repo+`,"description":"other bytes"`), bundle, "subject"},
		{"another version", "@octo/pkg", "1.0.1", mk("@octo/pkg", "1.0.1", repo), bundle, "subject"},
		{"repository mismatch", "@octo/pkg", "1.0.0", mk("@octo/pkg", "1.0.0", `"repository":"https://github.com/evil/fork"`),
			sig.Sign(t, job, "@octo/pkg", "1.0.0", mk("@octo/pkg", "1.0.0", `"repository":"https://github.com/evil/fork"`), verifytest.Options{}), "repository"},
		{"missing commit", "@octo/pkg", "1.0.0", good, sig.Sign(t, verifytest.Job{SHA: strings.Repeat("b", 40)}, "@octo/pkg", "1.0.0", good, verifytest.Options{}), "commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, resp := r.publishTarball(t, tok, tt.pkg, tt.version, tt.tgz, tt.bundle)
			if code != http.StatusUnprocessableEntity || !strings.Contains(resp, "Error verifying sigstore provenance bundle: ") || !strings.Contains(resp, tt.check) {
				t.Fatalf("status %d %s, want 422 naming %q", code, resp, tt.check)
			}
			if code, _, _ := r.do(t, http.MethodGet, "/@octo%2fpkg", "", nil); code != http.StatusNotFound {
				t.Fatalf("a rejected version was stored: %d", code)
			}
		})
	}
	if code, resp := r.publishTarball(t, tok, "@octo/pkg", "1.0.0", good, bundle); code != http.StatusCreated {
		t.Fatalf("good bundle: %d %s", code, resp)
	}
	_, body, _ := r.do(t, http.MethodGet, "/@octo/pkg/1.0.0", "", nil)
	var m struct{ Dist npmwire.Dist }
	json.Unmarshal(body, &m)
	if m.Dist.Attestations != nil {
		t.Errorf("private provenance listed in dist.attestations: %+v", m.Dist.Attestations)
	}
	all := fetchAttestations(t, r, "/-/provenant/v1/attestations/@octo%2fpkg@1.0.0")
	if len(all) != 2 || !jsonEqual(all[1].Bundle, bundle) {
		t.Fatalf("provenant attestations: %d", len(all))
	}
	pkg, err := r.srv.store.Package(context.Background(), "@octo/pkg")
	if err != nil {
		t.Fatal(err)
	}
	var res verify.Result
	if err := json.Unmarshal(pkg.Versions[0].Provenance, &res); err != nil || !res.Provenance || res.TrustRoot != verify.RootPrivate || res.CommitStatus != verify.StatusVerified {
		t.Errorf("stored result = %+v, %v", res, err)
	}
}
