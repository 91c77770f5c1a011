// Package commit checks that a commit exists in a source repository: the
// sixth step of the registry's publish verification ("commit-exists"). A
// provenance statement claims that a version was built from a commit of a
// repository; the registry asks the repository whether that commit is there.
//
// Two [Checker]s talk to forges for real:
//
//   - [Git] speaks git's smart HTTP protocol (with go-git), so it works with
//     any forge. It first looks for the commit among the advertised refs,
//     then asks upload-pack for that one commit without its tree
//     (want <sha>, depth 1, filter tree:0) when the server allows wanting a
//     reachable or any object, and otherwise fetches the history of every
//     advertised branch and tag (commits only) and looks for the commit in it.
//   - [GitHubAPI] asks GitHub's REST API: GET /repos/{owner}/{repo}/commits/{sha}.
//
// [New] builds the checker the registry uses from a YAML-decodable [Config]:
// URL rewrites (for example https://github.com/ → a local forge in
// development), the GitHub API for github.com, a timeout and a cache.
//
// # Limits of "exists"
//
// A forge may serve objects of a repository's whole fork network: GitHub's
// commits API answers 200, and its upload-pack may serve, a commit pushed
// only to a fork. The check therefore proves that the commit is published
// where the repository's forge can see it, not that it is on a branch of
// the repository itself (the certificate's Source Repository Ref, checked
// in step 4, names the ref the build ran from).
//
// # Errors
//
// A checker returns nil when the commit exists and otherwise a
// *provenance.CheckError named "commit-exists" that wraps [ErrNotFound]
// (the repository answered: no such commit, or no such repository) or
// [ErrUnavailable] (the question could not be answered: network failure,
// timeout, a server error, or a limit). A registry in "warn" mode accepts
// both as "unverified"; in "require" mode it rejects both.
package commit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/provenant/provenant/provenance"
)

// CheckName is the name of the check this package implements.
const CheckName = "commit-exists"

var (
	// ErrNotFound reports that the repository answered and the commit is
	// not in it, or that the repository does not exist.
	ErrNotFound = errors.New("commit not found in repository")
	// ErrUnavailable reports that the repository could not be asked or did
	// not give an answer, so the commit's existence is unknown.
	ErrUnavailable = errors.New("repository unavailable")
)

// A Checker checks that a commit exists in a repository. repoURL is the
// provenance source repository as a URL without ".git" (for example
// https://github.com/owner/repo) and sha the full lowercase hex commit id.
// Check returns nil if the commit exists, or a *provenance.CheckError
// wrapping ErrNotFound or ErrUnavailable. Implementations are safe for
// concurrent use.
type Checker interface {
	Check(ctx context.Context, repoURL, sha string) error
}

// CheckerFunc adapts a function to the Checker interface.
type CheckerFunc func(ctx context.Context, repoURL, sha string) error

// Check calls f(ctx, repoURL, sha).
func (f CheckerFunc) Check(ctx context.Context, repoURL, sha string) error {
	return f(ctx, repoURL, sha)
}

var shaPattern = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// validate checks the inputs every checker shares: a full lowercase hex
// commit id, and an https (or http) URL without credentials, query or
// fragment. Malformed input cannot name an existing commit: ErrNotFound.
func validate(repoURL, sha string) (*url.URL, error) {
	if !shaPattern.MatchString(sha) {
		return nil, notFound(repoURL, sha, fmt.Errorf("%w: %q is not a full lowercase hex commit id", ErrNotFound, sha))
	}
	u, err := url.Parse(repoURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") == "" {
		return nil, notFound(repoURL, sha, fmt.Errorf("%w: %q is not an http(s) repository URL", ErrNotFound, repoURL))
	}
	return u, nil
}

func notFound(repoURL, sha string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return &provenance.CheckError{Check: CheckName, Expected: repoURL + "@" + sha, Actual: "absent", Err: err}
}

func unavailable(repoURL, sha string, err error) error {
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return &provenance.CheckError{Check: CheckName, Expected: repoURL + "@" + sha, Actual: "unknown", Err: err}
}
