package provenance

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotCI is wrapped by the [*EnvError] that [DetectCI] returns outside a
// supported CI system.
var ErrNotCI = errors.New("not running in a CI system that supports provenance (GitHub Actions or GitLab CI)")

// An EnvError reports a CI environment variable that is missing or malformed.
type EnvError struct {
	// Var names the environment variable.
	Var string
	// Reason says what is wrong with it.
	Reason string
	// Err is an optional underlying cause, such as [ErrNotCI].
	Err error
}

// Error names the variable and the reason.
func (e *EnvError) Error() string {
	return fmt.Sprintf("environment variable %s: %s", e.Var, e.Reason)
}

// Unwrap returns the underlying cause, if any.
func (e *EnvError) Unwrap() error { return e.Err }

// DetectCI reports which CI the environment belongs to, as npm's ci-info
// does: GITHUB_ACTIONS set to a non-empty value means GitHub Actions,
// GITLAB_CI set to a non-empty value means GitLab CI, and CI=false turns
// detection off. An environment that claims both is rejected, since npm
// would mix the two (it checks GitHub's token and then builds GitLab's
// statement).
func DetectCI(env func(string) (string, bool)) (CI, error) {
	if v, _ := env("CI"); v == "false" {
		return "", &EnvError{Var: "CI", Reason: `is "false", which turns CI detection off`, Err: ErrNotCI}
	}
	gh, _ := env("GITHUB_ACTIONS")
	gl, _ := env("GITLAB_CI")
	switch {
	case gh != "" && gl != "":
		return "", &EnvError{Var: "GITLAB_CI", Reason: "is set together with GITHUB_ACTIONS; the environment must belong to one CI system"}
	case gh != "":
		return GitHubActions, nil
	case gl != "":
		return GitLabCI, nil
	}
	return "", &EnvError{Var: "GITHUB_ACTIONS", Reason: "neither GITHUB_ACTIONS nor GITLAB_CI is set", Err: ErrNotCI}
}

// envReader reads variables and remembers the first problem, so that
// builders can read many variables and check once.
type envReader struct {
	env func(string) (string, bool)
	err error
}

func (r *envReader) fail(name, reason string) {
	if r.err == nil {
		r.err = &EnvError{Var: name, Reason: reason}
	}
}

// required returns a variable that must be set and non-empty.
func (r *envReader) required(name string) string {
	v, ok := r.env(name)
	switch {
	case !ok:
		r.fail(name, "is not set")
	case v == "":
		r.fail(name, "is empty")
	}
	return v
}

// digits returns a required variable made of ASCII digits only.
func (r *envReader) digits(name string) string {
	v := r.required(name)
	if v != "" && !isDigits(v) {
		r.fail(name, fmt.Sprintf("%q is not a decimal number", v))
	}
	return v
}

// commit returns a required variable holding a full 40-hex-digit commit SHA.
func (r *envReader) commit(name string) string {
	v := r.required(name)
	if v != "" && !isHex(v, 40) {
		r.fail(name, fmt.Sprintf("%q is not a 40-digit lowercase hex commit SHA", v))
	}
	return v
}

// baseURL returns a required absolute http(s) URL without a trailing slash,
// query or fragment, so that npm's string templates append paths cleanly.
func (r *envReader) baseURL(name string) string {
	v := r.required(name)
	if v == "" {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "/") {
		r.fail(name, fmt.Sprintf("%q is not an absolute http(s) URL without a trailing slash", v))
	}
	return v
}

// noSpace returns a required variable without whitespace or control
// characters, such as a ref name or a path.
func (r *envReader) noSpace(name string) string {
	v := r.required(name)
	if strings.ContainsFunc(v, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		r.fail(name, fmt.Sprintf("%q contains whitespace or control characters", v))
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
