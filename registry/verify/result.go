package verify

import (
	"encoding/json"
	"time"

	"github.com/provenant/provenant/provenance"
)

// Input is one version offered for publication, after the request shape
// checks: the tarball's bytes have been decoded and their digests recomputed.
type Input struct {
	// Name and Version are the package name and version being published.
	Name, Version string
	// Tarball is the exact tarball bytes.
	Tarball []byte
	// PackageJSON is package/package.json as read from the tarball.
	PackageJSON json.RawMessage
	// Bundle is the raw Sigstore bundle JSON, or nil when none was attached.
	Bundle []byte
}

// Check statuses recorded in a Result.
const (
	StatusVerified   = "verified"
	StatusUnverified = "unverified" // checked and failed, accepted under a "warn" policy
	StatusOff        = "off"        // not checked, by policy
	StatusFailed     = "failed"     // the check that rejected the version, in the Result returned with the error
)

// A CheckRecord is the outcome of one named check.
type CheckRecord struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Result is what the registry records about an accepted version's
// provenance; the package pages and badges render it.
type Result struct {
	// Provenance reports whether the version carries a verified bundle.
	Provenance bool `json:"provenance"`
	// Summary is the statement summary; nil without provenance.
	Summary *provenance.Summary `json:"summary,omitempty"`
	// TrustRoot names the trusted root that verified the bundle:
	// "public-good" or "private".
	TrustRoot string `json:"trustRoot,omitempty"`
	// BundleMediaType is the bundle's media type.
	BundleMediaType string `json:"bundleMediaType,omitempty"`
	// Issuer is the OIDC issuer recorded in the signing certificate.
	Issuer string `json:"issuer,omitempty"`
	// SAN is the signing certificate's subject alternative name.
	SAN string `json:"san,omitempty"`
	// LogIndex, LogID and IntegratedTime locate the transparency-log entry.
	LogIndex       int64     `json:"logIndex,omitempty"`
	LogID          string    `json:"logId,omitempty"`
	IntegratedTime time.Time `json:"integratedTime,omitzero"`
	// CommitStatus is StatusVerified, StatusUnverified or StatusOff.
	CommitStatus string `json:"commitStatus,omitempty"`
	// Checks lists every check in the order it ran.
	Checks []CheckRecord `json:"checks"`
	// VerifiedAt is when the registry ran the checks.
	VerifiedAt time.Time `json:"verifiedAt"`
}
