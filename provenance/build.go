package provenance

import (
	"bytes"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	slsa02 "github.com/in-toto/attestation/go/predicates/provenance/v02"
	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/provenant/provenant/internal/limits"
)

// The type URIs npm writes (npm/cli workspaces/libnpmpublish/lib/provenance.js).
const (
	// PayloadType is the DSSE payload type of an npm provenance statement.
	PayloadType = "application/vnd.in-toto+json"
	// StatementV01Type is the _type of in-toto Statement v0.1 (GitLab, old GitHub).
	StatementV01Type = "https://in-toto.io/Statement/v0.1"
	// StatementV1Type is the _type of in-toto Statement v1 (GitHub).
	StatementV1Type = intoto.StatementTypeUri
	// SLSAV02Type is the predicateType of SLSA provenance v0.2.
	SLSAV02Type = "https://slsa.dev/provenance/v0.2"
	// SLSAV1Type is the predicateType of SLSA provenance v1.
	SLSAV1Type = "https://slsa.dev/provenance/v1"
	// GitHubBuildType is the SLSA v1 build type npm writes on GitHub Actions.
	GitHubBuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"
	// GitHubBuilderIDPrefix prefixes the runner environment in the builder id.
	GitHubBuilderIDPrefix = "https://github.com/actions/runner"
	// GitLabBuildType is the SLSA v0.2 build type npm writes on GitLab CI.
	GitLabBuildType = "https://github.com/npm/cli/gitlab/v0alpha1"
)

// gitlabParameters are the variables npm copies into
// predicate.invocation.parameters on GitLab, in npm's order. Unset ones are
// left out, as JSON.stringify drops undefined values.
var gitlabParameters = []string{
	"CI", "CI_API_GRAPHQL_URL", "CI_API_V4_URL", "CI_BUILD_BEFORE_SHA", "CI_BUILD_ID", "CI_BUILD_NAME",
	"CI_BUILD_REF", "CI_BUILD_REF_NAME", "CI_BUILD_REF_SLUG", "CI_BUILD_STAGE", "CI_COMMIT_BEFORE_SHA",
	"CI_COMMIT_BRANCH", "CI_COMMIT_REF_NAME", "CI_COMMIT_REF_PROTECTED", "CI_COMMIT_REF_SLUG", "CI_COMMIT_SHA",
	"CI_COMMIT_SHORT_SHA", "CI_COMMIT_TIMESTAMP", "CI_COMMIT_TITLE", "CI_CONFIG_PATH", "CI_DEFAULT_BRANCH",
	"CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX", "CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX",
	"CI_DEPENDENCY_PROXY_SERVER", "CI_DEPENDENCY_PROXY_USER", "CI_JOB_ID", "CI_JOB_NAME", "CI_JOB_NAME_SLUG",
	"CI_JOB_STAGE", "CI_JOB_STARTED_AT", "CI_JOB_URL", "CI_NODE_TOTAL", "CI_PAGES_DOMAIN", "CI_PAGES_URL",
	"CI_PIPELINE_CREATED_AT", "CI_PIPELINE_ID", "CI_PIPELINE_IID", "CI_PIPELINE_SOURCE", "CI_PIPELINE_URL",
	"CI_PROJECT_CLASSIFICATION_LABEL", "CI_PROJECT_DESCRIPTION", "CI_PROJECT_ID", "CI_PROJECT_NAME",
	"CI_PROJECT_NAMESPACE", "CI_PROJECT_NAMESPACE_ID", "CI_PROJECT_PATH", "CI_PROJECT_PATH_SLUG",
	"CI_PROJECT_REPOSITORY_LANGUAGES", "CI_PROJECT_ROOT_NAMESPACE", "CI_PROJECT_TITLE", "CI_PROJECT_URL",
	"CI_PROJECT_VISIBILITY", "CI_REGISTRY", "CI_REGISTRY_IMAGE", "CI_REGISTRY_USER", "CI_RUNNER_DESCRIPTION",
	"CI_RUNNER_ID", "CI_RUNNER_TAGS", "CI_SERVER_HOST", "CI_SERVER_NAME", "CI_SERVER_PORT", "CI_SERVER_PROTOCOL",
	"CI_SERVER_REVISION", "CI_SERVER_SHELL_SSH_HOST", "CI_SERVER_SHELL_SSH_PORT", "CI_SERVER_URL",
	"CI_SERVER_VERSION", "CI_SERVER_VERSION_MAJOR", "CI_SERVER_VERSION_MINOR", "CI_SERVER_VERSION_PATCH",
	"CI_TEMPLATE_REGISTRY_HOST", "GITLAB_CI", "GITLAB_FEATURES", "GITLAB_USER_ID", "GITLAB_USER_LOGIN",
	"RUNNER_GENERATE_ARTIFACTS_METADATA",
}

// PURL returns the package URL npm uses as the statement subject name:
// "pkg:npm/" + name with only a leading "@" written "%40" + "@" + version
// (npm-package-arg toPurl, without qualifiers).
func PURL(name, version string) string {
	if strings.HasPrefix(name, "@") {
		name = "%40" + name[1:]
	}
	return "pkg:npm/" + name + "@" + version
}

// TarballSHA512 returns the lowercase hex sha512 of the tarball bytes, the
// subject digest npm writes.
func TarballSHA512(tarball []byte) string {
	sum := sha512.Sum512(tarball)
	return hex.EncodeToString(sum[:])
}

// BuildStatement builds the in-toto statement npm's libnpmpublish builds
// for this environment, package name, version and exact tarball bytes. It
// returns the statement marshalled with protojson and compacted; the bytes
// are JSON-equal to npm's and are what gets signed, with payload type
// [PayloadType]. They are not byte-equal: structpb writes object keys in
// sorted order where npm's JSON.stringify keeps insertion order, which
// does not matter because verifiers treat the payload as opaque signed
// bytes. A missing or malformed variable gives an [*EnvError] naming it.
//
// Both statement versions are built as the in-toto v1 Statement message:
// Statement v0.1 (GitLab) has the same shape on the wire (_type, subject,
// predicateType, predicate) and differs only in _type, which the v1
// message carries as a string and its Validate accepts.
func BuildStatement(env func(string) (string, bool), name, version string, tarball []byte) ([]byte, error) {
	if err := checkNameVersion(name, version); err != nil {
		return nil, err
	}
	ci, err := DetectCI(env)
	if err != nil {
		return nil, err
	}
	st := &intoto.Statement{
		Subject: []*intoto.ResourceDescriptor{{
			Name:   PURL(name, version),
			Digest: map[string]string{"sha512": TarballSHA512(tarball)},
		}},
	}
	switch ci {
	case GitHubActions:
		st.Type, st.PredicateType = StatementV1Type, SLSAV1Type
		st.Predicate, err = githubPredicate(env)
	case GitLabCI:
		st.Type, st.PredicateType = StatementV01Type, SLSAV02Type
		st.Predicate, err = gitlabPredicate(env)
	}
	if err != nil {
		return nil, err
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("provenance: built an invalid statement: %w", err)
	}
	return marshalCompact(st)
}

func checkNameVersion(name, version string) error {
	if name == "" || len(name) > limits.MaxPackageNameLength || strings.ContainsFunc(name, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
		return fmt.Errorf("provenance: invalid package name %q", name)
	}
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return fmt.Errorf("provenance: invalid package version %q: %w", version, err)
	}
	if v.Metadata() != "" {
		// npm publishes semver.clean(version), which drops build metadata,
		// so the subject must name the version without it.
		return fmt.Errorf("provenance: package version %q has build metadata, which npm drops when publishing", version)
	}
	return nil
}

// githubPredicate builds the SLSA v1 predicate from the GitHub Actions
// variables npm reads (npm-protocol.md §2.2).
func githubPredicate(env func(string) (string, bool)) (*structpb.Struct, error) {
	r := &envReader{env: env}
	server := r.baseURL("GITHUB_SERVER_URL")
	repo := r.noSpace("GITHUB_REPOSITORY")
	if repo != "" && strings.Count(repo, "/") != 1 {
		r.fail("GITHUB_REPOSITORY", fmt.Sprintf("%q is not owner/repo", repo))
	}
	workflowRef := r.noSpace("GITHUB_WORKFLOW_REF")
	path, ref, ok := splitWorkflowRef(workflowRef, repo)
	if workflowRef != "" && repo != "" && !ok {
		r.fail("GITHUB_WORKFLOW_REF", fmt.Sprintf("%q is not %s/<workflow path>@<ref>", workflowRef, repo))
	}
	eventName := r.noSpace("GITHUB_EVENT_NAME")
	repoID := r.digits("GITHUB_REPOSITORY_ID")
	ownerID := r.digits("GITHUB_REPOSITORY_OWNER_ID")
	gitRef := r.noSpace("GITHUB_REF")
	sha := r.commit("GITHUB_SHA")
	runner := r.noSpace("RUNNER_ENVIRONMENT")
	if strings.Contains(runner, "/") {
		r.fail("RUNNER_ENVIRONMENT", fmt.Sprintf("%q contains a slash", runner))
	}
	runID := r.digits("GITHUB_RUN_ID")
	attempt := r.digits("GITHUB_RUN_ATTEMPT")
	if r.err != nil {
		return nil, r.err
	}
	repoURL := server + "/" + repo
	external, err := structpb.NewStruct(map[string]any{
		"workflow": map[string]any{"ref": ref, "repository": repoURL, "path": path},
	})
	if err != nil {
		return nil, err
	}
	internal, err := structpb.NewStruct(map[string]any{
		"github": map[string]any{"event_name": eventName, "repository_id": repoID, "repository_owner_id": ownerID},
	})
	if err != nil {
		return nil, err
	}
	pred := &slsa1.Provenance{
		BuildDefinition: &slsa1.BuildDefinition{
			BuildType:          GitHubBuildType,
			ExternalParameters: external,
			InternalParameters: internal,
			ResolvedDependencies: []*intoto.ResourceDescriptor{{
				Uri:    "git+" + repoURL + "@" + gitRef,
				Digest: map[string]string{"gitCommit": sha},
			}},
		},
		RunDetails: &slsa1.RunDetails{
			Builder:  &slsa1.Builder{Id: GitHubBuilderIDPrefix + "/" + runner},
			Metadata: &slsa1.BuildMetadata{InvocationId: repoURL + "/actions/runs/" + runID + "/attempts/" + attempt},
		},
	}
	return toStruct(pred)
}

// splitWorkflowRef splits GITHUB_WORKFLOW_REF (owner/repo/<path>@<ref>) into
// the workflow path and ref as npm does: the repository prefix is removed
// and the rest is split at the first "@", so a ref such as
// refs/tags/pkg@1.0.0 stays whole.
func splitWorkflowRef(workflowRef, repo string) (path, ref string, ok bool) {
	rel, found := strings.CutPrefix(workflowRef, repo+"/")
	if !found {
		return "", "", false
	}
	path, ref, found = strings.Cut(rel, "@")
	return path, ref, found && path != "" && ref != ""
}

// gitlabPredicate builds the SLSA v0.2 predicate from the GitLab CI
// variables npm reads (npm-protocol.md §2.3).
//
// The typed v0.2 message cannot say what npm says in two places: proto3
// drops boolean fields that are false, so protojson would leave out npm's
// "reproducible": false and "completeness.materials": false. The predicate
// is therefore built from the typed message (so field names come from the
// in-toto protos) and then, as a structpb.Struct, given the two false
// values explicitly. parameters and environment are free-form structs in
// the proto, filled in npm's way: a variable that is unset is left out.
func gitlabPredicate(env func(string) (string, bool)) (*structpb.Struct, error) {
	r := &envReader{env: env}
	projectURL := r.baseURL("CI_PROJECT_URL")
	runnerID := r.digits("CI_RUNNER_ID")
	sha := r.commit("CI_COMMIT_SHA")
	jobName := r.required("CI_JOB_NAME")
	jobURL := r.baseURL("CI_JOB_URL")
	serverURL := r.baseURL("CI_SERVER_URL")
	projectPath := r.noSpace("CI_PROJECT_PATH")
	jobID := r.digits("CI_JOB_ID")
	pipelineID := r.digits("CI_PIPELINE_ID")
	configPath := r.noSpace("CI_CONFIG_PATH")
	if r.err != nil {
		return nil, r.err
	}
	params := map[string]any{}
	for _, k := range gitlabParameters {
		if v, ok := env(k); ok {
			params[k] = v
		}
	}
	environment := map[string]any{
		"server":   serverURL,
		"project":  projectPath,
		"job":      map[string]any{"id": jobID},
		"pipeline": map[string]any{"id": pipelineID, "ref": configPath},
	}
	// A runner's description and architecture are informational and may be
	// absent on self-managed runners; npm drops them then, and so do we.
	if v, ok := env("CI_RUNNER_DESCRIPTION"); ok {
		environment["name"] = v
	}
	if v, ok := env("CI_RUNNER_EXECUTABLE_ARCH"); ok {
		environment["architecture"] = v
	}
	paramStruct, err := structpb.NewStruct(params)
	if err != nil {
		return nil, err
	}
	envStruct, err := structpb.NewStruct(environment)
	if err != nil {
		return nil, err
	}
	pred := &slsa02.Provenance{
		BuildType: GitLabBuildType,
		Builder:   &slsa02.Builder{Id: projectURL + "/-/runners/" + runnerID},
		Invocation: &slsa02.Invocation{
			ConfigSource: &slsa02.ConfigSource{
				Uri:        "git+" + projectURL,
				Digest:     map[string]string{"sha1": sha},
				EntryPoint: jobName,
			},
			Parameters:  paramStruct,
			Environment: envStruct,
		},
		Metadata: &slsa02.Metadata{
			BuildInvocationId: jobURL,
			Completeness:      &slsa02.Completeness{Parameters: true, Environment: true, Materials: false},
			Reproducible:      false,
		},
		Materials: []*slsa02.Material{{
			Uri:    "git+" + projectURL,
			Digest: map[string]string{"sha1": sha},
		}},
	}
	s, err := toStruct(pred)
	if err != nil {
		return nil, err
	}
	meta := s.Fields["metadata"].GetStructValue()
	meta.Fields["reproducible"] = structpb.NewBoolValue(false)
	meta.Fields["completeness"].GetStructValue().Fields["materials"] = structpb.NewBoolValue(false)
	return s, nil
}

// toStruct converts a typed predicate into the structpb.Struct a Statement
// carries, through protojson so that field names are the protos' JSON names.
func toStruct(m proto.Message) (*structpb.Struct, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	s := &structpb.Struct{}
	if err := protojson.Unmarshal(b, s); err != nil {
		return nil, err
	}
	return s, nil
}

// marshalCompact marshals with protojson and removes the whitespace
// protojson inserts at random, so equal statements give equal bytes.
func marshalCompact(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
