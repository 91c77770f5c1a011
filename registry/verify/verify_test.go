package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/registry/verify/verifytest"
)

// fixture is a private Sigstore, a local forge holding the job's
// repository, and a publication signed through them.
type fixture struct {
	sig     *verifytest.Sigstore
	forge   *httptest.Server
	job     verifytest.Job
	tarball []byte
	pkgJSON json.RawMessage
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	if err := gitforge.Available(); err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	c, err := gitforge.CreateRepo(root, "octo-org/octo-pkg", map[string]string{"package.json": `{"name":"octo-pkg"}`})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		sig:     verifytest.New(t),
		forge:   httptest.NewServer(gitforge.New(root)),
		job:     verifytest.Job{SHA: c.SHA},
		tarball: []byte("not really a tarball, but bytes are bytes\n"),
		pkgJSON: json.RawMessage(`{"name":"octo-pkg","version":"1.0.0","repository":{"type":"git","url":"git+https://github.com/octo-org/octo-pkg.git"}}`),
	}
	t.Cleanup(f.forge.Close)
	return f
}

func (f *fixture) config(policy Policy) Config {
	return Config{
		TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: f.sig.TrustedRootJSON()}},
		Policy:       policy,
		Commit:       commit.Config{Rewrites: commit.Rewrites{{Prefix: "https://github.com/", Replacement: f.forge.URL + "/"}}},
	}
}

func (f *fixture) verifier(t testing.TB, policy Policy) *Verifier {
	t.Helper()
	v, err := New(f.config(policy))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) input(t testing.TB, job verifytest.Job, opts verifytest.Options) Input {
	t.Helper()
	return Input{Name: "octo-pkg", Version: "1.0.0", Tarball: f.tarball, PackageJSON: f.pkgJSON,
		Bundle: f.sig.Sign(t, job, "octo-pkg", "1.0.0", f.tarball, opts)}
}

func TestPrivateBundleAccepted(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Policy{})
	for _, mt := range []string{verifytest.MediaTypeV01, verifytest.MediaTypeV02, verifytest.MediaTypeV03} {
		t.Run(mt, func(t *testing.T) {
			res, err := v.Verify(context.Background(), f.input(t, f.job, verifytest.Options{MediaType: mt}))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !res.Provenance || res.TrustRoot != RootPrivate || res.BundleMediaType != mt ||
				res.CommitStatus != StatusVerified || res.Issuer != IssuerGitHubActions ||
				res.SAN != "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main" ||
				res.Summary == nil || res.Summary.SourceCommit != f.job.SHA || res.IntegratedTime.IsZero() || res.LogID == "" {
				t.Errorf("Result = %+v", res)
			}
			for _, c := range res.Checks {
				if c.Status != StatusVerified {
					t.Errorf("check %+v not verified", c)
				}
			}
		})
	}
}

// TestRejections changes one thing about a valid publication at a time and
// expects the named check to reject it.
func TestRejections(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Policy{})
	other := verifytest.New(t)
	otherStatement := func(job verifytest.Job, name, version string, tarball []byte) []byte {
		env := job.Env()
		st, err := provenance.BuildStatement(func(k string) (string, bool) { s, ok := env[k]; return s, ok }, name, version, tarball)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for _, tc := range []struct {
		name  string
		job   func(*verifytest.Job)
		opts  verifytest.Options
		in    func(*Input)
		check string
	}{
		{name: "another package's tarball", in: func(in *Input) { in.Tarball = []byte("another package") }, check: "subject-digest"},
		{name: "another package name", in: func(in *Input) { in.Name = "other-pkg" }, check: "subject-name"},
		{name: "another version", in: func(in *Input) { in.Version = "1.0.1" }, check: "subject-name"},
		{name: "repository not matching package.json", in: func(in *Input) {
			in.PackageJSON = json.RawMessage(`{"repository":"github:octo-org/other-pkg"}`)
		}, check: "repository-url"},
		{name: "no repository in package.json", in: func(in *Input) { in.PackageJSON = json.RawMessage(`{}`) }, check: "repository-missing"},
		{name: "commit absent from the repository", job: func(j *verifytest.Job) { j.SHA = strings.Repeat("b", 40) }, check: "commit-exists"},
		{name: "repository absent from the forge", job: func(j *verifytest.Job) { j.Repository = "octo-org/gone" }, in: func(in *Input) {
			in.PackageJSON = json.RawMessage(`{"repository":"https://github.com/octo-org/gone"}`)
		}, check: "commit-exists"},
		{name: "self-hosted runner", job: func(j *verifytest.Job) { j.RunnerEnvironment = "self-hosted" }, check: "runner-environment"},
		{name: "private repository", job: func(j *verifytest.Job) { j.Visibility = "private" }, check: "repository-visibility"},
		{name: "issuer not allowed", job: func(j *verifytest.Job) { j.Issuer = "https://ci.example.com" }, check: "issuer-allowed"},
		{name: "statement commit differs from the certificate's", opts: verifytest.Options{
			Statement: otherStatement(verifytest.Job{SHA: strings.Repeat("c", 40)}, "octo-pkg", "1.0.0", f.tarball)}, check: "certificate-source-commit"},
		{name: "two subjects", opts: verifytest.Options{Statement: addSubject(t,
			otherStatement(f.job, "octo-pkg", "1.0.0", f.tarball), "pkg:npm/evil@1.0.0", f.tarball)}, check: "subject-count"},
		{name: "other predicate type", opts: verifytest.Options{Statement: []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[` +
			`{"name":"pkg:npm/octo-pkg@1.0.0","digest":{"sha512":"` + provenance.TarballSHA512(f.tarball) + `"}}],` +
			`"predicateType":"https://example.com/other","predicate":{}}`)}, check: "predicate-type"},
		{name: "media type v0.4", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.MediaType = "application/vnd.dev.sigstore.bundle.v0.4+json"
		}}, check: "bundle-media-type"},
		{name: "payload type", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.GetDsseEnvelope().PayloadType = "text/plain"
		}}, check: "payload-type"},
		{name: "entry kind", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].KindVersion = &protorekor.KindVersion{Kind: "rekord", Version: "0.0.1"}
		}}, check: "tlog-entry-kind"},
		{name: "no log entry", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries = nil
		}}, check: "tlog-entry-kind"},
		{name: "SET", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].InclusionPromise.SignedEntryTimestamp[10] ^= 1
		}}, check: "tlog-set"},
		{name: "inclusion proof", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].InclusionProof.RootHash[0] ^= 1
		}}, check: "tlog-inclusion"},
		{name: "checkpoint", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			cp := b.VerificationMaterial.TlogEntries[0].InclusionProof.Checkpoint
			cp.Envelope = strings.Replace(cp.Envelope, "rekor.localhost - 123", "rekor.localhost - 124", 1)
		}}, check: "tlog-checkpoint"},
		{name: "DSSE signature", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.GetDsseEnvelope().Signatures[0].Sig[8] ^= 1
		}}, check: "tlog-entry-mismatch"},
		{name: "statement edited after signing", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			env := b.GetDsseEnvelope()
			env.Payload = bytes.Replace(env.Payload, []byte("refs/heads/main"), []byte("refs/heads/evil"), 1)
		}}, check: "tlog-entry-mismatch"},
		{name: "certificate from an unknown CA", opts: verifytest.Options{OtherCA: true}, check: "certificate-chain"},
		{name: "logged after the certificate expired", opts: verifytest.Options{IntegratedTimeOffset: 30 * time.Minute}, check: "certificate-validity"},
		{name: "log of an unknown instance", in: func(in *Input) {
			in.Bundle = other.Sign(t, f.job, "octo-pkg", "1.0.0", f.tarball, verifytest.Options{})
		}, check: "trusted-root"},
		{name: "v0.1 without inclusion promise", opts: verifytest.Options{MediaType: verifytest.MediaTypeV01, Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].InclusionPromise = nil
		}}, check: "tlog-set"},
		{name: "v0.3 without inclusion proof", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.TlogEntries[0].InclusionProof = nil
		}}, check: "tlog-inclusion"},
		{name: "v0.3 with a certificate chain", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: &protocommon.X509CertificateChain{
				Certificates: []*protocommon.X509Certificate{b.VerificationMaterial.GetCertificate()}}}
		}}, check: "bundle-parse"},
		{name: "public key instead of a certificate", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "k"}}
		}}, check: "signing-certificate"},
		{name: "message signature instead of DSSE", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
				MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: make([]byte, 32)}, Signature: []byte{1}}}
		}}, check: "bundle-content"},
		{name: "not JSON", in: func(in *Input) { in.Bundle = []byte("{not json") }, check: "bundle-parse"},
		{name: "no verification material", opts: verifytest.Options{Mutate: func(b *protobundle.Bundle) {
			b.VerificationMaterial = nil
		}}, check: "bundle-parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := f.job
			if tc.job != nil {
				tc.job(&job)
			}
			in := f.input(t, job, tc.opts)
			if tc.in != nil {
				tc.in(&in)
			}
			res, err := v.Verify(context.Background(), in)
			wantCheck(t, err, tc.check)
			if res == nil || len(res.Checks) == 0 {
				t.Fatalf("no check records with the error")
			}
			if last := res.Checks[len(res.Checks)-1]; last.Name != tc.check || last.Status != StatusFailed {
				t.Errorf("last record = %+v, want %s failed", last, tc.check)
			}
			if res.Provenance {
				t.Error("Result.Provenance true on a rejection")
			}
		})
	}
}

func TestBundleSizeLimit(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Policy{})
	in := f.input(t, f.job, verifytest.Options{})
	pad := func(n int) []byte {
		return append(append([]byte(nil), in.Bundle...), bytes.Repeat([]byte(" "), n-len(in.Bundle))...)
	}
	in.Bundle = pad(limits.MaxBundleBytes)
	if _, err := v.Verify(context.Background(), in); err != nil {
		t.Fatalf("bundle of exactly the limit: %v", err)
	}
	in.Bundle = pad(limits.MaxBundleBytes + 1)
	_, err := v.Verify(context.Background(), in)
	wantCheck(t, err, "bundle-size")
}

func TestPolicyRelaxations(t *testing.T) {
	f := newFixture(t)
	yes := true
	ctx := context.Background()
	t.Run("self-hosted and private allowed for a scope", func(t *testing.T) {
		v := f.verifier(t, Policy{Packages: []PackageRules{{Match: "octo-*", Rules: Rules{
			RunnerEnvironments: []string{"github-hosted", "self-hosted"}, RepositoryVisibility: []string{Any}}}}})
		job := f.job
		job.RunnerEnvironment, job.Visibility = "self-hosted", "private"
		if _, err := v.Verify(ctx, f.input(t, job, verifytest.Options{})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("commit warn", func(t *testing.T) {
		v := f.verifier(t, Policy{Default: Rules{CommitCheck: CommitWarn}})
		job := f.job
		job.SHA = strings.Repeat("d", 40)
		res, err := v.Verify(ctx, f.input(t, job, verifytest.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if res.CommitStatus != StatusUnverified || !res.Provenance {
			t.Errorf("CommitStatus = %q, Provenance %v", res.CommitStatus, res.Provenance)
		}
	})
	t.Run("commit off", func(t *testing.T) {
		v := f.verifier(t, Policy{Packages: []PackageRules{{Match: "octo-pkg", Rules: Rules{CommitCheck: CommitOff}}}})
		job := f.job
		job.SHA = strings.Repeat("d", 40)
		res, err := v.Verify(ctx, f.input(t, job, verifytest.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if res.CommitStatus != StatusOff {
			t.Errorf("CommitStatus = %q", res.CommitStatus)
		}
	})
	t.Run("no bundle", func(t *testing.T) {
		in := f.input(t, f.job, verifytest.Options{})
		in.Bundle = nil
		res, err := f.verifier(t, Policy{}).Verify(ctx, in)
		if err != nil || res.Provenance || len(res.Checks) != 1 || res.Checks[0].Status != StatusOff {
			t.Fatalf("without provenance: %+v, %v", res, err)
		}
		_, err = f.verifier(t, Policy{Packages: []PackageRules{{Match: "octo-pkg", Rules: Rules{ProvenanceRequired: &yes}}}}).Verify(ctx, in)
		wantCheck(t, err, "provenance-required")
	})
	t.Run("trusted publisher with environment", func(t *testing.T) {
		v := f.verifier(t, Policy{Default: Rules{TrustedPublishers: []TrustedPublisher{
			{Repository: "https://github.com/octo-org/octo-pkg", Workflow: ".github/workflows/release.yml", Environment: "npm"}}}})
		job := f.job
		_, err := v.Verify(ctx, f.input(t, job, verifytest.Options{}))
		wantCheck(t, err, "trusted-publisher")
		job.Environment = "npm"
		if _, err := v.Verify(ctx, f.input(t, job, verifytest.Options{})); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTwoRoots configures the public-good and a private root together: each
// bundle is verified by its own root, and a policy can restrict a scope to one.
func TestTwoRoots(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(Policy{Packages: []PackageRules{{Match: "sigstore", Rules: Rules{TrustedRoots: []string{RootPrivate}}}}})
	cfg.TrustedRoots = append([]RootConfig{{Name: RootPublicGood, Path: publicGood(t)}}, cfg.TrustedRoots...)
	cfg.Policy.Default.CommitCheck = CommitOff
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Verify(context.Background(), f.input(t, f.job, verifytest.Options{}))
	if err != nil || res.TrustRoot != RootPrivate {
		t.Fatalf("private bundle: %+v, %v", res, err)
	}
	_, err = v.Verify(context.Background(), Input{Name: "sigstore", Version: "2.0.0", Tarball: realworldTarball(t),
		PackageJSON: json.RawMessage(sigstorePackageJSON), Bundle: realworldBundle(t)})
	wantCheck(t, err, "trusted-root")
}

// addSubject returns statement with one more subject.
func addSubject(t *testing.T, statement []byte, name string, tarball []byte) []byte {
	t.Helper()
	var st map[string]any
	if err := json.Unmarshal(statement, &st); err != nil {
		t.Fatal(err)
	}
	st["subject"] = append(st["subject"].([]any), map[string]any{"name": name, "digest": map[string]any{"sha512": provenance.TarballSHA512(tarball)}})
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConcurrentVerify shares one Verifier between goroutines verifying
// good and bad publications (run it with -race).
func TestConcurrentVerify(t *testing.T) {
	f := newFixture(t)
	v := f.verifier(t, Policy{})
	good := f.input(t, f.job, verifytest.Options{})
	bad := good
	bad.Version = "9.9.9"
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		in := good
		if i%2 == 1 {
			in = bad
		}
		go func() {
			res, err := v.Verify(context.Background(), in)
			switch {
			case in.Version == good.Version && (err != nil || !res.Provenance):
				errs <- fmt.Errorf("good publication: %v", err)
			case in.Version != good.Version && err == nil:
				errs <- fmt.Errorf("bad publication accepted")
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
