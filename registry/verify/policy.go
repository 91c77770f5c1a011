package verify

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Well-known OIDC issuers of CI systems whose provenance npm accepts.
const (
	IssuerGitHubActions = "https://token.actions.githubusercontent.com"
	IssuerGitLab        = "https://gitlab.com"
)

// CommitMode says what the registry does with the commit-exists check.
type CommitMode string

// Commit check modes.
const (
	// CommitRequire rejects a version whose commit cannot be found (the default).
	CommitRequire CommitMode = "require"
	// CommitWarn accepts it and records the commit as unverified.
	CommitWarn CommitMode = "warn"
	// CommitOff does not check.
	CommitOff CommitMode = "off"
)

// Defaults of a Policy's rules, the same as npm's where npm has a rule.
var (
	// DefaultIssuers are GitHub Actions and GitLab.com.
	DefaultIssuers = []string{IssuerGitHubActions, IssuerGitLab}
	// DefaultRunnerEnvironments are the cloud-hosted runners npm accepts.
	DefaultRunnerEnvironments = []string{"github-hosted", "gitlab-hosted"}
	// DefaultRepositoryVisibility is public only, as on npm.
	DefaultRepositoryVisibility = []string{"public"}
)

// Any, in RunnerEnvironments or RepositoryVisibility, allows every value,
// including a certificate that lacks the extension.
const Any = "*"

// A Policy decides what the registry accepts: Default for every package,
// overridden per scope or package by the entries of Packages that match.
type Policy struct {
	// Default applies to every package.
	Default Rules `yaml:"default" json:"default"`
	// Packages override Default for the packages they match. Every
	// matching entry applies, field by field, from the least specific to
	// the most specific: an exact name beats a pattern, and a longer
	// pattern beats a shorter one.
	Packages []PackageRules `yaml:"packages" json:"packages,omitempty"`
}

// PackageRules are rules for the packages that Match names.
type PackageRules struct {
	// Match is an exact package name ("left-pad", "@acme/tool"), a scope
	// ("@acme/*"), a name prefix ending in "*" ("@acme/internal-*"), or "*".
	Match string `yaml:"match" json:"match"`
	// Rules set here override the less specific ones; unset fields inherit.
	Rules `yaml:",inline"`
}

// Rules are the policy settings. A nil field inherits the value of a less
// specific rule set, and finally the default named in its comment.
type Rules struct {
	// ProvenanceRequired rejects versions published without a bundle
	// (check "provenance-required"). Default false, as on npm.
	ProvenanceRequired *bool `yaml:"provenanceRequired" json:"provenanceRequired,omitempty"`
	// TrustedRoots names the roots (RootConfig.Name) whose bundles are
	// accepted (check "trusted-root"). Default: every configured root.
	TrustedRoots []string `yaml:"trustedRoots" json:"trustedRoots,omitempty"`
	// AllowedIssuers are the OIDC issuers a signing certificate may name
	// (check "issuer-allowed"). Default DefaultIssuers.
	AllowedIssuers []string `yaml:"allowedIssuers" json:"allowedIssuers,omitempty"`
	// RunnerEnvironments are the accepted Runner Environment extension
	// values (check "runner-environment"), e.g. add "self-hosted".
	// Default DefaultRunnerEnvironments; "*" allows any.
	RunnerEnvironments []string `yaml:"runnerEnvironments" json:"runnerEnvironments,omitempty"`
	// RepositoryVisibility are the accepted Source Repository Visibility
	// At Signing values (check "repository-visibility"), e.g. add
	// "private" or "internal". Default DefaultRepositoryVisibility; "*"
	// allows any.
	RepositoryVisibility []string `yaml:"repositoryVisibility" json:"repositoryVisibility,omitempty"`
	// TrustedPublishers, when not empty, are the only repositories and
	// workflows allowed to publish (check "trusted-publisher"), like npm's
	// and PyPI's trusted publishers. Default: any.
	TrustedPublishers []TrustedPublisher `yaml:"trustedPublishers" json:"trustedPublishers,omitempty"`
	// CommitCheck is the commit-exists mode. Default CommitRequire.
	CommitCheck CommitMode `yaml:"commitCheck" json:"commitCheck,omitempty"`
}

// A TrustedPublisher is a repository, and optionally a workflow file and a
// deployment environment, allowed to publish a package. Values are
// compared exactly, with the signing certificate's extensions.
type TrustedPublisher struct {
	// Repository is the source repository URL, e.g.
	// https://github.com/octo-org/octo-pkg (certificate .1.12).
	Repository string `yaml:"repository" json:"repository"`
	// Workflow is the workflow file path in the repository, e.g.
	// .github/workflows/release.yml (from certificate .1.18); empty
	// allows any workflow.
	Workflow string `yaml:"workflow" json:"workflow,omitempty"`
	// Environment is the deployment environment (certificate .1.23);
	// empty allows any.
	Environment string `yaml:"environment" json:"environment,omitempty"`
}

// Effective are the rules that apply to one package once Default and the
// matching Packages entries are merged and defaults filled in. Each field
// means what the Rules field of the same name means.
type Effective struct {
	ProvenanceRequired   bool
	TrustedRoots         []string // nil: every configured root
	AllowedIssuers       []string
	RunnerEnvironments   []string
	RepositoryVisibility []string
	TrustedPublishers    []TrustedPublisher
	CommitCheck          CommitMode
	// Matched lists the Packages patterns that applied, least specific first.
	Matched []string
}

// For returns the effective rules for package name.
func (p *Policy) For(name string) Effective {
	type match struct {
		exact  bool
		length int
		rules  *PackageRules
	}
	var matches []match
	for i := range p.Packages {
		pr := &p.Packages[i]
		if exact, ok := matchPattern(pr.Match, name); ok {
			matches = append(matches, match{exact, len(strings.TrimSuffix(pr.Match, "*")), pr})
		}
	}
	sort.SliceStable(matches, func(i, j int) bool {
		if matches[i].exact != matches[j].exact {
			return !matches[i].exact
		}
		return matches[i].length < matches[j].length
	})
	merged := p.Default
	var matched []string
	for _, m := range matches {
		merged = merged.override(m.rules.Rules)
		matched = append(matched, m.rules.Match)
	}
	e := Effective{
		TrustedRoots:         merged.TrustedRoots,
		AllowedIssuers:       orDefault(merged.AllowedIssuers, DefaultIssuers),
		RunnerEnvironments:   orDefault(merged.RunnerEnvironments, DefaultRunnerEnvironments),
		RepositoryVisibility: orDefault(merged.RepositoryVisibility, DefaultRepositoryVisibility),
		TrustedPublishers:    merged.TrustedPublishers,
		CommitCheck:          merged.CommitCheck,
		Matched:              matched,
	}
	if merged.ProvenanceRequired != nil {
		e.ProvenanceRequired = *merged.ProvenanceRequired
	}
	if e.CommitCheck == "" {
		e.CommitCheck = CommitRequire
	}
	return e
}

// matchPattern reports whether pattern matches name, and whether it is an
// exact (wildcard-free) pattern.
func matchPattern(pattern, name string) (exact, ok bool) {
	if prefix, wild := strings.CutSuffix(pattern, "*"); wild {
		return false, strings.HasPrefix(name, prefix)
	}
	return true, pattern == name
}

func (r Rules) override(o Rules) Rules {
	if o.ProvenanceRequired != nil {
		r.ProvenanceRequired = o.ProvenanceRequired
	}
	if o.TrustedRoots != nil {
		r.TrustedRoots = o.TrustedRoots
	}
	if o.AllowedIssuers != nil {
		r.AllowedIssuers = o.AllowedIssuers
	}
	if o.RunnerEnvironments != nil {
		r.RunnerEnvironments = o.RunnerEnvironments
	}
	if o.RepositoryVisibility != nil {
		r.RepositoryVisibility = o.RepositoryVisibility
	}
	if o.TrustedPublishers != nil {
		r.TrustedPublishers = o.TrustedPublishers
	}
	if o.CommitCheck != "" {
		r.CommitCheck = o.CommitCheck
	}
	return r
}

func orDefault(v, def []string) []string {
	if v == nil {
		return def
	}
	return v
}

// allows reports whether list admits value: it holds value or Any.
func allows(list []string, value string) bool {
	return slices.Contains(list, Any) || (value != "" && slices.Contains(list, value))
}

func (p *Policy) validate(roots map[string]bool) error {
	check := func(where string, r Rules) error {
		for _, name := range r.TrustedRoots {
			if !roots[name] {
				return fmt.Errorf("verify: policy %s: trustedRoots names unknown root %q", where, name)
			}
		}
		for _, iss := range r.AllowedIssuers {
			if u, err := url.Parse(iss); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
				return fmt.Errorf("verify: policy %s: allowedIssuers: %q is not an issuer URL", where, iss)
			}
		}
		switch r.CommitCheck {
		case "", CommitRequire, CommitWarn, CommitOff:
		default:
			return fmt.Errorf("verify: policy %s: commitCheck %q is not require, warn or off", where, r.CommitCheck)
		}
		for i, tp := range r.TrustedPublishers {
			if u, err := url.Parse(tp.Repository); err != nil || u.Scheme == "" || u.Host == "" || strings.Trim(u.Path, "/") == "" {
				return fmt.Errorf("verify: policy %s: trustedPublishers[%d]: repository %q is not a repository URL", where, i, tp.Repository)
			}
		}
		return nil
	}
	if err := check("default", p.Default); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, pr := range p.Packages {
		where := fmt.Sprintf("packages[%d] (%q)", i, pr.Match)
		if pr.Match == "" || strings.Contains(strings.TrimSuffix(pr.Match, "*"), "*") {
			return fmt.Errorf("verify: policy %s: match must be a name, or a prefix ending in a single \"*\"", where)
		}
		if seen[pr.Match] {
			return fmt.Errorf("verify: policy %s: duplicate match", where)
		}
		seen[pr.Match] = true
		if err := check(where, pr.Rules); err != nil {
			return err
		}
	}
	return nil
}
