package provenance

// CI names the CI system a statement or environment belongs to.
type CI string

// The CI systems whose provenance npm builds and Provenant understands.
const (
	GitHubActions CI = "github-actions"
	GitLabCI      CI = "gitlab-ci"
)

// A Subject is one artifact named by an in-toto statement.
type Subject struct {
	// Name is the subject name, for npm a PURL such as pkg:npm/%40scope/name@1.0.0.
	Name string `json:"name"`
	// SHA512 is the lowercase hex sha512 digest of the artifact, if present.
	SHA512 string `json:"sha512,omitempty"`
}

// A Summary is what Provenant needs to know about an npm provenance
// statement, whatever its version (Statement v0.1 or v1; SLSA v0.2 or v1)
// and build type (GitHub Actions or GitLab CI). The registry's checks and
// package pages read it.
type Summary struct {
	// CI is the CI system the build type belongs to.
	CI CI `json:"ci"`
	// StatementType is the statement's _type.
	StatementType string `json:"statementType"`
	// PredicateType is the statement's predicateType.
	PredicateType string `json:"predicateType"`
	// BuildType is the SLSA build type.
	BuildType string `json:"buildType"`
	// BuilderID is the SLSA builder id.
	BuilderID string `json:"builderId"`
	// SourceRepositoryURI is the source repository as a URL without ".git",
	// e.g. https://github.com/owner/repo.
	SourceRepositoryURI string `json:"sourceRepositoryUri"`
	// SourceCommit is the full commit SHA the build ran from.
	SourceCommit string `json:"sourceCommit"`
	// SourceRef is the git ref the build ran from, e.g. refs/heads/main.
	SourceRef string `json:"sourceRef"`
	// WorkflowPath is the path of the workflow or CI config file in the
	// repository, e.g. .github/workflows/release.yml or .gitlab-ci.yml.
	WorkflowPath string `json:"workflowPath"`
	// WorkflowRef is the ref of the workflow definition.
	WorkflowRef string `json:"workflowRef,omitempty"`
	// BuildConfigURI is the workflow file as the signing certificate's
	// Build Config URI (.1.18) names it: for GitHub
	// <repository>/<path>@<ref>, for GitLab <repository>//<path>@<ref>.
	BuildConfigURI string `json:"buildConfigUri,omitempty"`
	// SourceRepositoryID is the CI's numeric repository (project) id.
	SourceRepositoryID string `json:"sourceRepositoryId,omitempty"`
	// SourceRepositoryOwnerID is the CI's numeric owner (namespace) id.
	SourceRepositoryOwnerID string `json:"sourceRepositoryOwnerId,omitempty"`
	// RunInvocationURI is the build-summary URL (the CI run).
	RunInvocationURI string `json:"runInvocationUri"`
	// RunnerEnvironment is "github-hosted", "self-hosted" (GitHub) or the
	// GitLab runner environment, when the statement carries it.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// TriggerEvent is the event that started the build, e.g. push.
	TriggerEvent string `json:"triggerEvent,omitempty"`
	// Subjects are the statement's subjects.
	Subjects []Subject `json:"subjects"`
}
