package npmtest

import "maps"

// A Case is one CI job whose statement npm and Provenant must agree on.
type Case struct {
	// Name names the case in test output.
	Name string
	// Env is the job's environment.
	Env map[string]string
	// PackageName and Version are the published package's.
	PackageName, Version string
}

// Commit is the commit SHA every case builds from.
const Commit = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"

// GitHubEnv returns a GitHub Actions environment for a branch push of
// provenant-demo/hello-provenance on a GitHub-hosted runner, with the
// id-token permission granted.
func GitHubEnv() map[string]string {
	return map[string]string{
		"CI":                             "true",
		"GITHUB_ACTIONS":                 "true",
		"ACTIONS_ID_TOKEN_REQUEST_URL":   "http://127.0.0.1:9/token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
		"GITHUB_SERVER_URL":              "https://github.com",
		"GITHUB_REPOSITORY":              "provenant-demo/hello-provenance",
		"GITHUB_REPOSITORY_ID":           "812345678",
		"GITHUB_REPOSITORY_OWNER_ID":     "98765432",
		"GITHUB_WORKFLOW_REF":            "provenant-demo/hello-provenance/.github/workflows/publish.yml@refs/heads/main",
		"GITHUB_WORKFLOW_SHA":            Commit,
		"GITHUB_REF":                     "refs/heads/main",
		"GITHUB_REF_NAME":                "main",
		"GITHUB_REF_TYPE":                "branch",
		"GITHUB_SHA":                     Commit,
		"GITHUB_EVENT_NAME":              "push",
		"GITHUB_RUN_ID":                  "9358004112",
		"GITHUB_RUN_ATTEMPT":             "1",
		"GITHUB_RUN_NUMBER":              "7",
		"GITHUB_ACTOR":                   "octocat",
		"GITHUB_WORKFLOW":                "publish",
		"RUNNER_ENVIRONMENT":             "github-hosted",
		"RUNNER_OS":                      "Linux",
	}
}

// GitLabEnv returns a GitLab CI environment for a branch pipeline of
// provenant-demo/hello-provenance on gitlab.com, with SIGSTORE_ID_TOKEN
// declared. Like GitLab, it sets some variables to the empty string.
func GitLabEnv() map[string]string {
	return map[string]string{
		"CI":                                     "true",
		"GITLAB_CI":                              "true",
		"SIGSTORE_ID_TOKEN":                      "id-token",
		"CI_API_GRAPHQL_URL":                     "https://gitlab.com/api/graphql",
		"CI_API_V4_URL":                          "https://gitlab.com/api/v4",
		"CI_BUILD_BEFORE_SHA":                    "0000000000000000000000000000000000000000",
		"CI_COMMIT_BEFORE_SHA":                   "0000000000000000000000000000000000000000",
		"CI_COMMIT_BRANCH":                       "main",
		"CI_COMMIT_REF_NAME":                     "main",
		"CI_COMMIT_REF_PROTECTED":                "true",
		"CI_COMMIT_REF_SLUG":                     "main",
		"CI_COMMIT_SHA":                          Commit,
		"CI_COMMIT_SHORT_SHA":                    Commit[:8],
		"CI_COMMIT_TIMESTAMP":                    "2026-11-22T01:00:00+00:00",
		"CI_COMMIT_TITLE":                        "Release 1.0.0",
		"CI_CONFIG_PATH":                         ".gitlab-ci.yml",
		"CI_DEFAULT_BRANCH":                      "main",
		"CI_JOB_ID":                              "8123456789",
		"CI_JOB_NAME":                            "publish",
		"CI_JOB_NAME_SLUG":                       "publish",
		"CI_JOB_STAGE":                           "deploy",
		"CI_JOB_STARTED_AT":                      "2026-11-22T01:00:05Z",
		"CI_JOB_URL":                             "https://gitlab.com/provenant-demo/hello-provenance/-/jobs/8123456789",
		"CI_NODE_TOTAL":                          "1",
		"CI_PIPELINE_CREATED_AT":                 "2026-11-22T01:00:01Z",
		"CI_PIPELINE_ID":                         "1571234567",
		"CI_PIPELINE_IID":                        "42",
		"CI_PIPELINE_SOURCE":                     "push",
		"CI_PIPELINE_URL":                        "https://gitlab.com/provenant-demo/hello-provenance/-/pipelines/1571234567",
		"CI_PROJECT_CLASSIFICATION_LABEL":        "",
		"CI_PROJECT_DESCRIPTION":                 "",
		"CI_PROJECT_ID":                          "61234567",
		"CI_PROJECT_NAME":                        "hello-provenance",
		"CI_PROJECT_NAMESPACE":                   "provenant-demo",
		"CI_PROJECT_NAMESPACE_ID":                "81234567",
		"CI_PROJECT_PATH":                        "provenant-demo/hello-provenance",
		"CI_PROJECT_PATH_SLUG":                   "provenant-demo-hello-provenance",
		"CI_PROJECT_REPOSITORY_LANGUAGES":        "javascript",
		"CI_PROJECT_ROOT_NAMESPACE":              "provenant-demo",
		"CI_PROJECT_TITLE":                       "hello-provenance",
		"CI_PROJECT_URL":                         "https://gitlab.com/provenant-demo/hello-provenance",
		"CI_PROJECT_VISIBILITY":                  "public",
		"CI_RUNNER_DESCRIPTION":                  "3-blue.saas-linux-small-amd64.runners-manager.gitlab.com/default",
		"CI_RUNNER_EXECUTABLE_ARCH":              "linux/amd64",
		"CI_RUNNER_ID":                           "12270807",
		"CI_RUNNER_TAGS":                         `["gce", "east-c", "linux", "saas-linux-small-amd64"]`,
		"CI_SERVER_HOST":                         "gitlab.com",
		"CI_SERVER_NAME":                         "GitLab",
		"CI_SERVER_PORT":                         "443",
		"CI_SERVER_PROTOCOL":                     "https",
		"CI_SERVER_REVISION":                     "abcdef12",
		"CI_SERVER_SHELL_SSH_HOST":               "gitlab.com",
		"CI_SERVER_SHELL_SSH_PORT":               "22",
		"CI_SERVER_URL":                          "https://gitlab.com",
		"CI_SERVER_VERSION":                      "18.6.0-pre",
		"CI_SERVER_VERSION_MAJOR":                "18",
		"CI_SERVER_VERSION_MINOR":                "6",
		"CI_SERVER_VERSION_PATCH":                "0",
		"CI_TEMPLATE_REGISTRY_HOST":              "registry.gitlab.com",
		"CI_REGISTRY":                            "registry.gitlab.com",
		"CI_REGISTRY_IMAGE":                      "registry.gitlab.com/provenant-demo/hello-provenance",
		"CI_REGISTRY_USER":                       "gitlab-ci-token",
		"CI_DEPENDENCY_PROXY_SERVER":             "gitlab.com:443",
		"CI_DEPENDENCY_PROXY_USER":               "gitlab-ci-token",
		"CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX": "gitlab.com:443/provenant-demo/dependency_proxy/containers",
		"GITLAB_FEATURES":                        "",
		"GITLAB_USER_ID":                         "1234567",
		"GITLAB_USER_LOGIN":                      "octocat",
		"RUNNER_GENERATE_ARTIFACTS_METADATA":     "false",
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00unset" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

// Unset, as a value in [With], removes the variable.
const Unset = "\x00unset"

// With returns a copy of base with the given name, value pairs applied;
// the value [Unset] removes a variable.
func With(base map[string]string, kv ...string) map[string]string { return with(base, kv...) }

// Cases returns the CI jobs of the parity test: GitHub Actions branch
// push, tag whose ref contains "@", reusable workflow, self-hosted runner
// on GitHub Enterprise Server, and GitLab CI branch, tag and merge request
// pipelines.
func Cases() []Case {
	gh, gl := GitHubEnv(), GitLabEnv()
	return []Case{
		{Name: "github-branch-push", Env: gh, PackageName: "hello-provenance", Version: "1.0.0"},
		{Name: "github-tag-with-at", Env: with(gh,
			"GITHUB_REF", "refs/tags/@provenant-demo/hello@1.0.0-rc.1",
			"GITHUB_REF_NAME", "@provenant-demo/hello@1.0.0-rc.1",
			"GITHUB_REF_TYPE", "tag",
			"GITHUB_EVENT_NAME", "release",
			"GITHUB_WORKFLOW_REF", "provenant-demo/hello-provenance/.github/workflows/publish.yml@refs/tags/@provenant-demo/hello@1.0.0-rc.1"),
			PackageName: "@provenant-demo/hello", Version: "1.0.0-rc.1"},
		{Name: "github-reusable-workflow", Env: with(gh,
			// GITHUB_WORKFLOW_REF names the calling workflow; the called one
			// (in another repository) appears only in the OIDC token.
			"GITHUB_WORKFLOW_REF", "provenant-demo/hello-provenance/.github/workflows/release.yml@refs/heads/main",
			"GITHUB_EVENT_NAME", "workflow_dispatch",
			"GITHUB_RUN_ATTEMPT", "3",
			"GITHUB_ACTION_REPOSITORY", "provenant-demo/shared-workflows"),
			PackageName: "hello-provenance", Version: "2.0.0"},
		{Name: "github-self-hosted-ghes", Env: with(gh,
			"RUNNER_ENVIRONMENT", "self-hosted",
			"GITHUB_SERVER_URL", "https://ghe.example.com",
			"GITHUB_REF", "refs/heads/release/v1",
			"GITHUB_WORKFLOW_REF", "provenant-demo/hello-provenance/.github/workflows/publish.yaml@refs/heads/release/v1"),
			PackageName: "hello-provenance", Version: "1.0.1-beta.2"},
		{Name: "gitlab-branch", Env: gl, PackageName: "@provenant-demo/hello", Version: "1.0.0"},
		{Name: "gitlab-tag-self-managed", Env: with(gl,
			"CI_COMMIT_BRANCH", Unset,
			"CI_COMMIT_TAG", "v1.2.3",
			"CI_COMMIT_REF_NAME", "v1.2.3",
			"CI_COMMIT_REF_SLUG", "v1-2-3",
			"CI_RUNNER_DESCRIPTION", Unset,
			"CI_RUNNER_EXECUTABLE_ARCH", Unset,
			"CI_DEPENDENCY_PROXY_SERVER", Unset),
			PackageName: "hello-provenance", Version: "1.2.3"},
		{Name: "gitlab-merge-request", Env: with(gl,
			"CI_COMMIT_BRANCH", Unset,
			"CI_COMMIT_REF_NAME", "feature/x",
			"CI_COMMIT_REF_SLUG", "feature-x",
			"CI_PIPELINE_SOURCE", "merge_request_event",
			"CI_MERGE_REQUEST_IID", "12"),
			PackageName: "hello-provenance", Version: "1.2.4-pr.12"},
	}
}
