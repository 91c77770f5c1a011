package commit

import (
	"fmt"
	"net/url"
	"strings"
)

// A Rewrite maps repository URLs that start with Prefix to fetch URLs that
// start with Replacement instead, e.g. https://github.com/ to
// http://127.0.0.1:9418/ for a local forge.
type Rewrite struct {
	// Prefix is matched against the start of the repository URL. It should
	// end with "/" so that https://github.com/o does not match
	// https://github.com/other.
	Prefix string `yaml:"prefix" json:"prefix"`
	// Replacement replaces Prefix.
	Replacement string `yaml:"replacement" json:"replacement"`
}

// Rewrites is an ordered list of URL rewrites; the longest matching prefix
// wins.
type Rewrites []Rewrite

// Apply returns repoURL rewritten by the longest matching prefix, and
// whether any rule matched.
func (rs Rewrites) Apply(repoURL string) (string, bool) {
	best := -1
	for i, r := range rs {
		if strings.HasPrefix(repoURL, r.Prefix) && (best < 0 || len(r.Prefix) > len(rs[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return repoURL, false
	}
	return rs[best].Replacement + strings.TrimPrefix(repoURL, rs[best].Prefix), true
}

// Validate checks that every rule has a non-empty prefix and an http(s)
// replacement URL.
func (rs Rewrites) Validate() error {
	for i, r := range rs {
		if r.Prefix == "" {
			return fmt.Errorf("commit: rewrites[%d]: empty prefix", i)
		}
		u, err := url.Parse(r.Replacement)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("commit: rewrites[%d]: replacement %q is not an http(s) URL", i, r.Replacement)
		}
	}
	return nil
}
