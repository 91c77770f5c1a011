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

// validName applies npm's rules for new package names, deciding as
// validate-npm-package-name's validForNewPackages does: at most 214
// characters, lowercase, URL-safe characters only (those
// encodeURIComponent leaves alone), not starting with ".", "_" or "-", no
// ~'!()* in the name after the scope, not one of npm's excluded names or a
// Node core module name, and a scope of the form "@scope/name" whose name
// does not start with ".". It also rejects the registry's own route names
// (routeNames), which npm would accept.
func validName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w: invalid package name %q: %s", ErrBadRequest, name, why) }
	switch {
	case name == "":
		return bad("empty")
	case len(name) > limits.MaxPackageNameLength:
		return bad(fmt.Sprintf("longer than %d characters", limits.MaxPackageNameLength))
	case npmExcludedNames[name]:
		return bad(name + " is not a valid package name")
	case routeNames[name]:
		return bad("reserved for a registry route")
	case nodeCoreModules[name]:
		return bad(name + " is a core module name")
	}
	local := name
	if strings.HasPrefix(name, "@") {
		scope, pkg, ok := strings.Cut(name[1:], "/")
		if !ok || scope == "" || pkg == "" || strings.Contains(pkg, "/") {
			return bad("a scoped name is @scope/name")
		}
		// npm puts no rule on the scope's first character.
		if err := urlSafe(scope); err != "" {
			return bad("scope " + err)
		}
		local = pkg
	} else if strings.ContainsRune("._-", rune(name[0])) {
		return bad("cannot start with . or _ or -")
	}
	if local[0] == '.' {
		return bad("cannot start with .")
	}
	if err := urlSafe(local); err != "" {
		return bad(err)
	}
	if strings.ContainsAny(local, oldSpecialChars) {
		return bad(`name can no longer contain special characters ("` + oldSpecialChars + `")`)
	}
	return nil
}

// oldSpecialChars are URL-safe characters that npm allowed in old package
// names but rejects in new ones (outside the scope).
const oldSpecialChars = "~'!()*"

// npmExcludedNames are validate-npm-package-name's exclusion list.
var npmExcludedNames = map[string]bool{"node_modules": true, "favicon.ico": true}

// routeNames are the first path segments of the registry's own routes
// (Pages' "/badge/…", "/healthz", "/metrics"); npm accepts them, this
// registry cannot serve them.
// ("-", of "/-/…", already fails npm's leading-hyphen rule.)
var routeNames = map[string]bool{"badge": true, "healthz": true, "metrics": true}

// nodeCoreModules are the names of Node's core modules, which npm rejects
// as new package names ("<name> is a core module name"): Node 20's
// require('module').builtinModules, the same list as
// validate-npm-package-name 7's builtin-modules.json. Its "node:"-prefixed
// entries (node:sea, node:test, …) are left out: ':' is not URL-safe, so
// urlSafe rejects them anyway. TestNodeCoreModules fails when the
// installed Node knows a module this table lacks.
var nodeCoreModules = map[string]bool{
	"_http_agent": true, "_http_client": true, "_http_common": true, "_http_incoming": true,
	"_http_outgoing": true, "_http_server": true, "_stream_duplex": true, "_stream_passthrough": true,
	"_stream_readable": true, "_stream_transform": true, "_stream_wrap": true, "_stream_writable": true,
	"_tls_common": true, "_tls_wrap": true, "assert": true, "assert/strict": true,
	"async_hooks": true, "buffer": true, "child_process": true, "cluster": true,
	"console": true, "constants": true, "crypto": true, "dgram": true,
	"diagnostics_channel": true, "dns": true, "dns/promises": true, "domain": true,
	"events": true, "fs": true, "fs/promises": true, "http": true,
	"http2": true, "https": true, "inspector": true, "inspector/promises": true,
	"module": true, "net": true, "os": true, "path": true,
	"path/posix": true, "path/win32": true, "perf_hooks": true, "process": true,
	"punycode": true, "querystring": true, "readline": true, "readline/promises": true,
	"repl": true, "stream": true, "stream/consumers": true, "stream/promises": true,
	"stream/web": true, "string_decoder": true, "sys": true, "timers": true,
	"timers/promises": true, "tls": true, "trace_events": true, "tty": true,
	"url": true, "util": true, "util/types": true, "v8": true,
	"vm": true, "wasi": true, "worker_threads": true, "zlib": true,
}

// urlSafe reports why s has a character encodeURIComponent would escape,
// or "" if it has none; an uppercase letter is reported as such.
func urlSafe(s string) string {
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
