package web

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// manifest is the subset of a published package.json the pages show. Every
// field is tolerant: old packages use strings where new ones use objects.
type manifest struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Description          string            `json:"description"`
	Keywords             json.RawMessage   `json:"keywords"`
	License              json.RawMessage   `json:"license"`
	Repository           json.RawMessage   `json:"repository"`
	Homepage             string            `json:"homepage"`
	Readme               string            `json:"readme"`
	Dependencies         map[string]string `json:"dependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
}

// parseManifest decodes m leniently: an undecodable manifest yields an empty
// one, so that one bad version never takes a package page down.
func parseManifest(m json.RawMessage) manifest {
	var out manifest
	if len(m) > 0 {
		_ = json.Unmarshal(m, &out) // best effort: fields that decoded are kept
	}
	return out
}

// keywords returns the keywords, accepting an array or a comma-separated string.
func (m manifest) keywords() []string {
	var list []string
	if json.Unmarshal(m.Keywords, &list) != nil {
		var s string
		if json.Unmarshal(m.Keywords, &s) != nil {
			return nil
		}
		list = strings.Split(s, ",")
	}
	var out []string
	for _, k := range list {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// license returns the SPDX expression, from a string or a {type} object.
func (m manifest) license() string {
	var s string
	if json.Unmarshal(m.License, &s) == nil {
		return s
	}
	var o struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(m.License, &o) == nil {
		return o.Type
	}
	return ""
}

// repositoryURL returns the repository as a browsable https URL, or "" when
// the field is missing or is not a URL the pages can link to safely.
func (m manifest) repositoryURL() string {
	var s string
	if json.Unmarshal(m.Repository, &s) != nil {
		var o struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(m.Repository, &o) != nil {
			return ""
		}
		s = o.URL
	}
	return browsableRepoURL(s)
}

// browsableRepoURL normalises the repository notations npm accepts
// ("git+https://host/o/r.git", "git://host/o/r", "github:o/r", "o/r") to
// https://host/o/r. Anything that is not http(s) after normalisation is
// dropped.
func browsableRepoURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	for prefix, host := range map[string]string{"github:": "github.com", "gitlab:": "gitlab.com", "bitbucket:": "bitbucket.org"} {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			s = "https://" + host + "/" + rest
		}
	}
	if !strings.Contains(s, ":") && strings.Count(s, "/") == 1 {
		s = "https://github.com/" + s
	}
	s = strings.TrimPrefix(s, "git+")
	if rest, ok := strings.CutPrefix(s, "git://"); ok {
		s = "https://" + rest
	}
	if rest, ok := strings.CutPrefix(s, "ssh://git@"); ok {
		s = "https://" + rest
	}
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		s = "https://" + strings.Replace(rest, ":", "/", 1)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	u.Path = strings.TrimSuffix(u.Path, ".git")
	u.User = nil
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// A dependency is one row of a dependency list.
type dependency struct {
	Name, Range, Kind string
}

// dependencies lists the runtime, peer and optional dependencies, sorted by name.
func (m manifest) dependencies() []dependency {
	var out []dependency
	for kind, deps := range map[string]map[string]string{"": m.Dependencies, "peer": m.PeerDependencies, "optional": m.OptionalDependencies} {
		for name, r := range deps {
			out = append(out, dependency{Name: name, Range: r, Kind: kind})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}
