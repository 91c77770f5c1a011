package publisher

import (
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/provenant/provenant/publisher/pack"
)

// Defaults for [Options] fields left zero.
const (
	// DefaultTag is the dist-tag a publish sets unless told otherwise.
	DefaultTag = "latest"
	// DefaultTimeout bounds each HTTP call (one attempt).
	DefaultTimeout = 60 * time.Second
	// DefaultRetries is how often a failed call that is safe to repeat is retried.
	DefaultRetries = 3
	// DefaultBackoff is the first retry delay; it doubles on each retry.
	DefaultBackoff = 500 * time.Millisecond
)

// Options configure one [Publish] call. Only Path is required.
type Options struct {
	// Path is a package folder (packed like `npm pack`) or a .tgz file
	// (published byte for byte).
	Path string
	// Registry is the registry URL. Empty: npm_config_registry, then
	// publishConfig.registry, then .npmrc, then npm's default.
	Registry string
	// Token is the registry bearer token. Empty: .npmrc
	// "//host/:_authToken", then NODE_AUTH_TOKEN, then NPM_TOKEN.
	Token string
	// Tag is the dist-tag to set; empty means "latest" (prereleases must
	// name one, as with npm).
	Tag string
	// Access is "", "public" or "restricted". With provenance and no
	// access given, "public" is sent: npm only accepts provenance for
	// public packages.
	Access string
	// DryRun packs, runs the pre-flight reads and builds the statement,
	// but asks for no certificate, writes no log entry and sends no PUT.
	DryRun bool
	// Provenance signs a provenance statement for the detected CI and
	// attaches it.
	Provenance bool
	// ProvenanceFile attaches an existing bundle instead, after checking
	// its subject against the package. Excludes Provenance.
	ProvenanceFile string
	// IdentityToken is an OIDC token to sign with instead of the CI's.
	IdentityToken string
	// FulcioURL and RekorURL name the certificate authority and the log.
	// Empty: PROVENANT_FULCIO_URL / PROVENANT_REKOR_URL, then the signing
	// config, then public-good Sigstore.
	FulcioURL, RekorURL string
	// SigningConfig is a Sigstore signing config JSON; SigningConfigURL a
	// path or URL to one (default PROVENANT_SIGNING_CONFIG).
	SigningConfig    []byte
	SigningConfigURL string
	// TrustedRoot is a trusted_root.json to verify the signed bundle with
	// before publishing; TrustedRootURL a path or URL to one (default
	// PROVENANT_TRUSTED_ROOT). With neither, no self-check is made.
	TrustedRoot    []byte
	TrustedRootURL string
	// Getenv looks up environment variables; nil means os.LookupEnv. The
	// CI environment, tokens and .npmrc expansion all read through it.
	Getenv func(string) (string, bool)
	// HTTPClient makes every call; nil means a client with no timeout of
	// its own (Timeout bounds each call).
	HTTPClient *http.Client
	// Timeout bounds each HTTP call; zero means DefaultTimeout.
	Timeout time.Duration
	// Retries is how often to retry a call that is safe to repeat;
	// negative means none, zero means DefaultRetries.
	Retries int
	// Backoff is the first retry delay; zero means DefaultBackoff.
	Backoff time.Duration
	// Progress, if set, is called as each step finishes.
	Progress func(Step)
	// UserAgent is sent to the registry; empty means "provenant".
	UserAgent string
}

func (o *Options) withDefaults() Options {
	c := *o
	if c.Getenv == nil {
		c.Getenv = os.LookupEnv
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Retries < 0:
		c.Retries = 0
	case c.Retries == 0:
		c.Retries = DefaultRetries
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.UserAgent == "" {
		c.UserAgent = "provenant"
	}
	return c
}

// Names of the steps a publish goes through, in order.
const (
	StepOptions     = "options"
	StepPack        = "pack"
	StepManifest    = "package.json"
	StepAuth        = "auth"
	StepCI          = "ci"
	StepStatement   = "statement"
	StepRegistry    = "registry"
	StepWhoami      = "whoami"
	StepBundleFile  = "provenance-file"
	StepToken       = "identity-token"
	StepCertificate = "certificate"
	StepLog         = "transparency-log"
	StepSelfCheck   = "self-check"
	StepPublish     = "publish"
)

// A Step is one finished step of a publish.
type Step struct {
	// Name is one of the Step* constants.
	Name string `json:"name"`
	// OK is false for the step that failed; skipped steps are not reported.
	OK bool `json:"ok"`
	// Detail is the one-line human description.
	Detail string `json:"detail"`
	// Millis is how long the step took.
	Millis int64 `json:"ms"`
}

// Result says what a [Publish] call did. On failure it holds what was
// done before the failing step.
type Result struct {
	// Package describes the tarball that was (or would be) published.
	Package *PackageInfo `json:"package,omitempty"`
	// Registry is the registry URL; User the name /-/whoami returned.
	Registry string `json:"registry,omitempty"`
	User     string `json:"user,omitempty"`
	// Tag and Access are what the publish request carried.
	Tag    string `json:"tag,omitempty"`
	Access string `json:"access,omitempty"`
	// DryRun is true when nothing was signed, logged or sent.
	DryRun bool `json:"dryRun"`
	// CI is the detected CI system, with provenance.
	CI string `json:"ci,omitempty"`
	// Statement is the in-toto statement signed (or, in a dry run, that
	// would be signed).
	Statement json.RawMessage `json:"statement,omitempty"`
	// Provenance describes the attached bundle.
	Provenance *ProvenanceInfo `json:"provenance,omitempty"`
	// Published describes the published version.
	Published *PublishedInfo `json:"published,omitempty"`
	// Steps lists the finished steps in order.
	Steps []Step `json:"steps"`
	// Error is the failure message, set by callers that serialize a failed result.
	Error string `json:"error,omitempty"`
	// bundle is the attached bundle JSON.
	bundle []byte
}

// Bundle returns the Sigstore bundle JSON that was attached, if any.
func (r *Result) Bundle() []byte { return r.bundle }

// PackageInfo describes the tarball.
type PackageInfo struct {
	Name         string      `json:"name"`
	Version      string      `json:"version"`
	Filename     string      `json:"filename"`
	Size         int64       `json:"size"`
	UnpackedSize int64       `json:"unpackedSize"`
	FileCount    int         `json:"fileCount"`
	Integrity    string      `json:"integrity"`
	Shasum       string      `json:"shasum"`
	Files        []pack.File `json:"files"`
	// FromTarball is set when an existing tarball was published as is.
	FromTarball bool `json:"fromTarball,omitempty"`
}

// ProvenanceInfo describes the signing certificate and the log entry.
type ProvenanceInfo struct {
	// Source is "signed" or "file".
	Source              string `json:"source"`
	BundleMediaType     string `json:"bundleMediaType"`
	TokenSource         string `json:"tokenSource,omitempty"`
	FulcioURL           string `json:"fulcioUrl,omitempty"`
	RekorURL            string `json:"rekorUrl,omitempty"`
	ServicesSource      string `json:"servicesSource,omitempty"`
	CertificateSAN      string `json:"certificateSan,omitempty"`
	CertificateIssuer   string `json:"certificateIssuer,omitempty"`
	CertificateNotAfter string `json:"certificateNotAfter,omitempty"`
	LogIndex            int64  `json:"logIndex"`
	LogID               string `json:"logId,omitempty"`
	EntryUUID           string `json:"entryUuid,omitempty"`
	EntryKind           string `json:"entryKind,omitempty"`
	EntryURL            string `json:"entryUrl,omitempty"`
	IntegratedTime      int64  `json:"integratedTime,omitempty"`
	SelfVerified        bool   `json:"selfVerified"`
}

// PublishedInfo locates the published version.
type PublishedInfo struct {
	// PackageURL is the packument URL (GET <registry>/<escaped name>).
	PackageURL string `json:"packageUrl"`
	// TarballURL is where the tarball was advertised.
	TarballURL string `json:"tarballUrl"`
	// PageURL is the package's web page, when the registry has one.
	PageURL string `json:"pageUrl,omitempty"`
	// Status is the HTTP status of the PUT.
	Status int `json:"status"`
	// Notice is the registry's npm-notice header, if any.
	Notice string `json:"notice,omitempty"`
}
