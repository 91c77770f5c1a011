// Package npmwire holds the npm registry wire types that Provenant's
// publisher and registry share: the publish body, packuments (full and
// abbreviated), dist, registry keys, attestations, users, tokens, search
// and the error body. It is pure: no HTTP, no storage.
//
// # Publish body
//
// npm publishes with PUT /{escapedName} and a JSON body (see
// https://github.com/npm/cli/blob/latest/workspaces/libnpmpublish/lib/publish.js):
//
//	{"_id": name, "name": name, "description": …,
//	 "dist-tags": {tag: version},
//	 "versions": {version: {…package.json…, "_id": "name@version", "dist": {…}}},
//	 "access": "public" | "restricted" | null,
//	 "_attachments": {
//	   "name-version.tgz":      {"content_type": "application/octet-stream", "data": base64, "length": n},
//	   "name-version.sigstore": {"content_type": bundle mediaType, "data": raw bundle JSON, "length": n}}}
//
// Attachment keys use the unescaped name, so a scoped package's keys
// contain a slash ("@scope/pkg-1.0.0.tgz"). They are looked up by exact
// key, never by map order.
package npmwire

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every error that reports a body that does not
// have npm's shape.
var ErrMalformed = errors.New("malformed npm request")

// A PublishBody is the JSON body of npm's publish PUT.
type PublishBody struct {
	// ID is "_id", the package name.
	ID string `json:"_id"`
	// Name is the package name.
	Name string `json:"name"`
	// Description is the package description, if any.
	Description string `json:"description,omitempty"`
	// DistTags maps the one tag being set to the published version.
	DistTags map[string]string `json:"dist-tags"`
	// Versions holds exactly one version manifest, keyed by its version.
	// Each value is the package.json with "_id" and "dist" added; it stays
	// raw so that no field the client sent is lost.
	Versions map[string]json.RawMessage `json:"versions"`
	// Access is "public", "restricted" or null.
	Access *string `json:"access"`
	// Attachments holds the tarball and, with provenance, the bundle.
	Attachments map[string]Attachment `json:"_attachments"`
	// Readme is the package README, which some clients send at top level.
	Readme string `json:"readme,omitempty"`
}

// An Attachment is one entry of "_attachments".
type Attachment struct {
	// ContentType is "application/octet-stream" for the tarball and the
	// bundle's media type for a .sigstore attachment.
	ContentType string `json:"content_type"`
	// Data is the base64 tarball, or the bundle as a raw JSON string.
	Data string `json:"data"`
	// Length is the decoded length in bytes (for a bundle, the JavaScript
	// string length of Data).
	Length int64 `json:"length"`
}

// TarballAttachmentName is the attachment key npm uses for a version's tarball.
func TarballAttachmentName(name, version string) string {
	return name + "-" + version + ".tgz"
}

// BundleAttachmentName is the attachment key npm uses for a version's
// Sigstore bundle.
func BundleAttachmentName(name, version string) string {
	return name + "-" + version + ".sigstore"
}

// ParsePublishBody decodes a publish body and checks its npm shape: a
// name, exactly one version, and each attachment key unique. It does not
// decode attachments; see [PublishBody.Tarball] and [PublishBody.Bundle].
func ParsePublishBody(data []byte) (*PublishBody, error) {
	var b PublishBody
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: publish body: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: publish body: trailing data after the JSON object", ErrMalformed)
	}
	if b.Name == "" {
		return nil, fmt.Errorf("%w: publish body: missing name", ErrMalformed)
	}
	if b.ID != "" && b.ID != b.Name {
		return nil, fmt.Errorf("%w: publish body: _id %q differs from name %q", ErrMalformed, b.ID, b.Name)
	}
	if len(b.Versions) != 1 {
		return nil, fmt.Errorf("%w: publish body: expected exactly one version, got %d", ErrMalformed, len(b.Versions))
	}
	return &b, nil
}

// Version returns the one version key and its raw manifest.
func (b *PublishBody) Version() (string, json.RawMessage) {
	for v, m := range b.Versions { // exactly one, checked by ParsePublishBody
		return v, m
	}
	return "", nil
}

// Tarball returns the decoded bytes of the tarball attachment for version,
// picked by its exact name. It is an error if any other .tgz attachment is
// present, if the base64 does not decode, or if length disagrees.
// maxBytes bounds the decoded size.
func (b *PublishBody) Tarball(version string, maxBytes int64) ([]byte, error) {
	want := TarballAttachmentName(b.Name, version)
	if err := b.onlyOne(".tgz", want); err != nil {
		return nil, err
	}
	a, ok := b.Attachments[want]
	if !ok {
		return nil, fmt.Errorf("%w: missing tarball attachment %q", ErrMalformed, want)
	}
	if int64(base64.StdEncoding.DecodedLen(len(a.Data))) > maxBytes+2 {
		return nil, fmt.Errorf("%w: tarball attachment exceeds %d bytes", ErrTooLarge, maxBytes)
	}
	data, err := base64.StdEncoding.DecodeString(a.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: tarball attachment %q: bad base64: %v", ErrMalformed, want, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: tarball attachment exceeds %d bytes", ErrTooLarge, maxBytes)
	}
	if a.Length != int64(len(data)) {
		return nil, fmt.Errorf("%w: tarball attachment %q: length is %d, decoded %d bytes", ErrMalformed, want, a.Length, len(data))
	}
	return data, nil
}

// Bundle returns the Sigstore bundle attachment for version, or nil when
// none is attached. The data may be the raw JSON string npm sends or, for
// tolerance, base64 of it. Any other .sigstore attachment is an error.
func (b *PublishBody) Bundle(version string, maxBytes int64) ([]byte, error) {
	want := BundleAttachmentName(b.Name, version)
	if err := b.onlyOne(".sigstore", want); err != nil {
		return nil, err
	}
	a, ok := b.Attachments[want]
	if !ok {
		return nil, nil
	}
	if int64(len(a.Data)) > maxBytes*4/3+4 {
		return nil, fmt.Errorf("%w: bundle attachment exceeds %d bytes", ErrTooLarge, maxBytes)
	}
	data := []byte(a.Data)
	if t := strings.TrimSpace(a.Data); !strings.HasPrefix(t, "{") {
		dec, err := base64.StdEncoding.DecodeString(t)
		if err != nil {
			return nil, fmt.Errorf("%w: bundle attachment %q is neither JSON nor base64", ErrMalformed, want)
		}
		data = dec
	} else if a.Length != int64(len(data)) && a.Length != jsStringLength(a.Data) {
		return nil, fmt.Errorf("%w: bundle attachment %q: length is %d, data has %d bytes (%d UTF-16 code units)", ErrMalformed, want, a.Length, len(data), jsStringLength(a.Data))
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("%w: bundle attachment exceeds %d bytes", ErrTooLarge, maxBytes)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: bundle attachment %q is not valid JSON", ErrMalformed, want)
	}
	return data, nil
}

// ErrTooLarge is wrapped by errors reporting data over a size limit.
var ErrTooLarge = errors.New("content exceeds limit")

// onlyOne checks that no attachment with suffix other than want exists.
func (b *PublishBody) onlyOne(suffix, want string) error {
	for k := range b.Attachments {
		if strings.HasSuffix(k, suffix) && k != want {
			return fmt.Errorf("%w: unexpected attachment %q (expected only %q)", ErrMalformed, k, want)
		}
	}
	return nil
}

// A VersionManifest is the part of a version's manifest (package.json plus
// registry fields) that Provenant reads. The manifest itself travels raw.
type VersionManifest struct {
	// ID is "name@version".
	ID string `json:"_id,omitempty"`
	// Name and Version identify the version.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Deprecated is the deprecation message, if any.
	Deprecated string `json:"deprecated,omitempty"`
	// Dist describes the tarball.
	Dist Dist `json:"dist"`
	// Repository is package.json "repository": a string or an object.
	Repository json.RawMessage `json:"repository,omitempty"`
	// Description and Keywords feed search.
	Description string   `json:"description,omitempty"`
	Keywords    Keywords `json:"keywords,omitempty"`
}

// Keywords is package.json "keywords", which some packages give as one
// comma- or space-separated string instead of an array.
type Keywords []string

// UnmarshalJSON accepts an array of strings or a single string.
func (k *Keywords) UnmarshalJSON(data []byte) error {
	var list []string
	if err := json.Unmarshal(data, &list); err == nil {
		*k = list
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		*k = nil
		return nil // keywords are informative; never fail a publish on them
	}
	*k = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	return nil
}

// Dist is a version's "dist" object.
type Dist struct {
	// Integrity is the SRI string "sha512-<base64>".
	Integrity string `json:"integrity,omitempty"`
	// Shasum is the lowercase hex sha1 of the tarball.
	Shasum string `json:"shasum,omitempty"`
	// Tarball is the tarball URL.
	Tarball string `json:"tarball,omitempty"`
	// FileCount and UnpackedSize describe the tarball contents.
	FileCount    int   `json:"fileCount,omitempty"`
	UnpackedSize int64 `json:"unpackedSize,omitempty"`
	// Signatures are the registry's signatures over
	// "name@version:integrity".
	Signatures []Signature `json:"signatures,omitempty"`
	// Attestations locates the version's attestations.
	Attestations *DistAttestations `json:"attestations,omitempty"`
}

// A Signature is one registry signature in dist.signatures.
type Signature struct {
	// KeyID matches a key served at /-/npm/v1/keys.
	KeyID string `json:"keyid"`
	// Sig is the base64 DER ECDSA signature.
	Sig string `json:"sig"`
}

// DistAttestations is dist.attestations.
type DistAttestations struct {
	// URL is the attestations endpoint for this version.
	URL string `json:"url"`
	// Provenance names the provenance predicate type.
	Provenance *PredicateRef `json:"provenance,omitempty"`
}

// A PredicateRef names a predicate type.
type PredicateRef struct {
	PredicateType string `json:"predicateType"`
}

// jsStringLength returns the JavaScript length of s: its number of UTF-16
// code units. npm sets a bundle attachment's length to
// JSON.stringify(bundle).length, which differs from the byte length as soon
// as the bundle holds a non-ASCII character, as every Rekor v1 checkpoint
// does (its signature lines start with an em dash).
func jsStringLength(s string) int64 {
	var n int64
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}
