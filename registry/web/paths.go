package web

import (
	"errors"
	"net/url"
	"strings"
)

// packagePath is the page of a package: /name or /@scope/name.
func packagePath(name string) string {
	return "/" + escapeName(name)
}

// versionPath is the page of one version: /name/1.0.0 or /@scope/name/1.0.0.
func versionPath(name, version string) string {
	return packagePath(name) + "/" + url.PathEscape(version)
}

// badgePath is the badge of a package's latest version, or of one version
// when version is not empty.
func badgePath(name, version string) string {
	if version == "" {
		return "/badge/" + escapeName(name) + ".svg"
	}
	return "/badge/" + escapeName(name) + "/v/" + url.PathEscape(version) + ".svg"
}

// logEntryPath is the log viewer's page for an entry index or UUID.
func logEntryPath(id string) string {
	return "/-/log/entries/" + url.PathEscape(id)
}

// escapeName escapes a package name for a path, keeping the scope's "@" and
// "/" readable: @scope/name stays @scope/name.
func escapeName(name string) string {
	if scope, rest, ok := strings.Cut(name, "/"); ok && strings.HasPrefix(scope, "@") {
		return "@" + url.PathEscape(scope[1:]) + "/" + url.PathEscape(rest)
	}
	return url.PathEscape(name)
}

// errBadBadgePath reports a badge path that names no package.
var errBadBadgePath = errors.New("badge path must be /badge/{name}.svg or /badge/{name}/v/{version}.svg")

// parseBadgePath splits the part of a badge URL after /badge/ into a
// package name and an optional version. It accepts escaped names
// (%40scope%2Fname) and the readable form (@scope/name).
func parseBadgePath(rest string) (name, version string, err error) {
	rest, err = url.PathUnescape(rest)
	if err != nil {
		return "", "", errBadBadgePath
	}
	rest, ok := strings.CutSuffix(rest, ".svg")
	if !ok || rest == "" {
		return "", "", errBadBadgePath
	}
	parts := strings.Split(rest, "/")
	scoped := strings.HasPrefix(parts[0], "@")
	nameParts := 1
	if scoped {
		nameParts = 2
	}
	switch len(parts) {
	case nameParts:
	case nameParts + 2:
		if parts[nameParts] != "v" || parts[nameParts+1] == "" {
			return "", "", errBadBadgePath
		}
		version = parts[nameParts+1]
	default:
		return "", "", errBadBadgePath
	}
	name = strings.Join(parts[:nameParts], "/")
	for _, p := range parts[:nameParts] {
		if p == "" || p == "@" || p == "." || p == ".." {
			return "", "", errBadBadgePath
		}
	}
	return name, version, nil
}
