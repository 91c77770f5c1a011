package provenance_test

import (
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
)

// TestRealWorldLegacyGitHub parses the npm 9.5-era statement (Statement
// v0.1, SLSA v0.2, build type https://github.com/npm/cli/gha/v2) of
// sigstore@1.3.0 that sigstore-go ships as an example, and checks it
// against its own signing certificate.
func TestRealWorldLegacyGitHub(t *testing.T) {
	b, err := bundle.LoadJSONFromPath(filepath.Join(realworld.SigstoreGoDir(t), "examples", "bundle-provenance.json"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	payload, err := env.RawEnvelope().DecodeB64Payload()
	if err != nil {
		t.Fatal(err)
	}
	s, err := provenance.ParseStatement(payload)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ field, got, want string }{
		{"CI", string(s.CI), string(provenance.GitHubActions)},
		{"StatementType", s.StatementType, "https://in-toto.io/Statement/v0.1"},
		{"PredicateType", s.PredicateType, "https://slsa.dev/provenance/v0.2"},
		{"BuildType", s.BuildType, "https://github.com/npm/cli/gha/v2"},
		{"BuilderID", s.BuilderID, "https://github.com/actions/runner"},
		{"SourceRepositoryURI", s.SourceRepositoryURI, "https://github.com/sigstore/sigstore-js"},
		{"SourceCommit", s.SourceCommit, "dae8bd8eb433a4147b4655c00fe73e0f22bc0fb1"},
		{"SourceRef", s.SourceRef, "refs/heads/main"},
		{"WorkflowPath", s.WorkflowPath, ".github/workflows/release.yml"},
		{"WorkflowRef", s.WorkflowRef, "refs/heads/main"},
		{"RunInvocationURI", s.RunInvocationURI, "https://github.com/sigstore/sigstore-js/actions/runs/4735384265/attempts/1"},
		{"TriggerEvent", s.TriggerEvent, "push"},
		{"RunnerEnvironment", s.RunnerEnvironment, ""},
		{"Subject", s.Subjects[0].Name, "pkg:npm/sigstore@1.3.0"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := certificate.ParseExtensions(vc.Certificate().Extensions)
	if err != nil {
		t.Fatal(err)
	}
	if err := provenance.CheckCertificate(s, ext); err != nil {
		t.Errorf("CheckCertificate: %v", err)
	}
}
