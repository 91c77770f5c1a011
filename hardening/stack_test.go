// Package hardening holds Provenant's adversarial tests: a corpus of bad
// publishes generated from good ones, crash safety under SIGKILL,
// concurrency, and limits. Every test runs the real parts: the registry
// with its SQLite store and the real verifier, the embedded trust services
// (OIDC issuer, CA, transparency log) and a git forge over smart HTTP.
package hardening

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
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

// The repository every good publish is built from.
const (
	repoName     = "octo-org/octo-pkg"
	repoURL      = "https://github.com/" + repoName
	workflowFile = ".github/workflows/release.yml"
	password     = "correct horse battery staple"
)

// A stack is a registry (real verifier, SQLite store) with the trust
// services and a git forge, all on 127.0.0.1.
type stack struct {
	trust    *trusttest.Env
	forge    *httptest.Server
	forgeDir string
	commit   gitforge.Commit
	regDir   string
	store    store.Store
	reg      *registry.Server
	srv      *httptest.Server
}

// stackOptions adjust the verification policy.
type stackOptions struct {
	// packages are per-package policy rules.
	packages []verify.PackageRules
	// noGitLab leaves the embedded GitLab issuer out of the allowed issuers.
	noGitLab bool
	// rateLimits overrides the registry's rate limits.
	rateLimits registry.RateLimits
}

func newStack(t testing.TB, o stackOptions) *stack {
	t.Helper()
	if err := gitforge.Available(); err != nil {
		t.Skip("git is not installed")
	}
	s := &stack{trust: trusttest.Start(t), forgeDir: t.TempDir(), regDir: t.TempDir()}
	var err error
	s.commit, err = gitforge.CreateRepo(s.forgeDir, repoName, map[string]string{"README.md": "octo-pkg\n", "index.js": "module.exports = 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	s.forge = httptest.NewServer(gitforge.New(s.forgeDir))
	t.Cleanup(s.forge.Close)

	iss := s.trust.Services.Issuer()
	issuers := append(append([]string(nil), verify.DefaultIssuers...), iss.GitHubIssuerURL())
	if !o.noGitLab {
		issuers = append(issuers, iss.GitLabIssuerURL())
	}
	vcfg := verify.Config{
		TrustedRoots: []verify.RootConfig{{Name: verify.RootPrivate, Material: s.trust.TrustedRoot}},
		Policy:       verify.Policy{Default: verify.Rules{AllowedIssuers: issuers}, Packages: o.packages},
		Commit: commit.Config{Rewrites: commit.Rewrites{
			{Prefix: "https://github.com/", Replacement: s.forge.URL + "/"},
			{Prefix: "https://gitlab.com/", Replacement: s.forge.URL + "/"},
		}},
	}
	v, err := verify.New(vcfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.store, err = sqlite.New(context.Background(), sqlite.Config{Dir: s.regDir}); err != nil {
		t.Fatal(err)
	}
	s.reg, err = registry.New(context.Background(), registry.Config{DataDir: s.regDir, SweepInterval: -1, Verification: vcfg, RateLimits: o.rateLimits},
		registry.WithStore(s.store), registry.WithVerifier(v))
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(s.reg.Handler())
	t.Cleanup(func() { s.srv.Close(); s.reg.Close(); s.store.Close() })
	return s
}

// job is the simulated GitHub Actions job of a good publish.
func (s *stack) job() oidc.JobSpec {
	return oidc.JobSpec{Repository: repoName, SHA: s.commit.SHA, Ref: "refs/heads/main", Workflow: workflowFile}
}

// jobEnv returns the CI environment of spec as a getenv function.
func (s *stack) jobEnv(t testing.TB, spec oidc.JobSpec) func(string) (string, bool) {
	t.Helper()
	env := s.trust.JobEnv(t, spec)
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// response is a registry answer.
type response struct {
	status int
	body   []byte
	header http.Header
}

// errorText returns the {"error": ...} message, or "" when the body has none.
func (r response) errorText() string {
	var e npmwire.ErrorBody
	if json.Unmarshal(r.body, &e) != nil {
		return ""
	}
	return e.Error
}

// do sends one request to the registry.
func (s *stack) do(t testing.TB, method, path, token string, body []byte) response {
	t.Helper()
	return doURL(t, s.srv.URL, method, path, token, body)
}

func doURL(t testing.TB, base, method, path, token string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b, resp.Header}
}

// addUser creates an account and returns its token.
func addUser(t testing.TB, base, name string) string {
	t.Helper()
	body, _ := json.Marshal(npmwire.AddUserRequest{ID: "org.couchdb.user:" + name, Name: name, Password: password, Type: "user"})
	r := doURL(t, base, http.MethodPut, "/-/user/org.couchdb.user:"+name, "", body)
	if r.status != http.StatusCreated {
		t.Fatalf("adduser %s: %d %s", name, r.status, r.body)
	}
	var out npmwire.AddUserResponse
	if err := json.Unmarshal(r.body, &out); err != nil || out.Token == "" {
		t.Fatalf("adduser %s: no token in %s", name, r.body)
	}
	return out.Token
}

// A tarEntry is one entry of a hand-built tarball.
type tarEntry struct {
	name     string
	body     string
	typeflag byte // 0 means a regular file
	link     string
}

// makeTar builds a tar stream from entries, in order.
func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typeflag, Linkname: e.link, ModTime: time.Unix(499162500, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// packageJSON is a good package.json for name@version from the repository.
func packageJSON(name, version string) string {
	return `{"name":"` + name + `","version":"` + version + `","description":"hardening test package","main":"index.js",` +
		`"repository":{"type":"git","url":"git+https://github.com/octo-org/octo-pkg.git"}}`
}

// goodTarball is the tarball of name@version with package.json pj.
func goodTarball(t testing.TB, pj string) []byte {
	t.Helper()
	return gz(t, makeTar(t, []tarEntry{{name: "package/package.json", body: pj}, {name: "package/index.js", body: "module.exports = 1\n"}}))
}

// signOptions choose how a statement is signed.
type signOptions struct {
	payloadType string                   // default the in-toto type
	plain       bool                     // a message signature instead of DSSE
	certs       sign.CertificateProvider // default the live CA
}

// signStatement signs stmt with sigstore-go's stock signer: an ephemeral
// key, a certificate for the job's ID token, and a log entry in the live
// log. It returns the bundle JSON.
func (s *stack) signStatement(t testing.TB, spec oidc.JobSpec, stmt []byte, o signOptions) []byte {
	t.Helper()
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.certs == nil {
		o.certs = sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.trust.BaseURL, Timeout: 30 * time.Second})
	}
	if o.payloadType == "" {
		o.payloadType = provenance.PayloadType
	}
	var content sign.Content = &sign.DSSEData{Data: stmt, PayloadType: o.payloadType}
	if o.plain {
		content = &sign.PlainData{Data: stmt}
	}
	pb, err := sign.Bundle(content, kp, sign.BundleOptions{
		CertificateProvider:        o.certs,
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.trust.IDToken(t, spec)},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: s.trust.BaseURL, Version: 1, Timeout: 30 * time.Second})},
	})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// statementFor builds npm's statement for spec's environment.
func (s *stack) statementFor(t testing.TB, spec oidc.JobSpec, name, version string, tarball []byte) []byte {
	t.Helper()
	stmt, err := provenance.BuildStatement(s.jobEnv(t, spec), name, version, tarball)
	if err != nil {
		t.Fatal(err)
	}
	return stmt
}

// provenanceBundle signs npm's statement for name@version as spec's job.
func (s *stack) provenanceBundle(t testing.TB, spec oidc.JobSpec, name, version string, tarball []byte) []byte {
	t.Helper()
	return s.signStatement(t, spec, s.statementFor(t, spec, name, version, tarball), signOptions{})
}

// A publish is the parts of one npm publish body, to be mutated.
type publish struct {
	name, version string
	tag           string
	tarball       []byte
	bundle        []byte
	// manifest edits applied to versions[version] before marshalling.
	manifest map[string]any
	// attachments replaces the attachments when set.
	attachments map[string]any
}

// newPublish builds a good publish of tarball (and bundle, if any).
func newPublish(name, version string, tarball, bundle []byte) *publish {
	return &publish{name: name, version: version, tag: "latest", tarball: tarball, bundle: bundle}
}

func (p *publish) clone() *publish {
	c := *p
	c.manifest = map[string]any{}
	for k, v := range p.manifest {
		c.manifest[k] = v
	}
	return &c
}

// defaultManifest is npm's manifest for the publish.
func (p *publish) defaultManifest() map[string]any {
	s512, s1 := sha512.Sum512(p.tarball), sha1.Sum(p.tarball)
	m := map[string]any{
		"name": p.name, "version": p.version, "_id": p.name + "@" + p.version, "description": "hardening test package",
		"main":       "index.js",
		"repository": map[string]any{"type": "git", "url": "git+https://github.com/octo-org/octo-pkg.git"},
		"dist": map[string]any{
			"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
			"shasum":    hex.EncodeToString(s1[:]),
			"tarball":   "http://registry.invalid/" + p.name + "/-/" + p.name + "-" + p.version + ".tgz",
		},
	}
	for k, v := range p.manifest {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// defaultAttachments are npm's attachments for the publish.
func (p *publish) defaultAttachments() map[string]any {
	atts := map[string]any{
		npmwire.TarballAttachmentName(p.name, p.version): map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(p.tarball), "length": len(p.tarball),
		},
	}
	if p.bundle != nil {
		atts[npmwire.BundleAttachmentName(p.name, p.version)] = map[string]any{
			"content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": string(p.bundle), "length": len(p.bundle),
		}
	}
	return atts
}

// body marshals npm's publish body.
func (p *publish) body(t testing.TB) []byte {
	t.Helper()
	atts := p.attachments
	if atts == nil {
		atts = p.defaultAttachments()
	}
	tags := map[string]string{}
	if p.tag != "" {
		tags[p.tag] = p.version
	}
	b, err := json.Marshal(map[string]any{
		"_id": p.name, "name": p.name, "dist-tags": tags, "versions": map[string]any{p.version: p.defaultManifest()},
		"access": "public", "_attachments": atts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// path is the publish URL path.
func (p *publish) path() string { return "/" + npmwire.EscapeName(p.name) }

// A snapshot is everything a rejected publish must leave unchanged: the
// blob files on disk, and each watched package's versions, tags, owners
// and revision, and the set of packages.
type snapshot struct {
	blobs    []string
	packages map[string]string
	names    []string
}

func (s *stack) snapshot(t testing.TB, watch ...string) snapshot {
	t.Helper()
	return takeSnapshot(t, s.store, s.regDir, watch...)
}

func takeSnapshot(t testing.TB, st store.Store, dir string, watch ...string) snapshot {
	t.Helper()
	ctx := context.Background()
	snap := snapshot{packages: map[string]string{}}
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			snap.blobs = append(snap.blobs, p)
		}
		return nil
	})
	sort.Strings(snap.blobs)
	for _, name := range watch {
		pkg, err := st.Package(ctx, name)
		if err != nil {
			snap.packages[name] = "error: " + err.Error()
			continue
		}
		var vs []string
		for _, v := range pkg.Versions {
			vs = append(vs, v.Version+"="+v.SHA512+"/"+v.TarballKey+"/"+v.BundleKey+"/"+v.Deprecated)
		}
		tags, _ := json.Marshal(pkg.DistTags)
		snap.packages[name] = strings.Join([]string{
			"rev=" + jsonString(pkg.Rev), "versions=" + strings.Join(vs, ","), "tags=" + string(tags),
			"owners=" + strings.Join(pkg.Owners, ","), "unpublished=" + jsonString(pkg.Unpublished),
		}, " ")
	}
	hits, _, err := st.Search(ctx, "", 0, 10000)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	for _, h := range hits {
		snap.names = append(snap.names, h.Name)
	}
	sort.Strings(snap.names)
	return snap
}

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

// diff describes how after differs from s, or "" when equal.
func (s snapshot) diff(after snapshot) string {
	var out []string
	if !slices.Equal(s.blobs, after.blobs) {
		out = append(out, "blobs changed: "+strings.Join(added(s.blobs, after.blobs), " "))
	}
	if !slices.Equal(s.names, after.names) {
		out = append(out, "packages changed: "+strings.Join(added(s.names, after.names), " "))
	}
	for k, v := range s.packages {
		if after.packages[k] != v {
			out = append(out, k+": "+v+" -> "+after.packages[k])
		}
	}
	return strings.Join(out, "; ")
}

func added(before, after []string) []string {
	var out []string
	for _, a := range after {
		if !slices.Contains(before, a) {
			out = append(out, "+"+filepath.Base(a))
		}
	}
	for _, b := range before {
		if !slices.Contains(after, b) {
			out = append(out, "-"+filepath.Base(b))
		}
	}
	return out
}

// mutateBundle parses bundle JSON, applies f and marshals it back.
func mutateBundle(t testing.TB, raw []byte, f func(*protobundle.Bundle)) []byte {
	t.Helper()
	pb := new(protobundle.Bundle)
	if err := protojson.Unmarshal(raw, pb); err != nil {
		t.Fatal(err)
	}
	f(pb)
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
