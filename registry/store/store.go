// Package store defines the registry's storage contract: one [Store]
// interface that every backend implements, and the sentinel errors it
// returns. Backends live in their own packages (store/sqlite,
// store/postgres); storetest holds the conformance suite they all run.
//
// # Contracts every backend keeps
//
//   - Not found is reported by an error that wraps [ErrNotFound] (which
//     wraps os.ErrNotExist).
//   - A publish is atomic: blobs are written first, content-addressed by
//     sha512, then one metadata transaction inserts the version, its tags
//     and ownership. A crash leaves no partial version and no version that
//     points at a missing blob; blobs left behind are removed by Sweep.
//   - Versions are immutable: a name and version, once published, always
//     carries the same bytes. An unpublished version is recorded and its
//     number can never be published again ([ErrConflict]).
//   - Every method is safe for concurrent use.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Root error kinds. Errors returned by a Store wrap one of them.
var (
	// ErrNotFound reports a missing package, version, tag, user, token or
	// blob. errors.Is(ErrNotFound, os.ErrNotExist) holds.
	ErrNotFound error = notFoundError{}
	// ErrConflict reports a write that collides with existing state: a
	// version that exists or was unpublished, a user that exists.
	ErrConflict = errors.New("conflict")
	// ErrPermission reports a write by someone who does not own the package.
	ErrPermission = fmt.Errorf("permission denied: %w", os.ErrPermission)
)

type notFoundError struct{}

func (notFoundError) Error() string        { return "not found" }
func (notFoundError) Is(target error) bool { return target == os.ErrNotExist }

// A Version is one published version of a package.
type Version struct {
	// Name and Version identify it.
	Name, Version string
	// Manifest is the version manifest as published (package.json plus
	// "_id" and "dist"), without registry-computed dist fields.
	Manifest json.RawMessage
	// TarballKey and BundleKey are the blob keys of the tarball and of the
	// Sigstore bundle; BundleKey is empty without provenance.
	TarballKey, BundleKey string
	// SHA512 and SHA1 are the tarball's lowercase hex digests.
	SHA512, SHA1 string
	// Size is the tarball size in bytes.
	Size int64
	// Provenance is the registry/verify Result as JSON, opaque to the store.
	Provenance json.RawMessage
	// PublishAttestation is the registry-signed publish attestation bundle
	// (JSON), or nil.
	PublishAttestation json.RawMessage
	// Publisher is the user who published it.
	Publisher string
	// Published is when it was accepted.
	Published time.Time
	// Deprecated is the deprecation message; empty when not deprecated.
	Deprecated string
}

// A Package is a package with all its versions.
type Package struct {
	// Name is the package name.
	Name string
	// Created and Modified bound its history.
	Created, Modified time.Time
	// Rev counts the package's writes; it changes on every write.
	Rev int64
	// DistTags maps tags to versions.
	DistTags map[string]string
	// Versions holds every live version, in publish order.
	Versions []Version
	// Unpublished records unpublished versions and when.
	Unpublished map[string]time.Time
	// Owners are the users who may write the package; the first publisher
	// is its first owner.
	Owners []string
	// OwnerEmails maps each owner to their account's email (packument
	// maintainers show it, as npm's registry does); it may be empty.
	OwnerEmails map[string]string
}

// A Summary describes a package in listings and search results.
type Summary struct {
	// Name is the package name.
	Name string
	// Latest is the version the latest tag points at, or empty.
	Latest string
	// Description and Keywords come from the latest version.
	Description string
	Keywords    []string
	// Modified is the package's last write.
	Modified time.Time
	// Publisher published the latest version.
	Publisher string
}

// A Publication is one version offered to [Store.Publish].
type Publication struct {
	// Version is the version to insert; its TarballKey and BundleKey are
	// set by the store.
	Version Version
	// Tarball and Bundle are the bytes to store; Bundle may be nil.
	Tarball, Bundle []byte
	// Tags are dist-tags to set in the same transaction.
	Tags map[string]string
	// Description and Keywords update the package's search fields.
	Description string
	Keywords    []string
}

// A User is a registry account.
type User struct {
	// Name is the login name.
	Name string
	// PasswordHash is an opaque password hash (the store never sees a password).
	PasswordHash string
	// Email is the contact address.
	Email string
	// Created is when the account was made.
	Created time.Time
}

// A Token is a bearer token, stored hashed.
type Token struct {
	// Key is a public identifier used to list and revoke it.
	Key string
	// Hash is the hex sha256 of the secret token.
	Hash string
	// Prefix is a short non-secret prefix shown by npm token list.
	Prefix string
	// User owns the token.
	User string
	// ReadOnly tokens may not write.
	ReadOnly bool
	// Created is when it was issued.
	Created time.Time
}

// Store is the registry's storage. See the package documentation for the
// contracts every implementation keeps.
type Store interface {
	// Publish stores a new version atomically, with its blobs, tags, the
	// package's search fields, and ownership: publishing a new package
	// makes publisher its owner; publishing to an existing package by a
	// user who is not an owner fails with ErrPermission. A version that
	// exists or was unpublished fails with ErrConflict.
	Publish(ctx context.Context, publisher string, p Publication) error
	// Package returns a package with all its versions.
	Package(ctx context.Context, name string) (*Package, error)
	// OpenBlob opens a blob by key, returning its size.
	OpenBlob(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// SetDistTag points tag at an existing version of the package.
	SetDistTag(ctx context.Context, name, tag, version string) error
	// DeleteDistTag removes a tag; ErrNotFound when it does not exist.
	DeleteDistTag(ctx context.Context, name, tag string) error
	// Deprecate sets (or, with an empty message, clears) the deprecation
	// message of each listed version.
	Deprecate(ctx context.Context, name string, messages map[string]string) error
	// Unpublish removes one version, records it as unpublished and drops
	// tags pointing at it. Its blobs become garbage for Sweep.
	Unpublish(ctx context.Context, name, version string) error
	// SetOwners replaces the package's owners, in order, on behalf of
	// actor, atomically: actor must be an owner (else ErrPermission),
	// owners must be non-empty (a package keeps at least one owner, else
	// ErrConflict) and every owner an existing user (else ErrNotFound).
	SetOwners(ctx context.Context, name, actor string, owners []string) error
	// UnpublishPackage removes every version of a package (each recorded as
	// unpublished) and its tags; owners remain.
	UnpublishPackage(ctx context.Context, name string) error
	// Recent lists up to limit packages, most recently modified first.
	Recent(ctx context.Context, limit int) ([]Summary, error)
	// Search finds packages whose name, description or keywords contain
	// every word of text (case-insensitive), best name matches first,
	// returning one page and the total number of matches.
	Search(ctx context.Context, text string, offset, limit int) ([]Summary, int, error)
	// CreateUser adds a user; ErrConflict when the name is taken.
	CreateUser(ctx context.Context, u User) error
	// User returns a user by name.
	User(ctx context.Context, name string) (*User, error)
	// CreateToken stores a token.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with this hash.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// Tokens lists a user's tokens, oldest first.
	Tokens(ctx context.Context, user string) ([]Token, error)
	// DeleteToken revokes a user's token by key or hash.
	DeleteToken(ctx context.Context, user, keyOrHash string) error
	// Sweep deletes blobs that no version references and that are older
	// than grace (which must exceed the longest publish), and the
	// temporary files of blob writes older than grace (writes killed
	// before they completed), returning how many files it deleted.
	Sweep(ctx context.Context, grace time.Duration) (int, error)
	// Close releases the store's resources.
	Close() error
}
