package verify

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/trust/oidc"
	"github.com/provenant/provenant/trust/trusttest"
)

// trustFixture runs the embedded trust services (OIDC issuer, CA, log) and a
// local forge, and signs publications through them with sigstore-go's stock
// Fulcio and Rekor clients, as a CI job would.
type trustFixture struct {
	env    *trusttest.Env
	root   string // the forge's repositories
	forge  *httptest.Server
	commit string
}

func newTrustFixture(t testing.TB) *trustFixture {
	t.Helper()
	if err := gitforge.Available(); err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	c, err := gitforge.CreateRepo(root, "octo-org/octo-pkg", map[string]string{"package.json": `{"name":"octo-pkg"}`})
	if err != nil {
		t.Fatal(err)
	}
	f := &trustFixture{env: trusttest.Start(t), root: root, forge: httptest.NewServer(gitforge.New(root)), commit: c.SHA}
	t.Cleanup(f.forge.Close)
	return f
}

func (f *trustFixture) spec(sha string) oidc.JobSpec {
	return oidc.JobSpec{Repository: "octo-org/octo-pkg", SHA: sha, Ref: "refs/heads/main", Workflow: ".github/workflows/release.yml"}
}

// sign builds npm's statement from the simulated job's environment and
// signs it through the trust services.
func (f *trustFixture) sign(t testing.TB, spec oidc.JobSpec, name, version string, tarball []byte) []byte {
	t.Helper()
	jobEnv := f.env.JobEnv(t, spec)
	statement, err := provenance.BuildStatement(func(k string) (string, bool) { v, ok := jobEnv[k]; return v, ok }, name, version, tarball)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: provenance.PayloadType}, kp, sign.BundleOptions{
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: f.env.BaseURL}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: f.env.IDToken(t, spec)},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: f.env.BaseURL, Version: 1})},
		Context:                    context.Background(),
	})
	if err != nil {
		t.Fatalf("sign.Bundle: %v", err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *trustFixture) verifier(t testing.TB, mode CommitMode) *Verifier {
	t.Helper()
	v, err := New(Config{
		TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: f.env.Services.TrustedRootJSON()}},
		Policy:       Policy{Default: Rules{AllowedIssuers: []string{f.env.BaseURL}, CommitCheck: mode}},
		Commit:       commit.Config{Rewrites: commit.Rewrites{{Prefix: "https://github.com/", Replacement: f.forge.URL + "/"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const octoPackageJSON = `{"name":"octo-pkg","version":"1.0.0","repository":{"type":"git","url":"git+https://github.com/octo-org/octo-pkg.git"}}`

// TestTrustServices verifies bundles signed through the embedded trust
// services over HTTP, checking the commit in a repository served by real
// git over smart HTTP.
func TestTrustServices(t *testing.T) {
	f := newTrustFixture(t)
	v := f.verifier(t, CommitRequire)
	tarball := []byte("octo-pkg 1.0.0 tarball bytes")
	in := Input{Name: "octo-pkg", Version: "1.0.0", Tarball: tarball, PackageJSON: json.RawMessage(octoPackageJSON),
		Bundle: f.sign(t, f.spec(f.commit), "octo-pkg", "1.0.0", tarball)}
	ctx := context.Background()

	res, err := v.Verify(ctx, in)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !res.Provenance || res.TrustRoot != RootPrivate || res.Issuer != f.env.BaseURL || res.CommitStatus != StatusVerified ||
		res.BundleMediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" || res.Summary.SourceCommit != f.commit ||
		res.SAN != "https://github.com/octo-org/octo-pkg/.github/workflows/release.yml@refs/heads/main" {
		t.Errorf("Result = %+v", res)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*Input)
		check  string
	}{
		{"another package's tarball", func(in *Input) { in.Tarball = []byte("left-pad 1.3.0 tarball bytes") }, "subject-digest"},
		{"another version", func(in *Input) { in.Version = "1.0.1" }, "subject-name"},
		{"another package", func(in *Input) { in.Name = "left-pad" }, "subject-name"},
		{"repository not matching package.json", func(in *Input) {
			in.PackageJSON = json.RawMessage(`{"repository":{"type":"git","url":"git+https://github.com/octo-org/octo-fork.git"}}`)
		}, "repository-url"},
		{"commit absent from the repository", func(in *Input) {
			in.Bundle = f.sign(t, f.spec(strings.Repeat("e", 40)), "octo-pkg", "1.0.0", tarball)
		}, "commit-exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			tc.mutate(&in)
			_, err := v.Verify(ctx, in)
			wantCheck(t, err, tc.check)
		})
	}

	t.Run("issuer not allowed by default policy", func(t *testing.T) {
		v, err := New(Config{TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: f.env.Services.TrustedRootJSON()}},
			Policy: Policy{Default: Rules{CommitCheck: CommitOff}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(ctx, in)
		wantCheck(t, err, "issuer-allowed")
	})
	t.Run("GitLab CI job", func(t *testing.T) {
		c, err := gitforge.CreateRepo(f.root, "octo-group/octo-pkg", map[string]string{".gitlab-ci.yml": "publish: {}"})
		if err != nil {
			t.Fatal(err)
		}
		spec := oidc.JobSpec{Platform: oidc.GitLabCI, Repository: "octo-group/octo-pkg", SHA: c.SHA, Ref: "refs/heads/main"}
		iss := f.env.Services.Issuer()
		v, err := New(Config{
			TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: f.env.Services.TrustedRootJSON()}},
			Policy:       Policy{Default: Rules{AllowedIssuers: []string{iss.GitHubIssuerURL(), iss.GitLabIssuerURL()}}},
			Commit:       commit.Config{Rewrites: commit.Rewrites{{Prefix: "https://gitlab.com/", Replacement: f.forge.URL + "/"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		in := Input{Name: "octo-pkg", Version: "1.0.0", Tarball: tarball,
			PackageJSON: json.RawMessage(`{"repository":"git+https://gitlab.com/octo-group/octo-pkg.git"}`),
			Bundle:      f.sign(t, spec, "octo-pkg", "1.0.0", tarball)}
		res, err := v.Verify(ctx, in)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if res.Summary.CI != provenance.GitLabCI || res.Issuer != iss.GitLabIssuerURL() || res.CommitStatus != StatusVerified {
			t.Errorf("Result = %+v, summary %+v", res, res.Summary)
		}
		v, err = New(Config{
			TrustedRoots: []RootConfig{{Name: RootPrivate, JSON: f.env.Services.TrustedRootJSON()}},
			Policy: Policy{Default: Rules{AllowedIssuers: []string{iss.GitLabIssuerURL()}, CommitCheck: CommitOff,
				TrustedPublishers: []TrustedPublisher{{Repository: "https://gitlab.com/octo-group/octo-pkg", Workflow: "release.gitlab-ci.yml"}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(ctx, in)
		wantCheck(t, err, "trusted-publisher")
	})
	t.Run("commit warn", func(t *testing.T) {
		in := in
		in.Bundle = f.sign(t, f.spec(strings.Repeat("e", 40)), "octo-pkg", "1.0.0", tarball)
		res, err := f.verifier(t, CommitWarn).Verify(ctx, in)
		if err != nil || res.CommitStatus != StatusUnverified {
			t.Fatalf("warn mode: %+v, %v", res, err)
		}
	})
}
