package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/provenant/provenant/internal/limits"
)

// hostedGitHosts are the hosts npm's hosted-git-info knows, with the
// shortcut prefix it accepts for each.
var hostedGitHosts = map[string]string{
	"github:":    "github.com",
	"gitlab:":    "gitlab.com",
	"bitbucket:": "bitbucket.org",
}

func isHostedGitHost(host string) bool {
	for _, h := range hostedGitHosts {
		if h == host {
			return true
		}
	}
	return false
}

// shorthandRe matches npm's bare "owner/repo" shorthand for GitHub.
var shorthandRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// scpRe matches the scp-like ssh form "[user@]host:path".
var scpRe = regexp.MustCompile(`^(?:[A-Za-z0-9_.-]+@)?([A-Za-z0-9.-]+):([^/].*)$`)

// ErrRepositoryMissing is wrapped by the "repository-missing" check error.
var ErrRepositoryMissing = errors.New(`package.json has no "repository" or "repository.url"`)

// NormalizeRepositoryURL normalises a package.json "repository" value, in
// its string or object ({"type": "git", "url": …}) form, into the URL a
// source repository URI is compared with, as npm does: npm publish
// rewrites it with hosted-git-info and the registry strips "git+" and
// ".git" before an exact, case-sensitive comparison.
//
// The rules, in order:
//
//   - shorthands: "owner/repo" and "github:owner/repo" become
//     https://github.com/owner/repo; "gitlab:…" and "bitbucket:…" likewise
//     for gitlab.com and bitbucket.org;
//   - a "git+" prefix is removed;
//   - ssh ("git@github.com:o/r.git", "ssh://git@github.com/o/r") and git://
//     forms of github.com, gitlab.com and bitbucket.org become https, since
//     they name the same repository; other hosts keep their scheme;
//   - the host is lowercased; a #committish and a query are dropped;
//   - trailing slashes, then a ".git" suffix, then trailing slashes again
//     are removed; a github.com or bitbucket.org URL pointing into the tree
//     (/o/r/tree/…, /o/r/blob/…) is cut to /o/r.
//
// Scheme (http vs https) and the case of the path are kept, because the
// comparison that follows is exact, as on npm. A missing or empty value
// gives a [*CheckError] named "repository-missing"; a value that is not a
// URL gives one named "repository-url".
func NormalizeRepositoryURL(repository json.RawMessage) (string, error) {
	raw, err := repositoryURL(repository)
	if err != nil {
		return "", err
	}
	return normalizeURL(raw)
}

// repositoryURL extracts the URL string of a "repository" value.
func repositoryURL(repository json.RawMessage) (string, error) {
	trimmed := bytes.TrimSpace(repository)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		return "", &CheckError{Check: "repository-missing", Err: ErrRepositoryMissing}
	}
	var raw string
	switch trimmed[0] {
	case '"':
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return "", &CheckError{Check: "repository-missing", Err: fmt.Errorf("repository: %w", err)}
		}
	case '{':
		var obj struct {
			URL json.RawMessage `json:"url"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return "", &CheckError{Check: "repository-missing", Err: fmt.Errorf("repository: %w", err)}
		}
		if len(obj.URL) == 0 || bytes.Equal(obj.URL, []byte("null")) {
			return "", &CheckError{Check: "repository-missing", Err: ErrRepositoryMissing}
		}
		if err := json.Unmarshal(obj.URL, &raw); err != nil {
			return "", &CheckError{Check: "repository-missing", Err: errors.New(`repository.url is not a string`)}
		}
	default:
		return "", &CheckError{Check: "repository-missing", Err: errors.New(`"repository" is neither a string nor an object`)}
	}
	if strings.TrimSpace(raw) == "" {
		return "", &CheckError{Check: "repository-missing", Err: ErrRepositoryMissing}
	}
	return raw, nil
}

func normalizeURL(raw string) (string, error) {
	bad := func(reason string) error {
		return &CheckError{Check: "repository-url", Actual: raw, Err: errors.New(reason)}
	}
	s := strings.TrimSpace(raw)
	if strings.ContainsFunc(s, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", bad("repository URL contains whitespace or control characters")
	}
	// Shortcuts.
	for prefix, host := range hostedGitHosts {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			s = "https://" + host + "/" + rest
		}
	}
	if path, _, _ := strings.Cut(s, "#"); shorthandRe.MatchString(path) {
		s = "https://github.com/" + s
	}
	s = strings.TrimPrefix(s, "git+")
	// scp-like ssh: [user@]host:path.
	if !strings.Contains(s, "://") {
		m := scpRe.FindStringSubmatch(s)
		if m == nil {
			return "", bad("repository URL is neither a URL nor a known shorthand")
		}
		s = "ssh://git@" + m[1] + "/" + m[2]
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", bad(err.Error())
	}
	if u.Host == "" || u.Opaque != "" {
		return "", bad("repository URL has no host")
	}
	u.Host = strings.ToLower(u.Host)
	if isHostedGitHost(u.Hostname()) {
		switch u.Scheme {
		case "ssh", "git", "git+ssh":
			u.Scheme, u.User = "https", nil
			u.Host = u.Hostname() // an ssh port means nothing over https
		}
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimRight(p, "/")
	if h := u.Hostname(); h == "github.com" || h == "bitbucket.org" {
		if seg := strings.Split(strings.TrimPrefix(p, "/"), "/"); len(seg) > 2 && (seg[2] == "tree" || seg[2] == "blob" || seg[2] == "src") {
			p = "/" + seg[0] + "/" + seg[1]
		}
	}
	if p == "" {
		return "", bad("repository URL has no path")
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// CheckRepository compares the "repository" of package.json with the
// provenance source repository URI (the certificate's Source Repository
// URI, or the statement's). The package.json value is normalised with
// [NormalizeRepositoryURL] and must then equal sourceRepositoryURI exactly.
// As npm's normalisation does, a "repositories" array replaces
// "repository" with its first entry. The error is a [*CheckError] named "repository-missing"
// or "repository-url"; its Actual is the URL as written in package.json,
// which is what npm's error message shows.
func CheckRepository(packageJSON []byte, sourceRepositoryURI string) error {
	if len(packageJSON) > limits.MaxPackageJSONBytes {
		return &CheckError{Check: "repository-missing", Err: fmt.Errorf("package.json is %d bytes, more than the limit of %d", len(packageJSON), limits.MaxPackageJSONBytes)}
	}
	var pkg struct {
		Repository   json.RawMessage   `json:"repository"`
		Repositories []json.RawMessage `json:"repositories"`
	}
	if err := json.Unmarshal(packageJSON, &pkg); err != nil {
		return &CheckError{Check: "repository-missing", Expected: sourceRepositoryURI, Err: fmt.Errorf("package.json: %w", err)}
	}
	repo := pkg.Repository
	if pkg.Repositories != nil {
		// npm's normalisation lets "repositories"[0] replace "repository".
		repo = nil
		if len(pkg.Repositories) > 0 {
			repo = pkg.Repositories[0]
		}
	}
	raw, err := repositoryURL(repo)
	if err != nil {
		var ce *CheckError
		if errors.As(err, &ce) {
			ce.Expected = sourceRepositoryURI
		}
		return err
	}
	got, err := normalizeURL(raw)
	if err != nil {
		var ce *CheckError
		if errors.As(err, &ce) {
			ce.Expected = sourceRepositoryURI
		}
		return err
	}
	if got != sourceRepositoryURI {
		ce := &CheckError{Check: "repository-url", Expected: sourceRepositoryURI, Actual: raw}
		if got != raw {
			ce.Err = fmt.Errorf("normalised to %q", got)
		}
		return ce
	}
	return nil
}
