package provenance_test

import (
	"path/filepath"
	"reflect"
	"strings"
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

// TestParseGHAv0 parses a statement of the first form npm 9.5 wrote
// (build type https://github.com/npm/cli/gha@v0, the npm CLI as builder;
// npm-protocol.md §2.4), here with the full workflow ref as entryPoint: the
// workflow path and ref come from GITHUB_WORKFLOW_REF either way, split at
// the first "@" after the repository.
func TestParseGHAv0(t *testing.T) {
	const commit = "5fa4b7d0b46b0a3e3e1a44d93c1f1e5c0b8f2c11"
	st := `{"_type":"https://in-toto.io/Statement/v0.1",
	 "subject":[{"name":"pkg:npm/%40scope/pkg@0.1.0","digest":{"sha512":"` + strings.Repeat("ab", 64) + `"}}],
	 "predicateType":"https://slsa.dev/provenance/v0.2",
	 "predicate":{"buildType":"https://github.com/npm/cli/gha@v0","builder":{"id":"https://github.com/npm/cli@9.5.0"},
	  "invocation":{"configSource":{"uri":"git+https://github.com/o/r@refs/tags/pkg@0.1.0","digest":{"sha1":"` + commit + `"},"entryPoint":"o/r/.github/workflows/publish.yml@refs/tags/pkg@0.1.0"},
	   "parameters":{},
	   "environment":{"GITHUB_EVENT_NAME":"release","GITHUB_REF":"refs/tags/pkg@0.1.0","GITHUB_REPOSITORY":"o/r","GITHUB_REPOSITORY_ID":"1","GITHUB_REPOSITORY_OWNER_ID":"2","GITHUB_RUN_ATTEMPT":"1","GITHUB_RUN_ID":"3","GITHUB_SHA":"` + commit + `","GITHUB_WORKFLOW_REF":"o/r/.github/workflows/publish.yml@refs/tags/pkg@0.1.0","GITHUB_WORKFLOW_SHA":"` + commit + `"}},
	  "metadata":{"buildInvocationId":"3-1","completeness":{"parameters":false,"environment":false,"materials":false},"reproducible":false},
	  "materials":[{"uri":"git+https://github.com/o/r","digest":{"sha1":"` + commit + `"}}]}}`
	s, err := provenance.ParseStatement([]byte(st))
	if err != nil {
		t.Fatal(err)
	}
	want := provenance.Summary{
		CI: provenance.GitHubActions, StatementType: "https://in-toto.io/Statement/v0.1", PredicateType: "https://slsa.dev/provenance/v0.2",
		BuildType: "https://github.com/npm/cli/gha@v0", BuilderID: "https://github.com/npm/cli@9.5.0",
		SourceRepositoryURI: "https://github.com/o/r", SourceCommit: commit, SourceRef: "refs/tags/pkg@0.1.0",
		WorkflowPath: ".github/workflows/publish.yml", WorkflowRef: "refs/tags/pkg@0.1.0",
		BuildConfigURI:     "https://github.com/o/r/.github/workflows/publish.yml@refs/tags/pkg@0.1.0",
		SourceRepositoryID: "1", SourceRepositoryOwnerID: "2",
		RunInvocationURI: "https://github.com/o/r/actions/runs/3/attempts/1", TriggerEvent: "release",
		Subjects: []provenance.Subject{{Name: "pkg:npm/%40scope/pkg@0.1.0", SHA512: strings.Repeat("ab", 64)}},
	}
	if !reflect.DeepEqual(*s, want) {
		t.Errorf("got  %+v\nwant %+v", *s, want)
	}
}
