package provenance_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/internal/realworld"
	"github.com/provenant/provenant/provenance"
)

// realBundle parses the real npm provenance bundle of sigstore@2.0.0 and
// returns its DSSE payload and its leaf certificate's Fulcio extensions.
func realBundle(t testing.TB) ([]byte, certificate.Extensions) {
	t.Helper()
	var b bundle.Bundle
	if err := b.UnmarshalJSON(realworld.SigstoreJSBundle(t)); err != nil {
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
	vc, err := b.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	ext, err := certificate.ParseExtensions(vc.Certificate().Extensions)
	if err != nil {
		t.Fatal(err)
	}
	return payload, ext
}

func TestRealWorldSigstoreJS(t *testing.T) {
	payload, ext := realBundle(t)
	s, err := provenance.ParseStatement(payload)
	if err != nil {
		t.Fatal(err)
	}
	want := &provenance.Summary{
		CI:                      provenance.GitHubActions,
		StatementType:           "https://in-toto.io/Statement/v1",
		PredicateType:           "https://slsa.dev/provenance/v1",
		BuildType:               "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
		BuilderID:               "https://github.com/actions/runner/github-hosted",
		SourceRepositoryURI:     "https://github.com/sigstore/sigstore-js",
		SourceCommit:            "f0b49a04e5a62250e0f60fb128004a73110fe311",
		SourceRef:               "refs/heads/main",
		WorkflowPath:            ".github/workflows/release.yml",
		WorkflowRef:             "refs/heads/main",
		BuildConfigURI:          "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
		SourceRepositoryID:      "495574555",
		SourceRepositoryOwnerID: "71096353",
		RunInvocationURI:        "https://github.com/sigstore/sigstore-js/actions/runs/5904696764/attempts/1",
		RunnerEnvironment:       "github-hosted",
		TriggerEvent:            "push",
		Subjects: []provenance.Subject{{
			Name:   "pkg:npm/sigstore@2.0.0",
			SHA512: "46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c",
		}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("summary\n got %+v\nwant %+v", s, want)
	}
	if err := provenance.CheckSubject(s, "sigstore", "2.0.0", realworld.SigstoreJSTarball(t)); err != nil {
		t.Errorf("CheckSubject against the published tarball: %v", err)
	}
	if err := provenance.CheckCertificate(s, ext); err != nil {
		t.Errorf("CheckCertificate against the real certificate: %v", err)
	}
	if err := provenance.CheckRepository([]byte(`{"repository":{"type":"git","url":"git+https://github.com/sigstore/sigstore-js.git"}}`), ext.SourceRepositoryURI); err != nil {
		t.Errorf("CheckRepository with sigstore's package.json repository: %v", err)
	}

	// The real certificate rejects a statement that lies about any field
	// it covers.
	lies := []struct {
		check string
		lie   func(*provenance.Summary)
	}{
		{"certificate-source-repository", func(s *provenance.Summary) { s.SourceRepositoryURI = "https://github.com/evil/sigstore-js" }},
		{"certificate-source-commit", func(s *provenance.Summary) { s.SourceCommit = "0000000000000000000000000000000000000000" }},
		{"certificate-source-ref", func(s *provenance.Summary) { s.SourceRef = "refs/heads/evil" }},
		{"certificate-build-config", func(s *provenance.Summary) { s.BuildConfigURI += "x" }},
		{"certificate-run-invocation", func(s *provenance.Summary) {
			s.RunInvocationURI = "https://github.com/sigstore/sigstore-js/actions/runs/1/attempts/1"
		}},
		{"certificate-runner-environment", func(s *provenance.Summary) { s.RunnerEnvironment = "self-hosted" }},
		{"certificate-build-trigger", func(s *provenance.Summary) { s.TriggerEvent = "workflow_dispatch" }},
		{"certificate-source-repository-id", func(s *provenance.Summary) { s.SourceRepositoryID = "1" }},
		{"certificate-source-repository-owner-id", func(s *provenance.Summary) { s.SourceRepositoryOwnerID = "1" }},
	}
	for _, l := range lies {
		t.Run(l.check, func(t *testing.T) {
			forged := *s
			l.lie(&forged)
			var ce *provenance.CheckError
			if err := provenance.CheckCertificate(&forged, ext); !errors.As(err, &ce) || ce.Check != l.check {
				t.Fatalf("got %v, want check %s", err, l.check)
			}
		})
	}
}
