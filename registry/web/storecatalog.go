package web

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/verify"
)

// StoreCatalog adapts a registry store to the Catalog the pages read.
type StoreCatalog struct {
	// Store is the registry's store.
	Store store.Store
}

var _ Catalog = StoreCatalog{}

// typeRegLegacy is the pre-POSIX "regular file" type flag '\x00' that old
// npm tarballs still carry. archive/tar deprecates its name (TypeRegA) and
// its reader already reports such entries as TypeReg, but comparing to the
// byte value keeps accepting them should that normalisation ever change.
const typeRegLegacy byte = '\x00'

// Recent lists the most recently modified packages.
func (sc StoreCatalog) Recent(ctx context.Context, n int) ([]Listing, error) {
	sums, err := sc.Store.Recent(ctx, n)
	if err != nil {
		return nil, err
	}
	return sc.listings(ctx, sums), nil
}

// Search lists the packages matching text.
func (sc StoreCatalog) Search(ctx context.Context, text string, n int) ([]Listing, error) {
	sums, _, err := sc.Store.Search(ctx, text, 0, n)
	if err != nil {
		return nil, err
	}
	return sc.listings(ctx, sums), nil
}

// listings completes store summaries with the latest version's publish
// time and provenance, which summaries do not carry.
func (sc StoreCatalog) listings(ctx context.Context, sums []store.Summary) []Listing {
	out := make([]Listing, 0, len(sums))
	for _, s := range sums {
		l := Listing{Name: s.Name, Version: s.Latest, Description: s.Description, Published: s.Modified}
		if pkg, err := sc.Store.Package(ctx, s.Name); err == nil {
			for _, v := range pkg.Versions {
				if v.Version == s.Latest {
					l.Published = v.Published
					r := decodeResult(ctx, v)
					l.Provenance = r != nil && r.Provenance
				}
			}
		}
		out = append(out, l)
	}
	return out
}

// Package loads a package and decodes each version's provenance record.
func (sc StoreCatalog) Package(ctx context.Context, name string) (*Package, error) {
	sp, err := sc.Store.Package(ctx, name)
	if err != nil {
		return nil, err
	}
	p := &Package{Name: sp.Name, DistTags: sp.DistTags}
	for _, v := range sp.Versions {
		p.Versions = append(p.Versions, Version{Version: v.Version, Published: v.Published, Manifest: v.Manifest, Provenance: decodeResult(ctx, v)})
	}
	return p, nil
}

// decodeResult decodes the recorded verify.Result; a record that does not
// decode is logged and treated as no provenance, never as verified.
func decodeResult(ctx context.Context, v store.Version) *verify.Result {
	if len(v.Provenance) == 0 || string(v.Provenance) == "null" {
		return nil
	}
	var r verify.Result
	if err := json.Unmarshal(v.Provenance, &r); err != nil {
		slog.ErrorContext(ctx, "stored provenance record does not decode", slog.String("package", v.Name), slog.String("version", v.Version), slog.Any("error", err))
		return nil
	}
	return &r
}

// Readme returns the version's README: the manifest's "readme" field when
// the publisher sent one, otherwise the README file in the tarball.
func (sc StoreCatalog) Readme(ctx context.Context, name, version string) (string, error) {
	sp, err := sc.Store.Package(ctx, name)
	if err != nil {
		return "", err
	}
	for _, v := range sp.Versions {
		if v.Version != version {
			continue
		}
		if m := parseManifest(v.Manifest); m.Readme != "" && !strings.EqualFold(m.Readme, "ERROR: No README data found!") {
			return m.Readme, nil
		}
		rc, _, err := sc.Store.OpenBlob(ctx, v.TarballKey)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		return readmeFromTarball(rc)
	}
	return "", fmt.Errorf("version %s of %s: %w", version, name, store.ErrNotFound)
}

// readmeFromTarball finds the package's top-level README (README.md,
// readme.markdown, README, …) in a gzipped npm tarball (untrusted) and
// returns up to maxReadmeBytes+1 of it, so the renderer can tell it was cut.
func readmeFromTarball(r io.Reader) (string, error) {
	zr, err := gzip.NewReader(io.LimitReader(r, limits.MaxTarballBytes))
	if err != nil {
		return "", fmt.Errorf("tarball is not gzip: %w", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, limits.MaxUnpackedBytes))
	for n := 0; n < limits.MaxTarEntries; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("reading tarball: %w", err)
		}
		dir, file := path.Split(h.Name)
		if strings.Count(dir, "/") != 1 || (h.Typeflag != tar.TypeReg && h.Typeflag != typeRegLegacy) {
			continue
		}
		base := strings.ToLower(file)
		if base == "readme" || strings.HasPrefix(base, "readme.") {
			b, err := io.ReadAll(io.LimitReader(tr, maxReadmeBytes+1))
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", h.Name, err)
			}
			return string(b), nil
		}
	}
	return "", nil
}
