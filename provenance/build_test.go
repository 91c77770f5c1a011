package provenance_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/provenance/npmtest"
)

func TestDetectCI(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    provenance.CI
		wantVar string
		notCI   bool
	}{
		{"github", map[string]string{"GITHUB_ACTIONS": "true"}, provenance.GitHubActions, "", false},
		{"gitlab", map[string]string{"GITLAB_CI": "true"}, provenance.GitLabCI, "", false},
		{"none", map[string]string{"CI": "true"}, "", "GITHUB_ACTIONS", true},
		{"empty value is unset, as in ci-info", map[string]string{"GITHUB_ACTIONS": ""}, "", "GITHUB_ACTIONS", true},
		{"CI=false turns detection off", map[string]string{"CI": "false", "GITHUB_ACTIONS": "true"}, "", "CI", true},
		{"both", map[string]string{"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, "", "GITLAB_CI", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := provenance.DetectCI(lookup(tt.env))
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var ee *provenance.EnvError
			if tt.wantVar == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &ee) || ee.Var != tt.wantVar {
				t.Fatalf("got %v, want EnvError naming %s", err, tt.wantVar)
			}
			if errors.Is(err, provenance.ErrNotCI) != tt.notCI {
				t.Errorf("errors.Is(ErrNotCI) = %v, want %v", !tt.notCI, tt.notCI)
			}
		})
	}
}

func TestPURL(t *testing.T) {
	tests := []struct{ name, version, want string }{
		{"hello-provenance", "1.0.0", "pkg:npm/hello-provenance@1.0.0"},
		{"@scope/pkg", "1.0.0-rc.1", "pkg:npm/%40scope/pkg@1.0.0-rc.1"},
		{"@npmcli/libnpmpublish-test", "1.0.0", "pkg:npm/%40npmcli/libnpmpublish-test@1.0.0"},
		{"a@b", "1.0.0", "pkg:npm/a@b@1.0.0"}, // only a leading @ is encoded
	}
	for _, tt := range tests {
		if got := provenance.PURL(tt.name, tt.version); got != tt.want {
			t.Errorf("PURL(%q, %q) = %q, want %q", tt.name, tt.version, got, tt.want)
		}
	}
}

// TestBuildStatementEnvErrors checks that every variable the statement
// needs, when missing or malformed, gives an EnvError naming it instead
// of a statement with "undefined" or an empty string in it.
func TestBuildStatementEnvErrors(t *testing.T) {
	gh, gl := npmtest.GitHubEnv(), npmtest.GitLabEnv()
	u := npmtest.Unset
	tests := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"not in CI", map[string]string{}, "GITHUB_ACTIONS"},
		{"gh server url missing", npmtest.With(gh, "GITHUB_SERVER_URL", u), "GITHUB_SERVER_URL"},
		{"gh server url trailing slash", npmtest.With(gh, "GITHUB_SERVER_URL", "https://github.com/"), "GITHUB_SERVER_URL"},
		{"gh server url not a url", npmtest.With(gh, "GITHUB_SERVER_URL", "github.com"), "GITHUB_SERVER_URL"},
		{"gh repository missing", npmtest.With(gh, "GITHUB_REPOSITORY", u), "GITHUB_REPOSITORY"},
		{"gh repository not owner/repo", npmtest.With(gh, "GITHUB_REPOSITORY", "hello"), "GITHUB_REPOSITORY"},
		{"gh workflow ref missing", npmtest.With(gh, "GITHUB_WORKFLOW_REF", u), "GITHUB_WORKFLOW_REF"},
		{"gh workflow ref without @", npmtest.With(gh, "GITHUB_WORKFLOW_REF", "provenant-demo/hello-provenance/.github/workflows/publish.yml"), "GITHUB_WORKFLOW_REF"},
		{"gh workflow ref of another repo", npmtest.With(gh, "GITHUB_WORKFLOW_REF", "other/repo/.github/workflows/publish.yml@refs/heads/main"), "GITHUB_WORKFLOW_REF"},
		{"gh event missing", npmtest.With(gh, "GITHUB_EVENT_NAME", u), "GITHUB_EVENT_NAME"},
		{"gh repository id empty", npmtest.With(gh, "GITHUB_REPOSITORY_ID", ""), "GITHUB_REPOSITORY_ID"},
		{"gh repository id not numeric", npmtest.With(gh, "GITHUB_REPOSITORY_ID", "12a"), "GITHUB_REPOSITORY_ID"},
		{"gh owner id missing", npmtest.With(gh, "GITHUB_REPOSITORY_OWNER_ID", u), "GITHUB_REPOSITORY_OWNER_ID"},
		{"gh ref missing", npmtest.With(gh, "GITHUB_REF", u), "GITHUB_REF"},
		{"gh ref with space", npmtest.With(gh, "GITHUB_REF", "refs/heads/a b"), "GITHUB_REF"},
		{"gh sha missing", npmtest.With(gh, "GITHUB_SHA", u), "GITHUB_SHA"},
		{"gh sha short", npmtest.With(gh, "GITHUB_SHA", "0a1b2c3"), "GITHUB_SHA"},
		{"gh sha uppercase", npmtest.With(gh, "GITHUB_SHA", strings.ToUpper(npmtest.Commit)), "GITHUB_SHA"},
		{"gh runner environment missing", npmtest.With(gh, "RUNNER_ENVIRONMENT", u), "RUNNER_ENVIRONMENT"},
		{"gh runner environment with slash", npmtest.With(gh, "RUNNER_ENVIRONMENT", "a/b"), "RUNNER_ENVIRONMENT"},
		{"gh run id missing", npmtest.With(gh, "GITHUB_RUN_ID", u), "GITHUB_RUN_ID"},
		{"gh run attempt missing", npmtest.With(gh, "GITHUB_RUN_ATTEMPT", u), "GITHUB_RUN_ATTEMPT"},
		{"gl project url missing", npmtest.With(gl, "CI_PROJECT_URL", u), "CI_PROJECT_URL"},
		{"gl runner id missing", npmtest.With(gl, "CI_RUNNER_ID", u), "CI_RUNNER_ID"},
		{"gl commit sha missing", npmtest.With(gl, "CI_COMMIT_SHA", u), "CI_COMMIT_SHA"},
		{"gl job name missing", npmtest.With(gl, "CI_JOB_NAME", u), "CI_JOB_NAME"},
		{"gl job url missing", npmtest.With(gl, "CI_JOB_URL", u), "CI_JOB_URL"},
		{"gl server url missing", npmtest.With(gl, "CI_SERVER_URL", u), "CI_SERVER_URL"},
		{"gl project path missing", npmtest.With(gl, "CI_PROJECT_PATH", u), "CI_PROJECT_PATH"},
		{"gl job id missing", npmtest.With(gl, "CI_JOB_ID", u), "CI_JOB_ID"},
		{"gl pipeline id missing", npmtest.With(gl, "CI_PIPELINE_ID", u), "CI_PIPELINE_ID"},
		{"gl config path missing", npmtest.With(gl, "CI_CONFIG_PATH", u), "CI_CONFIG_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := provenance.BuildStatement(lookup(tt.env), "hello-provenance", "1.0.0", []byte("x"))
			var ee *provenance.EnvError
			if !errors.As(err, &ee) || ee.Var != tt.wantVar {
				t.Fatalf("got (%s, %v), want EnvError naming %s", st, err, tt.wantVar)
			}
			if !strings.Contains(err.Error(), tt.wantVar) {
				t.Errorf("error %q does not name %s", err, tt.wantVar)
			}
		})
	}
}

func TestBuildStatementPackageErrors(t *testing.T) {
	env := lookup(npmtest.GitHubEnv())
	tests := []struct{ name, pkg, version string }{
		{"empty name", "", "1.0.0"},
		{"name too long", strings.Repeat("a", limits.MaxPackageNameLength+1), "1.0.0"},
		{"name with space", "a b", "1.0.0"},
		{"version not semver", "a", "1.0"},
		{"version with v", "a", "v1.0.0"},
		{"version with build metadata", "a", "1.0.0+build.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if st, err := provenance.BuildStatement(env, tt.pkg, tt.version, nil); err == nil {
				t.Fatalf("got statement %s, want error", st)
			}
		})
	}
	if _, err := provenance.BuildStatement(env, strings.Repeat("a", limits.MaxPackageNameLength), "1.0.0", nil); err != nil {
		t.Errorf("name at the length limit: %v", err)
	}
}

// TestBuildStatementNoUndefined guards the property npm lacks: nothing
// in our statement says "undefined", for every parity case.
func TestBuildStatementNoUndefined(t *testing.T) {
	for _, c := range npmtest.Cases() {
		st, err := provenance.BuildStatement(lookup(c.Env), c.PackageName, c.Version, []byte("x"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if strings.Contains(string(st), "undefined") {
			t.Errorf("%s: statement contains undefined: %s", c.Name, st)
		}
	}
}
