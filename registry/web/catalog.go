package web

import (
	"context"
	"encoding/json"
	"time"

	"github.com/provenant/provenant/registry/verify"
)

// A Catalog is the read access the pages need from the registry's store.
// Implementations must be safe for concurrent use. A package that does not
// exist is reported by an error that satisfies errors.Is(err, os.ErrNotExist)
// or wraps the store's own not-found sentinel, as told by Config.IsNotFound.
type Catalog interface {
	// Recent returns up to n packages, most recently published first.
	Recent(ctx context.Context, n int) ([]Listing, error)
	// Search returns up to n packages matching text, best match first.
	Search(ctx context.Context, text string, n int) ([]Listing, error)
	// Package returns one package with every version.
	Package(ctx context.Context, name string) (*Package, error)
	// Readme returns the README Markdown of one version, or "" when it has
	// none.
	Readme(ctx context.Context, name, version string) (string, error)
}

// A Listing is one package in a list of packages (home page, search).
type Listing struct {
	// Name is the package name, scoped or not.
	Name string
	// Version is the latest version.
	Version string
	// Description is the latest version's description.
	Description string
	// Published is when the latest version was published.
	Published time.Time
	// Provenance reports whether the latest version carries verified provenance.
	Provenance bool
}

// A Package is one package and all its versions, as the pages show it.
type Package struct {
	// Name is the package name.
	Name string
	// DistTags maps a dist-tag (e.g. "latest") to a version.
	DistTags map[string]string
	// Versions holds every version, in any order.
	Versions []Version
}

// A Version is one published version.
type Version struct {
	// Version is the semantic version.
	Version string
	// Published is when the version was published.
	Published time.Time
	// Manifest is the version's manifest (package.json as published).
	Manifest json.RawMessage
	// Provenance is what the registry recorded when it verified the
	// version's provenance; nil for a version published without provenance.
	Provenance *verify.Result
}
