package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/registry/verify"
)

// Trust root names recorded in verify.Result.TrustRoot.
const (
	trustRootPublicGood = "public-good"
	trustRootPrivate    = "private"
)

// publicLedgerSearchURL is where the public-good log's entries are browsed,
// as npmjs.com links them.
const publicLedgerSearchURL = "https://search.sigstore.dev/?logIndex="

// A panel is the provenance panel of one version page. It is built from the
// Result the registry recorded at publish time and never from the
// package.json the publisher sent.
type panel struct {
	// Headline is "Built and signed on GitHub Actions" or "… on GitLab CI".
	Headline string
	// BuildEnvironment names the CI system, RunnerEnvironment its runner kind.
	BuildEnvironment, RunnerEnvironment string
	// BuildSummaryURL links the CI run.
	BuildSummaryURL string
	// RepositoryURL, Commit, ShortCommit and CommitURL describe the source commit.
	RepositoryURL, Commit, ShortCommit, CommitURL string
	// BuildFile is "path@ref", BuildFileURL links the file at the commit.
	BuildFile, BuildFileURL string
	// LedgerURL links the transparency-log entry; LedgerLabel names it.
	LedgerURL, LedgerLabel string
	// LogIndex is the entry's index in the log.
	LogIndex int64
	// Checks lists what the registry checked.
	Checks []panelCheck
	// CommitStatus is verified, unverified or off.
	CommitStatus string
	// TrustRoot names the trusted root in words.
	TrustRoot string
	// VerifiedAt is when the registry ran the checks.
	VerifiedAt time.Time
	// SAN and Issuer identify the signer.
	SAN, Issuer string
}

// A panelCheck is one line of "what the registry checked".
type panelCheck struct {
	Name, Label, Status, Detail string
}

// ciNames maps a CI to the words the headline uses.
var ciNames = map[provenance.CI]string{
	provenance.GitHubActions: "GitHub Actions",
	provenance.GitLabCI:      "GitLab CI",
}

// checkLabels gives the known check names a human label; unknown names are
// shown as recorded.
var checkLabels = map[string]string{
	"bundle-media-type":     "Sigstore bundle format",
	"bundle-parse":          "Sigstore bundle parses",
	"tlog-entry-kind":       "Transparency log entry kind",
	"trusted-root":          "Signed under a trusted root",
	"tlog-set":              "Log's signed entry timestamp",
	"tlog-inclusion":        "Transparency log inclusion proof",
	"tlog-checkpoint":       "Log checkpoint signature",
	"certificate-chain":     "Certificate chains to the trusted CA",
	"certificate-validity":  "Certificate valid at signing time",
	"certificate-sct":       "Certificate transparency timestamp",
	"observer-timestamp":    "Trusted signing time",
	"signature":             "Signature over the statement",
	"statement-parse":       "In-toto statement parses",
	"predicate-type":        "SLSA provenance predicate",
	"subject":               "Subject names this package and version",
	"subject-name":          "Subject names this package and version",
	"subject-digest":        "Subject digest matches the tarball",
	"issuer-allowed":        "OIDC issuer allowed by policy",
	"certificate-statement": "Certificate agrees with the statement",
	"repository-url":        "package.json repository matches the source",
	"commit-exists":         "Source commit exists",
	"runner-environment":    "Runner environment allowed by policy",
	"repository-visibility": "Repository visibility allowed by policy",
	"trusted-publisher":     "Trusted publisher",
	"provenance-required":   "Provenance required by policy",
}

// newPanel builds the panel; it returns nil when r records no provenance.
func newPanel(r *verify.Result) *panel {
	if r == nil || !r.Provenance || r.Summary == nil {
		return nil
	}
	s := r.Summary
	ci := ciNames[s.CI]
	if ci == "" {
		ci = string(s.CI)
	}
	p := &panel{
		Headline:          "Built and signed on " + ci,
		BuildEnvironment:  ci,
		RunnerEnvironment: runnerWords(s.RunnerEnvironment),
		BuildSummaryURL:   httpURL(s.RunInvocationURI),
		RepositoryURL:     httpURL(s.SourceRepositoryURI),
		Commit:            s.SourceCommit,
		ShortCommit:       shortSHA(s.SourceCommit),
		BuildFile:         s.WorkflowPath,
		LogIndex:          r.LogIndex,
		CommitStatus:      r.CommitStatus,
		TrustRoot:         trustRootWords(r.TrustRoot),
		VerifiedAt:        r.VerifiedAt,
		SAN:               r.SAN,
		Issuer:            r.Issuer,
	}
	if ref := firstNonEmpty(s.WorkflowRef, s.SourceRef); ref != "" && p.BuildFile != "" {
		p.BuildFile += "@" + ref
	}
	if p.RepositoryURL != "" && s.SourceCommit != "" {
		p.CommitURL = p.RepositoryURL + forgeSep(s.CI) + "/commit/" + s.SourceCommit
		if s.WorkflowPath != "" {
			p.BuildFileURL = p.RepositoryURL + forgeSep(s.CI) + "/blob/" + s.SourceCommit + "/" + strings.TrimPrefix(s.WorkflowPath, "/")
		}
	}
	switch r.TrustRoot {
	case trustRootPublicGood:
		p.LedgerURL = publicLedgerSearchURL + strconv.FormatInt(r.LogIndex, 10)
		p.LedgerLabel = "Sigstore public-good log entry #" + strconv.FormatInt(r.LogIndex, 10)
	default:
		p.LedgerURL = logEntryPath(strconv.FormatInt(r.LogIndex, 10))
		p.LedgerLabel = "Transparency log entry #" + strconv.FormatInt(r.LogIndex, 10)
	}
	for _, c := range r.Checks {
		label := checkLabels[c.Name]
		if label == "" {
			label = c.Name
		}
		p.Checks = append(p.Checks, panelCheck{Name: c.Name, Label: label, Status: c.Status, Detail: c.Detail})
	}
	if p.CommitStatus == "" {
		p.CommitStatus = verify.StatusOff
	}
	return p
}

// forgeSep is the path segment a forge puts between a project and its
// commit/blob pages: GitLab uses "/-", GitHub nothing.
func forgeSep(ci provenance.CI) string {
	if ci == provenance.GitLabCI {
		return "/-"
	}
	return ""
}

func runnerWords(env string) string {
	switch env {
	case "github-hosted":
		return "GitHub-hosted runner"
	case "gitlab-hosted":
		return "GitLab-hosted runner"
	case "self-hosted":
		return "Self-hosted runner"
	case "":
		return ""
	}
	return env + " runner"
}

func trustRootWords(name string) string {
	switch name {
	case trustRootPublicGood:
		return "the public-good Sigstore trust root"
	case trustRootPrivate:
		return "this registry's own trust root"
	case "":
		return "an unnamed trust root"
	}
	return fmt.Sprintf("the %q trust root", name)
}

// httpURL returns s when it is an http(s) URL and "" otherwise, so that a
// statement can never smuggle a javascript: link into a page.
func httpURL(s string) string {
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
