package provenance

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	slsa02 "github.com/in-toto/attestation/go/predicates/provenance/v02"
	slsa1 "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/provenant/provenant/internal/limits"
)

// Build types of GitHub statements written by npm 9.5 to 9.7 (SLSA v0.2).
const (
	legacyGitHubBuildTypeV0 = "https://github.com/npm/cli/gha@v0"
	legacyGitHubBuildTypeV2 = "https://github.com/npm/cli/gha/v2"
)

// ErrStatement is wrapped by every error [ParseStatement] returns.
var ErrStatement = errors.New("invalid provenance statement")

func statementError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrStatement, fmt.Sprintf(format, args...))
}

var parseOptions = protojson.UnmarshalOptions{DiscardUnknown: true}

// ParseStatement parses an npm provenance statement (the DSSE payload of an
// npm provenance bundle) into a [Summary]. It accepts in-toto Statement
// v0.1 and v1, SLSA provenance v0.2 and v1, and the GitHub and GitLab build
// types npm has written over time. Errors wrap [ErrStatement].
func ParseStatement(b []byte) (*Summary, error) {
	if len(b) > limits.MaxStatementBytes {
		return nil, statementError("statement is %d bytes, more than the limit of %d", len(b), limits.MaxStatementBytes)
	}
	st := &intoto.Statement{}
	if err := parseOptions.Unmarshal(b, st); err != nil {
		return nil, statementError("%v", err)
	}
	if len(st.GetSubject()) > limits.MaxSubjects {
		return nil, statementError("%d subjects, more than the limit of %d", len(st.GetSubject()), limits.MaxSubjects)
	}
	if err := st.Validate(); err != nil {
		return nil, statementError("%v", err)
	}
	s := &Summary{StatementType: st.GetType(), PredicateType: st.GetPredicateType()}
	for _, sub := range st.GetSubject() {
		s.Subjects = append(s.Subjects, Subject{Name: sub.GetName(), SHA512: sub.GetDigest()["sha512"]})
	}
	var err error
	switch st.GetPredicateType() {
	case SLSAV1Type:
		err = summarizeV1(s, st.GetPredicate())
	case SLSAV02Type:
		err = summarizeV02(s, st.GetPredicate())
	default:
		err = statementError("unsupported predicate type %q", st.GetPredicateType())
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func fromStruct(s *structpb.Struct, m proto.Message) error {
	b, err := protojson.Marshal(s)
	if err != nil {
		return err
	}
	return parseOptions.Unmarshal(b, m)
}

// field walks nested struct fields and returns the string at the end of
// the path, or "" when any step is missing or not of the expected kind.
func field(s *structpb.Struct, path ...string) string {
	for i, k := range path {
		v, ok := s.GetFields()[k]
		if !ok {
			return ""
		}
		if i == len(path)-1 {
			return v.GetStringValue()
		}
		s = v.GetStructValue()
	}
	return ""
}

// summarizeV1 reads SLSA v1 with npm's GitHub Actions build type.
func summarizeV1(s *Summary, p *structpb.Struct) error {
	prov := &slsa1.Provenance{}
	if err := fromStruct(p, prov); err != nil {
		return statementError("SLSA v1 predicate: %v", err)
	}
	bd := prov.GetBuildDefinition()
	s.BuildType = bd.GetBuildType()
	if s.BuildType != GitHubBuildType {
		return statementError("unsupported SLSA v1 build type %q", s.BuildType)
	}
	s.CI = GitHubActions
	ext, in := bd.GetExternalParameters(), bd.GetInternalParameters()
	s.SourceRepositoryURI = field(ext, "workflow", "repository")
	s.WorkflowPath = field(ext, "workflow", "path")
	s.WorkflowRef = field(ext, "workflow", "ref")
	s.TriggerEvent = field(in, "github", "event_name")
	s.SourceRepositoryID = field(in, "github", "repository_id")
	s.SourceRepositoryOwnerID = field(in, "github", "repository_owner_id")
	deps := bd.GetResolvedDependencies()
	if len(deps) != 1 {
		return statementError("SLSA v1 predicate has %d resolved dependencies, want 1", len(deps))
	}
	s.SourceCommit = deps[0].GetDigest()["gitCommit"]
	s.SourceRef = refFromURI(deps[0].GetUri(), s.SourceRepositoryURI)
	s.BuilderID = prov.GetRunDetails().GetBuilder().GetId()
	if env, ok := strings.CutPrefix(s.BuilderID, GitHubBuilderIDPrefix+"/"); ok {
		s.RunnerEnvironment = env
	}
	s.RunInvocationURI = prov.GetRunDetails().GetMetadata().GetInvocationId()
	if s.SourceRepositoryURI != "" && s.WorkflowPath != "" && s.WorkflowRef != "" {
		s.BuildConfigURI = s.SourceRepositoryURI + "/" + s.WorkflowPath + "@" + s.WorkflowRef
	}
	return requireFields(s)
}

// summarizeV02 reads SLSA v0.2 with npm's GitLab build type or one of the
// GitHub build types of npm 9.5 to 9.7.
func summarizeV02(s *Summary, p *structpb.Struct) error {
	prov := &slsa02.Provenance{}
	if err := fromStruct(p, prov); err != nil {
		return statementError("SLSA v0.2 predicate: %v", err)
	}
	s.BuildType = prov.GetBuildType()
	s.BuilderID = prov.GetBuilder().GetId()
	cs := prov.GetInvocation().GetConfigSource()
	params, env := prov.GetInvocation().GetParameters(), prov.GetInvocation().GetEnvironment()
	s.SourceCommit = cs.GetDigest()["sha1"]
	switch s.BuildType {
	case GitLabBuildType:
		s.CI = GitLabCI
		s.SourceRepositoryURI = strings.TrimPrefix(cs.GetUri(), "git+")
		s.WorkflowPath = field(params, "CI_CONFIG_PATH")
		if s.WorkflowPath == "" {
			s.WorkflowPath = field(env, "pipeline", "ref")
		}
		// GitLab's token says refs/heads/ or refs/tags/ by ref_type. npm's
		// parameters have no CI_COMMIT_TAG; they carry CI_COMMIT_BRANCH in
		// branch pipelines, and merge request pipelines run on the source
		// branch, so any other pipeline with a ref name ran on a tag.
		switch b, name := field(params, "CI_COMMIT_BRANCH"), field(params, "CI_COMMIT_REF_NAME"); {
		case b != "":
			s.SourceRef = "refs/heads/" + b
		case name != "" && field(params, "CI_PIPELINE_SOURCE") == "merge_request_event":
			s.SourceRef = "refs/heads/" + name
		case name != "":
			s.SourceRef = "refs/tags/" + name
		}
		s.WorkflowRef = s.SourceRef
		s.TriggerEvent = field(params, "CI_PIPELINE_SOURCE")
		s.SourceRepositoryID = field(params, "CI_PROJECT_ID")
		s.SourceRepositoryOwnerID = field(params, "CI_PROJECT_NAMESPACE_ID")
		s.RunInvocationURI = prov.GetMetadata().GetBuildInvocationId()
		if s.SourceRepositoryURI != "" && s.WorkflowPath != "" && s.SourceRef != "" {
			// Fulcio's Build Config URI for GitLab is "https://" +
			// ci_config_ref_uri, which is <host>/<project>//<path>@<ref>.
			s.BuildConfigURI = s.SourceRepositoryURI + "//" + s.WorkflowPath + "@" + s.SourceRef
		}
	case legacyGitHubBuildTypeV0, legacyGitHubBuildTypeV2:
		s.CI = GitHubActions
		uri := strings.TrimPrefix(cs.GetUri(), "git+")
		repo, ref, _ := strings.Cut(uri, "@")
		s.SourceRepositoryURI, s.SourceRef = repo, ref
		// The workflow comes from GITHUB_WORKFLOW_REF, split as npm splits
		// it; entryPoint (the workflow path in gha/v2) is the fallback.
		s.WorkflowPath = cs.GetEntryPoint()
		if path, wref, ok := splitWorkflowRef(field(env, "GITHUB_WORKFLOW_REF"), field(env, "GITHUB_REPOSITORY")); ok {
			s.WorkflowPath, s.WorkflowRef = path, wref
		}
		s.TriggerEvent = field(env, "GITHUB_EVENT_NAME")
		s.SourceRepositoryID = field(env, "GITHUB_REPOSITORY_ID")
		s.SourceRepositoryOwnerID = field(env, "GITHUB_REPOSITORY_OWNER_ID")
		if u, err := url.Parse(repo); err == nil && u.Scheme != "" && u.Host != "" {
			if runID, attempt := field(env, "GITHUB_RUN_ID"), field(env, "GITHUB_RUN_ATTEMPT"); runID != "" && attempt != "" {
				s.RunInvocationURI = repo + "/actions/runs/" + runID + "/attempts/" + attempt
			}
		}
		if s.SourceRepositoryURI != "" && s.WorkflowPath != "" && s.WorkflowRef != "" {
			s.BuildConfigURI = s.SourceRepositoryURI + "/" + s.WorkflowPath + "@" + s.WorkflowRef
		}
	default:
		return statementError("unsupported SLSA v0.2 build type %q", s.BuildType)
	}
	return requireFields(s)
}

// refFromURI returns the ref of a "git+<repository>@<ref>" URI. The
// repository prefix is removed first so that a ref containing "@" stays
// whole; without it the split is at the first "@".
func refFromURI(uri, repo string) string {
	uri = strings.TrimPrefix(uri, "git+")
	if repo != "" {
		if ref, ok := strings.CutPrefix(uri, repo+"@"); ok {
			return ref
		}
	}
	_, ref, _ := strings.Cut(uri, "@")
	return ref
}

// requireFields rejects a summary without the facts every check needs.
func requireFields(s *Summary) error {
	for _, f := range []struct{ name, v string }{
		{"source repository", s.SourceRepositoryURI},
		{"source commit", s.SourceCommit},
		{"builder id", s.BuilderID},
	} {
		if f.v == "" {
			return statementError("%s statement (%s) has no %s", s.CI, s.BuildType, f.name)
		}
	}
	return nil
}
