package registry

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/provenant/provenant/internal/limits"
)

func unescape(s string) (string, error) {
	d, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("%w: bad path escape %q", ErrBadRequest, s)
	}
	return d, nil
}

// validName applies npm's rules for new package names
// (npm/validate-npm-package-name): at most 214 characters, lowercase,
// URL-safe characters only, not starting with "." or "_", and a scope of
// the form "@scope/name".
func validName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: invalid package name %q: %s", ErrBadRequest, name, why) }
	if name == "" {
		return bad("empty")
	}
	if len(name) > limits.MaxPackageNameLength {
		return bad(fmt.Sprintf("longer than %d characters", limits.MaxPackageNameLength))
	}
	if reservedNames[name] {
		return bad("reserved")
	}
	local := name
	if strings.HasPrefix(name, "@") {
		scope, pkg, ok := strings.Cut(name[1:], "/")
		if !ok || scope == "" || pkg == "" || strings.Contains(pkg, "/") {
			return bad("a scoped name is @scope/name")
		}
		if err := validPart(scope); err != "" {
			return bad("scope " + err)
		}
		local = pkg
	}
	if err := validPart(local); err != "" {
		return bad(err)
	}
	return nil
}

// reservedNames cannot be packages: npm's blacklist, and the first path
// segments of the registry's own routes ("/-/…", Pages' "/badge/…").
var reservedNames = map[string]bool{"node_modules": true, "favicon.ico": true, "-": true, "badge": true}

func validPart(s string) string {
	if s[0] == '.' || s[0] == '_' {
		return "cannot start with . or _"
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', strings.ContainsRune("-._~!*'()", r):
		case r >= 'A' && r <= 'Z':
			return "must be lowercase"
		default:
			return fmt.Sprintf("contains %q, which is not URL-safe", r)
		}
	}
	return ""
}

// parseVersion parses a version strictly (no "v" prefix, no partial versions).
func parseVersion(v string) (*semver.Version, error) {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid version %q: %v", ErrBadRequest, v, err)
	}
	return sv, nil
}

// validTag rejects tags that would be confused with versions or paths.
func validTag(tag string) error {
	if tag == "" || strings.ContainsAny(tag, "/%@ ") || len(tag) > 128 {
		return fmt.Errorf("%w: invalid dist-tag %q", ErrBadRequest, tag)
	}
	if _, err := semver.NewVersion(tag); err == nil {
		return fmt.Errorf("%w: dist-tag %q looks like a version", ErrBadRequest, tag)
	}
	return nil
}

// tarballFile is the file name npm's registry serves a tarball under:
// "<name without scope>-<version>.tgz".
func tarballFile(name, version string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name + "-" + version + ".tgz"
}
