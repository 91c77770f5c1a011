package oidc

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/provenant/provenant/provenance"
)

// A Platform names the CI system whose tokens and environment a job imitates.
type Platform string

const (
	// GitHubActions shapes tokens like https://token.actions.githubusercontent.com.
	GitHubActions Platform = "github-actions"
	// GitLabCI shapes tokens like https://gitlab.com's CI id_tokens.
	GitLabCI Platform = "gitlab-ci"
)

// Default server URLs the simulated jobs claim to run on. Fulcio's
// ci-issuer-metadata uses the same defaults for its templates.
const (
	GitHubServerURL = "https://github.com"
	GitLabServerURL = "https://gitlab.com"
)

// A JobSpec describes one simulated CI job. Required: Repository, SHA, Ref
// and (for GitHub Actions) Workflow. Everything else has a default that
// Normalize fills in.
type JobSpec struct {
	// Platform is GitHubActions (the default) or GitLabCI.
	Platform Platform `json:"platform,omitempty"`
	// Repository is "owner/repo" on GitHub, "group[/subgroup]/project" on GitLab.
	Repository string `json:"repository"`
	// SHA is the commit being built, 40 lowercase hex digits.
	SHA string `json:"sha"`
	// Ref is the full git ref being built: refs/heads/<branch> or refs/tags/<tag>.
	Ref string `json:"ref"`
	// Workflow is the path of the workflow file in the repository, for
	// example ".github/workflows/release.yml". GitLab defaults to ".gitlab-ci.yml".
	Workflow string `json:"workflow,omitempty"`
	// WorkflowName is the workflow's display name (GITHUB_WORKFLOW and the
	// "workflow" claim); it defaults to Workflow, as GitHub does for a
	// workflow without a name.
	WorkflowName string `json:"workflowName,omitempty"`
	// JobWorkflowRef names a called reusable workflow,
	// "owner/repo/.github/workflows/x.yml@refs/...". Empty means the job
	// runs the top-level workflow itself.
	JobWorkflowRef string `json:"jobWorkflowRef,omitempty"`
	// EventName is the trigger ("push" by default; GitLab's pipeline_source).
	EventName string `json:"eventName,omitempty"`
	// RunnerEnvironment is "github-hosted"/"gitlab-hosted" (default) or "self-hosted".
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// Visibility is "public" (default), "private" or "internal".
	Visibility string `json:"visibility,omitempty"`
	// RepositoryID and OwnerID default to stable numbers derived from the names.
	RepositoryID string `json:"repositoryId,omitempty"`
	// OwnerID is the numeric id of the repository owner (GitLab: namespace).
	OwnerID string `json:"ownerId,omitempty"`
	// RunID, RunNumber and RunAttempt identify the run (GitLab: pipeline and job ids).
	RunID string `json:"runId,omitempty"`
	// RunNumber is the run's sequence number within the workflow.
	RunNumber string `json:"runNumber,omitempty"`
	// RunAttempt is the attempt number, "1" by default.
	RunAttempt string `json:"runAttempt,omitempty"`
	// Environment is the deployment environment, optional.
	Environment string `json:"environment,omitempty"`
	// Actor is the user who triggered the run.
	Actor string `json:"actor,omitempty"`
}

var (
	githubRepoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	gitlabRepoRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
	shaRE         = regexp.MustCompile(`^[0-9a-f]{40}$`)
	refRE         = regexp.MustCompile(`^refs/(heads|tags|pull)/[^\s~^:?*\[\\]+$`)
	workflowRE    = regexp.MustCompile(`^\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$`)
	jobWorkflowRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml@refs/[^\s]+$`)
	wordRE        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	numberRE      = regexp.MustCompile(`^[0-9]{1,19}$`)
	gitlabPathRE  = regexp.MustCompile(`^[A-Za-z0-9_./-]+\.ya?ml$`)
)

// Normalize validates the spec and returns a copy with every default
// filled in. A failed check is a *provenance.CheckError naming the field.
func (s JobSpec) Normalize() (JobSpec, error) {
	if s.Platform == "" {
		s.Platform = GitHubActions
	}
	bad := func(field, want, got string) error {
		return &provenance.CheckError{Check: "job-" + field, Expected: want, Actual: got}
	}
	switch s.Platform {
	case GitHubActions:
		if !githubRepoRE.MatchString(s.Repository) {
			return s, bad("repository", "owner/repo", s.Repository)
		}
		if !workflowRE.MatchString(s.Workflow) {
			return s, bad("workflow", ".github/workflows/<name>.yml", s.Workflow)
		}
		if s.JobWorkflowRef != "" && !jobWorkflowRE.MatchString(s.JobWorkflowRef) {
			return s, bad("job-workflow-ref", "owner/repo/.github/workflows/<name>.yml@refs/...", s.JobWorkflowRef)
		}
		if s.RunnerEnvironment == "" {
			s.RunnerEnvironment = "github-hosted"
		}
		if s.RunnerEnvironment != "github-hosted" && s.RunnerEnvironment != "self-hosted" {
			return s, bad("runner-environment", "github-hosted or self-hosted", s.RunnerEnvironment)
		}
	case GitLabCI:
		if !gitlabRepoRE.MatchString(s.Repository) {
			return s, bad("repository", "group/project", s.Repository)
		}
		if s.Workflow == "" {
			s.Workflow = ".gitlab-ci.yml"
		}
		if !gitlabPathRE.MatchString(s.Workflow) || strings.Contains(s.Workflow, "..") || strings.HasPrefix(s.Workflow, "/") {
			return s, bad("workflow", "a relative path to a .yml file", s.Workflow)
		}
		if s.JobWorkflowRef != "" {
			return s, bad("job-workflow-ref", "empty on GitLab", s.JobWorkflowRef)
		}
		if s.RunnerEnvironment == "" {
			s.RunnerEnvironment = "gitlab-hosted"
		}
		if s.RunnerEnvironment != "gitlab-hosted" && s.RunnerEnvironment != "self-hosted" {
			return s, bad("runner-environment", "gitlab-hosted or self-hosted", s.RunnerEnvironment)
		}
	default:
		return s, bad("platform", string(GitHubActions)+" or "+string(GitLabCI), string(s.Platform))
	}
	if !shaRE.MatchString(s.SHA) {
		return s, bad("sha", "40 lowercase hex digits", s.SHA)
	}
	if !refRE.MatchString(s.Ref) || strings.Contains(s.Ref, "..") {
		return s, bad("ref", "refs/heads/<branch> or refs/tags/<tag>", s.Ref)
	}
	if s.Platform == GitLabCI && strings.HasPrefix(s.Ref, "refs/pull/") {
		return s, bad("ref", "refs/heads/<branch> or refs/tags/<tag>", s.Ref)
	}
	if s.WorkflowName == "" {
		s.WorkflowName = s.Workflow
	}
	if len(s.WorkflowName) > 200 || strings.ContainsAny(s.WorkflowName, "\n\r\x00") {
		return s, bad("workflow-name", "at most 200 characters on one line", s.WorkflowName)
	}
	if s.EventName == "" {
		s.EventName = "push"
	}
	if s.Visibility == "" {
		s.Visibility = "public"
	}
	if s.Visibility != "public" && s.Visibility != "private" && s.Visibility != "internal" {
		return s, bad("visibility", "public, private or internal", s.Visibility)
	}
	owner := s.Owner()
	if s.RepositoryID == "" {
		s.RepositoryID = stableID(s.Repository)
	}
	if s.OwnerID == "" {
		s.OwnerID = stableID(owner)
	}
	if s.RunID == "" {
		s.RunID = stableID(s.Repository + "@" + s.SHA + ":" + s.Ref)
	}
	if s.RunNumber == "" {
		s.RunNumber = "1"
	}
	if s.RunAttempt == "" {
		s.RunAttempt = "1"
	}
	if s.Actor == "" {
		s.Actor = path.Base(owner)
	}
	for _, f := range []struct{ name, v string }{{"event-name", s.EventName}, {"actor", s.Actor}} {
		if !wordRE.MatchString(f.v) {
			return s, bad(f.name, "1-100 characters of [A-Za-z0-9_.-]", f.v)
		}
	}
	if s.Environment != "" && !wordRE.MatchString(s.Environment) {
		return s, bad("environment", "1-100 characters of [A-Za-z0-9_.-]", s.Environment)
	}
	for _, f := range []struct{ name, v string }{{"repository-id", s.RepositoryID}, {"owner-id", s.OwnerID}, {"run-id", s.RunID}, {"run-number", s.RunNumber}, {"run-attempt", s.RunAttempt}} {
		if !numberRE.MatchString(f.v) {
			return s, bad(f.name, "a decimal number", f.v)
		}
	}
	return s, nil
}

// Owner returns the repository owner (GitHub) or namespace path (GitLab).
func (s JobSpec) Owner() string {
	i := strings.LastIndexByte(s.Repository, '/')
	if i < 0 {
		return s.Repository
	}
	return s.Repository[:i]
}

// RefName returns the short name of Ref (the branch or tag name).
func (s JobSpec) RefName() string {
	for _, p := range []string{"refs/heads/", "refs/tags/", "refs/"} {
		if strings.HasPrefix(s.Ref, p) {
			return strings.TrimPrefix(s.Ref, p)
		}
	}
	return s.Ref
}

// RefType returns "tag" or "branch", GitHub's ref_type.
func (s JobSpec) RefType() string {
	if strings.HasPrefix(s.Ref, "refs/tags/") {
		return "tag"
	}
	return "branch"
}

// WorkflowRef returns "owner/repo/<workflow>@<ref>", GitHub's workflow_ref.
func (s JobSpec) WorkflowRef() string { return s.Repository + "/" + s.Workflow + "@" + s.Ref }

// stableID derives a decimal id from a name, so that the same repository
// always gets the same simulated repository_id.
func stableID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return strconv.FormatUint(binary.BigEndian.Uint64(sum[:8])%1_000_000_000+1, 10)
}

// githubClaims returns the claims of a GitHub Actions ID token for the job.
func githubClaims(s JobSpec) map[string]any {
	sub := fmt.Sprintf("repo:%s:ref:%s", s.Repository, s.Ref)
	if s.Environment != "" {
		sub = fmt.Sprintf("repo:%s:environment:%s", s.Repository, s.Environment)
	}
	// job_workflow_sha is the commit of the called workflow; the simulator
	// has no second repository to resolve it in and reports the job's SHA.
	jobRef, jobSHA := s.WorkflowRef(), s.SHA
	if s.JobWorkflowRef != "" {
		jobRef = s.JobWorkflowRef
	}
	c := map[string]any{
		"sub":                   sub,
		"ref":                   s.Ref,
		"ref_type":              s.RefType(),
		"ref_protected":         "false",
		"sha":                   s.SHA,
		"repository":            s.Repository,
		"repository_id":         s.RepositoryID,
		"repository_owner":      s.Owner(),
		"repository_owner_id":   s.OwnerID,
		"repository_visibility": s.Visibility,
		"run_id":                s.RunID,
		"run_number":            s.RunNumber,
		"run_attempt":           s.RunAttempt,
		"actor":                 s.Actor,
		"actor_id":              stableID("actor:" + s.Actor),
		"workflow":              s.WorkflowName,
		"workflow_ref":          s.WorkflowRef(),
		"workflow_sha":          s.SHA,
		"job_workflow_ref":      jobRef,
		"job_workflow_sha":      jobSHA,
		"event_name":            s.EventName,
		"head_ref":              "",
		"base_ref":              "",
		"runner_environment":    s.RunnerEnvironment,
	}
	if s.Environment != "" {
		c["environment"] = s.Environment
	}
	return c
}

// gitlabClaims returns the claims of a GitLab CI id_token for the job.
func gitlabClaims(s JobSpec) map[string]any {
	host := strings.TrimPrefix(GitLabServerURL, "https://")
	c := map[string]any{
		"sub":                fmt.Sprintf("project_path:%s:ref_type:%s:ref:%s", s.Repository, s.RefType(), s.RefName()),
		"namespace_id":       s.OwnerID,
		"namespace_path":     s.Owner(),
		"project_id":         s.RepositoryID,
		"project_path":       s.Repository,
		"project_visibility": s.Visibility,
		"user_id":            stableID("user:" + s.Actor),
		"user_login":         s.Actor,
		"user_access_level":  "maintainer",
		"pipeline_id":        s.RunID,
		"pipeline_source":    s.EventName,
		"job_id":             jobID(s),
		"ref":                s.RefName(),
		"ref_type":           s.RefType(),
		"ref_path":           s.Ref,
		"ref_protected":      "false",
		"runner_id":          stableID("runner:" + s.RunnerEnvironment),
		"runner_environment": s.RunnerEnvironment,
		"sha":                s.SHA,
		"ci_config_ref_uri":  fmt.Sprintf("%s/%s//%s@%s", host, s.Repository, s.Workflow, s.Ref),
		"ci_config_sha":      s.SHA,
	}
	if s.Environment != "" {
		c["environment"] = s.Environment
	}
	return c
}

// jobID derives the GitLab job id from the pipeline id and attempt.
func jobID(s JobSpec) string { return stableID(s.RunID + "/" + s.RunAttempt) }
