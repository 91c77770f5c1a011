package provenance_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

// fulcioExtensions returns the extensions Fulcio would put in the signing
// certificate of the job env describes, following Fulcio's claim mapping
// (sigstore-wire.md §3): GitHub's from the Actions token, GitLab's from
// the GitLab token, whose claims mirror the CI_* variables.
func fulcioExtensions(env map[string]string) certificate.Extensions {
	if env["GITHUB_ACTIONS"] != "" {
		server, repo := env["GITHUB_SERVER_URL"], env["GITHUB_REPOSITORY"]
		return certificate.Extensions{
			Issuer:                          "https://token.actions.githubusercontent.com",
			SourceRepositoryURI:             server + "/" + repo,
			SourceRepositoryDigest:          env["GITHUB_SHA"],
			SourceRepositoryRef:             env["GITHUB_REF"],
			SourceRepositoryIdentifier:      env["GITHUB_REPOSITORY_ID"],
			SourceRepositoryOwnerIdentifier: env["GITHUB_REPOSITORY_OWNER_ID"],
			BuildConfigURI:                  server + "/" + env["GITHUB_WORKFLOW_REF"],
			BuildTrigger:                    env["GITHUB_EVENT_NAME"],
			RunInvocationURI:                server + "/" + repo + "/actions/runs/" + env["GITHUB_RUN_ID"] + "/attempts/" + env["GITHUB_RUN_ATTEMPT"],
			RunnerEnvironment:               env["RUNNER_ENVIRONMENT"],
		}
	}
	ref := "refs/tags/" + env["CI_COMMIT_TAG"] // ref_type tag
	if env["CI_COMMIT_TAG"] == "" {
		ref = "refs/heads/" + env["CI_COMMIT_REF_NAME"] // ref_type branch
	}
	project := env["CI_SERVER_URL"] + "/" + env["CI_PROJECT_PATH"]
	return certificate.Extensions{
		Issuer:                          env["CI_SERVER_URL"],
		SourceRepositoryURI:             project,
		SourceRepositoryDigest:          env["CI_COMMIT_SHA"],
		SourceRepositoryRef:             ref,
		SourceRepositoryIdentifier:      env["CI_PROJECT_ID"],
		SourceRepositoryOwnerIdentifier: env["CI_PROJECT_NAMESPACE_ID"],
		BuildConfigURI:                  "https://" + strings.TrimPrefix(project, "https://") + "//" + env["CI_CONFIG_PATH"] + "@" + ref,
		BuildTrigger:                    env["CI_PIPELINE_SOURCE"],
		RunInvocationURI:                project + "/-/jobs/" + env["CI_JOB_ID"],
		RunnerEnvironment:               "gitlab-hosted",
	}
}

// TestBuiltStatementsMatchCertificate parses each statement we build and
// checks the summary against the certificate Fulcio would issue for the
// same job.
func TestBuiltStatementsMatchCertificate(t *testing.T) {
	for _, c := range npmtest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			st, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := provenance.ParseStatement(st)
			if err != nil {
				t.Fatal(err)
			}
			ext := fulcioExtensions(c.Env)
			if err := provenance.CheckCertificate(s, ext); err != nil {
				t.Fatalf("CheckCertificate: %v\nsummary %+v", err, s)
			}
			if s.SourceRepositoryURI != ext.SourceRepositoryURI || s.RunInvocationURI != ext.RunInvocationURI {
				t.Errorf("summary %+v", s)
			}
			wantPath := ".gitlab-ci.yml"
			if c.Env["GITHUB_ACTIONS"] != "" {
				wantPath = strings.SplitN(strings.TrimPrefix(c.Env["GITHUB_WORKFLOW_REF"], c.Env["GITHUB_REPOSITORY"]+"/"), "@", 2)[0]
			}
			if s.WorkflowPath != wantPath {
				t.Errorf("WorkflowPath = %q, want %q", s.WorkflowPath, wantPath)
			}
		})
	}
}

func TestCheckCertificateMissing(t *testing.T) {
	env := npmtest.GitHubEnv()
	st, err := provenance.BuildStatement(lookup(env), "hello-provenance", "1.0.0", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := provenance.ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	// npm's registry answers "Missing SourceRepositoryRef in signing certificate".
	ext := fulcioExtensions(env)
	ext.SourceRepositoryRef = ""
	var ce *provenance.CheckError
	err = provenance.CheckCertificate(s, ext)
	if !errors.As(err, &ce) || ce.Check != "certificate-source-ref" || !errors.Is(err, provenance.ErrMissingExtension) {
		t.Fatalf("got %v", err)
	}
	// A statement without a field the certificate has fails too.
	noRef := *s
	noRef.SourceRef = ""
	err = provenance.CheckCertificate(&noRef, fulcioExtensions(env))
	if !errors.As(err, &ce) || ce.Check != "certificate-source-ref" || !errors.Is(err, provenance.ErrMissingStatementField) {
		t.Fatalf("got %v", err)
	}
}

func TestCheckSubject(t *testing.T) {
	tarball := []byte("the tarball")
	st, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "@scope/pkg", "1.2.3", tarball)
	if err != nil {
		t.Fatal(err)
	}
	s, err := provenance.ParseStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	two := *s
	two.Subjects = append(append([]provenance.Subject(nil), s.Subjects...), s.Subjects[0])
	none := *s
	none.Subjects = nil
	tests := []struct {
		name, pkg, version string
		summary            *provenance.Summary
		tarball            []byte
		check              string
	}{
		{"ok", "@scope/pkg", "1.2.3", s, tarball, ""},
		{"two subjects", "@scope/pkg", "1.2.3", &two, tarball, "subject-count"},
		{"no subject", "@scope/pkg", "1.2.3", &none, tarball, "subject-count"},
		{"other name", "@scope/other", "1.2.3", s, tarball, "subject-name"},
		{"unscoped name", "scope/pkg", "1.2.3", s, tarball, "subject-name"},
		{"other version", "@scope/pkg", "1.2.4", s, tarball, "subject-name"},
		{"other tarball", "@scope/pkg", "1.2.3", s, []byte("the tarball!"), "subject-digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := provenance.CheckSubject(tt.summary, tt.pkg, tt.version, tt.tarball)
			if tt.check == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *provenance.CheckError
			if !errors.As(err, &ce) || ce.Check != tt.check {
				t.Fatalf("got %v, want check %s", err, tt.check)
			}
			if ce.Expected == ce.Actual {
				t.Errorf("expected and actual are both %q", ce.Expected)
			}
		})
	}
}

func TestParseStatementErrors(t *testing.T) {
	valid, err := provenance.BuildStatement(lookup(npmtest.GitHubEnv()), "a", "1.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	v := string(valid)
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not json", "{"},
		{"array", "[]"},
		{"wrong _type", strings.Replace(v, "https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v2", 1)},
		{"no subject", `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1","predicate":{}}`},
		{"bad digest length", strings.Replace(v, `"sha512":"`, `"sha512":"ab`, 1)},
		{"unknown predicate type", strings.Replace(v, "https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v9", 1)},
		{"unknown build type", strings.Replace(v, provenance.GitHubBuildType, "https://example.com/build", 1)},
		{"no commit", strings.Replace(v, `"gitCommit"`, `"gitTree"`, 1)},
		{"duplicate key", strings.Replace(v, `{"_type"`, `{"_type":"https://in-toto.io/Statement/v1","_type"`, 1)},
		{"v1 with two resolved dependencies", strings.Replace(v, `"resolvedDependencies":[`, `"resolvedDependencies":[{"uri":"x"},`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := provenance.ParseStatement([]byte(tt.in)); err == nil || !errors.Is(err, provenance.ErrStatement) {
				t.Fatalf("got (%+v, %v), want ErrStatement", s, err)
			}
		})
	}
}
