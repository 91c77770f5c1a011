package npmwire

import (
	"encoding/json"
	"strings"
)

// Media types a client names in its Accept header.
const (
	// MediaTypeAbbreviated asks for the abbreviated ("corgi") packument.
	MediaTypeAbbreviated = "application/vnd.npm.install-v1+json"
	// MediaTypeJSON asks for the full packument.
	MediaTypeJSON = "application/json"
)

// Predicate types used in attestations.
const (
	// PredicatePublishV01 is npm's publish attestation predicate.
	PredicatePublishV01 = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1"
	// PredicateSLSAv1 and PredicateSLSAv02 are the provenance predicates.
	PredicateSLSAv1  = "https://slsa.dev/provenance/v1"
	PredicateSLSAv02 = "https://slsa.dev/provenance/v0.2"
)

// KeyTypeECDSAP256 is the only registry key type npm supports, used for
// both keytype and scheme.
const KeyTypeECDSAP256 = "ecdsa-sha2-nistp256"

// EscapeName returns the name as npm writes it in a URL path: the "/" of
// a scoped name becomes "%2f", the "@" stays.
func EscapeName(name string) string { return strings.Replace(name, "/", "%2f", 1) }

// PURL returns the package URL npm puts in a provenance subject:
// pkg:npm/<name with a leading @ as %40>@<version>.
func PURL(name, version string) string {
	if strings.HasPrefix(name, "@") {
		name = "%40" + name[1:]
	}
	return "pkg:npm/" + name + "@" + version
}

// A Packument is the full package document served at GET /{name}. The
// registry serializes packuments itself, to keep versions in semver order;
// this type is for clients and tests that read one.
type Packument struct {
	ID          string                     `json:"_id"`
	Rev         string                     `json:"_rev,omitempty"`
	Name        string                     `json:"name"`
	Description string                     `json:"description,omitempty"`
	DistTags    map[string]string          `json:"dist-tags"`
	Versions    map[string]json.RawMessage `json:"versions"`
	Time        map[string]string          `json:"time"`
	Maintainers []Person                   `json:"maintainers,omitempty"`
	Readme      string                     `json:"readme,omitempty"`
}

// An AbbreviatedPackument is the install-time packument served for
// Accept: application/vnd.npm.install-v1+json.
type AbbreviatedPackument struct {
	Name     string                     `json:"name"`
	Modified string                     `json:"modified"`
	DistTags map[string]string          `json:"dist-tags"`
	Versions map[string]json.RawMessage `json:"versions"`
}

// AbbreviatedFields are the version manifest fields kept in an abbreviated
// packument, in npm's order
// (https://github.com/npm/registry/blob/main/docs/responses/package-metadata.md).
var AbbreviatedFields = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies",
	"devDependencies", "bundleDependencies", "peerDependencies",
	"peerDependenciesMeta", "bin", "directories", "dist", "engines",
	"_hasShrinkwrap", "hasInstallScript", "cpu", "os", "libc", "funding", "license",
}

// A Person is a maintainer or publisher.
type Person struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// KeysResponse is the body of GET /-/npm/v1/keys.
type KeysResponse struct {
	Keys []Key `json:"keys"`
}

// A Key is one registry signing key.
type Key struct {
	// Expires is null or an ISO 8601 time.
	Expires *string `json:"expires"`
	// KeyID is compared by string equality with signature key ids.
	KeyID string `json:"keyid"`
	// KeyType and Scheme are KeyTypeECDSAP256.
	KeyType string `json:"keytype"`
	Scheme  string `json:"scheme"`
	// Key is base64 DER SubjectPublicKeyInfo.
	Key string `json:"key"`
}

// AttestationsResponse is the body of
// GET /-/npm/v1/attestations/{name}@{version}.
type AttestationsResponse struct {
	Attestations []Attestation `json:"attestations"`
}

// An Attestation is one predicate type with its Sigstore bundle.
type Attestation struct {
	PredicateType string          `json:"predicateType"`
	Bundle        json.RawMessage `json:"bundle"`
}

// ErrorBody is npm's error body, {"error": "..."}.
type ErrorBody struct {
	Error string `json:"error"`
}

// AddUserRequest is the body of PUT /-/user/org.couchdb.user:{name}
// (npm adduser, npm login --auth-type=legacy).
type AddUserRequest struct {
	ID       string   `json:"_id"`
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Email    string   `json:"email,omitempty"`
	Type     string   `json:"type,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Date     string   `json:"date,omitempty"`
}

// AddUserResponse answers a successful adduser or login.
type AddUserResponse struct {
	OK    bool   `json:"ok"`
	ID    string `json:"id"`
	Rev   string `json:"rev,omitempty"`
	Token string `json:"token"`
}

// WhoamiResponse is the body of GET /-/whoami.
type WhoamiResponse struct {
	Username string `json:"username"`
}

// TokenList is the body of GET /-/npm/v1/tokens (npm token list).
type TokenList struct {
	Objects []TokenInfo `json:"objects"`
	Total   int         `json:"total"`
	URLs    struct {
		Next string `json:"next,omitempty"`
	} `json:"urls"`
}

// TokenInfo describes one token without revealing it.
type TokenInfo struct {
	// Token is a short, non-secret prefix of the token.
	Token string `json:"token"`
	// Key identifies the token for revocation (npm token revoke).
	Key           string   `json:"key"`
	ReadOnly      bool     `json:"readonly"`
	CIDRWhitelist []string `json:"cidr_whitelist"`
	Created       string   `json:"created"`
	Updated       string   `json:"updated"`
}

// SearchResponse is the body of GET /-/v1/search.
type SearchResponse struct {
	Objects []SearchObject `json:"objects"`
	Total   int            `json:"total"`
	Time    string         `json:"time"`
}

// A SearchObject is one search hit.
type SearchObject struct {
	Package     SearchPackage `json:"package"`
	Score       SearchScore   `json:"score"`
	SearchScore float64       `json:"searchScore"`
}

// SearchPackage is the package part of a search hit.
type SearchPackage struct {
	Name        string            `json:"name"`
	Scope       string            `json:"scope"`
	Version     string            `json:"version"`
	Description string            `json:"description,omitempty"`
	Keywords    []string          `json:"keywords,omitempty"`
	Date        string            `json:"date"`
	Links       map[string]string `json:"links"`
	Publisher   *Person           `json:"publisher,omitempty"`
	Maintainers []Person          `json:"maintainers,omitempty"`
}

// SearchScore is npm's score object.
type SearchScore struct {
	Final  float64            `json:"final"`
	Detail map[string]float64 `json:"detail"`
}

// VisibilityResponse is the body of GET /-/package/{name}/visibility.
type VisibilityResponse struct {
	Public bool `json:"public"`
}
