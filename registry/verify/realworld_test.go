package verify

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
)

// publicGood writes the public-good trusted root shipped in @sigstore/tuf to
// a file, as an operator does, and returns its path.
func publicGood(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "public-good.json")
	if err := os.WriteFile(path, realworld.PublicGoodTrustedRoot(t), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// sigstorePackageJSON is the package.json of sigstore@2.0.0 as far as the
// checks read it.
const sigstorePackageJSON = `{"name":"sigstore","version":"2.0.0","repository":{"type":"git","url":"git+https://github.com/sigstore/sigstore-js.git"}}`

func newPublicGoodVerifier(t testing.TB, policy Policy) *Verifier {
	t.Helper()
	if policy.Default.CommitCheck == "" {
		policy.Default.CommitCheck = CommitOff // no internet
	}
	v, err := New(Config{
		TrustedRoots: []RootConfig{{Name: RootPublicGood, Path: publicGood(t)}},
		Policy:       policy,
		Clock:        func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPublicGoodBundle verifies the real npm provenance bundle of
// sigstore@2.0.0 (v0.1 bundle, intoto 0.0.2 entry, SLSA v1) with its real
// tarball against the public-good root from @sigstore/tuf.
func TestPublicGoodBundle(t *testing.T) {
	v := newPublicGoodVerifier(t, Policy{})
	in := Input{
		Name: "sigstore", Version: "2.0.0",
		Tarball:     realworld.SigstoreJSTarball(t),
		PackageJSON: json.RawMessage(sigstorePackageJSON),
		Bundle:      realworld.SigstoreJSBundle(t),
	}
	res, err := v.Verify(context.Background(), in)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Result{
		Provenance:      true,
		TrustRoot:       RootPublicGood,
		BundleMediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1",
		Issuer:          "https://token.actions.githubusercontent.com",
		SAN:             "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
		LogIndex:        31821305,
		LogID:           "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
		IntegratedTime:  time.Unix(1692374735, 0).UTC(),
		CommitStatus:    StatusOff,
		VerifiedAt:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	got := *res
	got.Summary, got.Checks = nil, nil
	if gj, wj := mustJSON(t, got), mustJSON(t, want); gj != wj {
		t.Errorf("Result\n got %s\nwant %s", gj, wj)
	}
	s := res.Summary
	if s == nil || s.SourceRepositoryURI != "https://github.com/sigstore/sigstore-js" ||
		s.SourceCommit != "f0b49a04e5a62250e0f60fb128004a73110fe311" || s.PredicateType != provenance.SLSAV1Type {
		t.Errorf("Summary = %+v", s)
	}
	wantChecks := []string{"bundle-media-type", "tlog-entry-kind", "trusted-root", "tlog-set", "tlog-inclusion", "tlog-checkpoint",
		"certificate-chain", "certificate-sct", "signature", "statement-parse", "subject", "issuer-allowed",
		"certificate-statement", "repository-url", "commit-exists", "runner-environment", "repository-visibility"}
	if len(res.Checks) != len(wantChecks) {
		t.Fatalf("checks = %+v, want %v", res.Checks, wantChecks)
	}
	for i, c := range res.Checks {
		wantStatus := StatusVerified
		if c.Name == "commit-exists" {
			wantStatus = StatusOff
		}
		if c.Name != wantChecks[i] || c.Status != wantStatus {
			t.Errorf("check %d = %+v, want %s %s", i, c, wantChecks[i], wantStatus)
		}
	}

	// The same bundle, with anything about the publication changed, fails
	// with the named check.
	for _, tc := range []struct {
		name   string
		mutate func(*Input)
		policy Policy
		check  string
	}{
		{"other version", func(in *Input) { in.Version = "2.0.1" }, Policy{}, "subject-name"},
		{"other package", func(in *Input) { in.Name = "sigstore-evil" }, Policy{}, "subject-name"},
		{"other tarball", func(in *Input) { in.Tarball = append([]byte(nil), in.Tarball[:len(in.Tarball)-1]...) }, Policy{}, "subject-digest"},
		{"other repository", func(in *Input) {
			in.PackageJSON = json.RawMessage(`{"repository":"https://github.com/evil/sigstore-js"}`)
		}, Policy{}, "repository-url"},
		{"issuer not allowed", nil, Policy{Default: Rules{AllowedIssuers: []string{"https://gitlab.com"}}}, "issuer-allowed"},
		{"root not allowed for the scope", nil, Policy{Packages: []PackageRules{{Match: "sig*", Rules: Rules{TrustedRoots: []string{}}}}}, "trusted-root"},
		{"runner environment", nil, Policy{Default: Rules{RunnerEnvironments: []string{"self-hosted"}}}, "runner-environment"},
		{"visibility", nil, Policy{Default: Rules{RepositoryVisibility: []string{"private"}}}, "repository-visibility"},
		{"trusted publisher workflow", nil, Policy{Packages: []PackageRules{{Match: "sigstore", Rules: Rules{TrustedPublishers: []TrustedPublisher{
			{Repository: "https://github.com/sigstore/sigstore-js", Workflow: ".github/workflows/other.yml"}}}}}}, "trusted-publisher"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			if tc.mutate != nil {
				tc.mutate(&in)
			}
			v := v
			if tc.policy.Default.AllowedIssuers != nil || tc.policy.Packages != nil || tc.policy.Default.RunnerEnvironments != nil || tc.policy.Default.RepositoryVisibility != nil {
				v = newPublicGoodVerifier(t, tc.policy)
			}
			_, err := v.Verify(context.Background(), in)
			wantCheck(t, err, tc.check)
		})
	}

	t.Run("trusted publisher match", func(t *testing.T) {
		v := newPublicGoodVerifier(t, Policy{Packages: []PackageRules{{Match: "sigstore", Rules: Rules{TrustedPublishers: []TrustedPublisher{
			{Repository: "https://github.com/sigstore/other"},
			{Repository: "https://github.com/sigstore/sigstore-js", Workflow: ".github/workflows/release.yml"}}}}}})
		res, err := v.Verify(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		if last := res.Checks[len(res.Checks)-1]; last.Name != "trusted-publisher" || last.Detail != "https://github.com/sigstore/sigstore-js:.github/workflows/release.yml" {
			t.Errorf("last check = %+v", last)
		}
	})
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantCheck asserts that err is a *provenance.CheckError named check.
func wantCheck(t testing.TB, err error, check string) {
	t.Helper()
	var ce *provenance.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *provenance.CheckError (want %s)", err, check)
	}
	if ce.Check != check {
		t.Fatalf("failed check = %q (%v), want %q", ce.Check, err, check)
	}
}

func realworldTarball(t testing.TB) []byte { return realworld.SigstoreJSTarball(t) }
func realworldBundle(t testing.TB) []byte  { return realworld.SigstoreJSBundle(t) }
