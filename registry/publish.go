package registry

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/verify"
)

// readBody reads a request body of at most max bytes.
func readBody(c echo.Context, max int64) ([]byte, error) {
	lr := &io.LimitedReader{R: c.Request().Body, N: max + 1}
	b, err := io.ReadAll(lr)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, max)
		}
		return nil, fmt.Errorf("%w: reading body: %v", ErrBadRequest, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// shapeError turns a request-shape failure into a 422 naming the check,
// except size limits, which stay 413.
func shapeError(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, npmwire.ErrTooLarge) || errors.Is(err, ErrUnprocessable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnprocessable, err)
}

// putPackage serves PUT /{name} and PUT /{name}/-rev/{rev}: a publish when
// the body carries attachments, otherwise a packument edit.
func (s *Server) putPackage(c echo.Context, name, rev string) error {
	user, err := requireUser(c, true)
	if err != nil {
		return err
	}
	body, err := readBody(c, limits.MaxPublishBodyBytes)
	if err != nil {
		return err
	}
	var probe struct {
		Attachments map[string]json.RawMessage `json:"_attachments"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return shapeError(fmt.Errorf("%w: body is not a JSON object: %v", npmwire.ErrMalformed, err))
	}
	if rev == "" && len(probe.Attachments) > 0 {
		return s.publish(c, name, user, body)
	}
	return s.editPackage(c, name, user, rev, body)
}

// A checkedPublish is a publish body that passed the request-shape checks.
type checkedPublish struct {
	version      string
	semver       *semver.Version
	manifest     map[string]json.RawMessage
	meta         npmwire.VersionManifest
	tarball      []byte
	bundle       []byte
	sha512, sha1 string
	integrity    string
	info         *tarballInfo
	tags         map[string]string
}

// checkShape runs check 1, "request shape": the body's schema, exactly one
// tarball and at most one bundle attachment picked by name, the digests
// recomputed from the bytes, the tarball's package.json against the
// manifest, and the tarball's size and entry paths.
func (s *Server) checkShape(name string, body []byte) (*checkedPublish, error) {
	if err := s.validate(body); err != nil {
		return nil, fmt.Errorf("publish body schema: %w", err)
	}
	b, err := npmwire.ParsePublishBody(body)
	if err != nil {
		return nil, err
	}
	if b.Name != name {
		return nil, fmt.Errorf("body name %q differs from the URL's %q", b.Name, name)
	}
	if b.Access != nil && *b.Access == "restricted" {
		return nil, errors.New(`access "restricted" is not supported: this registry serves every package publicly; publish with --access public`)
	}
	p := &checkedPublish{}
	var raw json.RawMessage
	p.version, raw = b.Version()
	if p.semver, err = parseVersion(p.version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &p.manifest); err != nil {
		return nil, fmt.Errorf("versions[%q] is not an object: %v", p.version, err)
	}
	if err := json.Unmarshal(raw, &p.meta); err != nil {
		return nil, fmt.Errorf("versions[%q]: %v", p.version, err)
	}
	if p.meta.Name != name || p.meta.Version != p.version {
		return nil, fmt.Errorf("versions[%q] names %s@%s", p.version, p.meta.Name, p.meta.Version)
	}
	if p.tarball, err = b.Tarball(p.version, limits.MaxTarballBytes); err != nil {
		return nil, err
	}
	if p.bundle, err = b.Bundle(p.version, limits.MaxBundleBytes); err != nil {
		return nil, err
	}
	s512, s1 := sha512.Sum512(p.tarball), sha1.Sum(p.tarball)
	p.sha512, p.sha1 = hex.EncodeToString(s512[:]), hex.EncodeToString(s1[:])
	p.integrity = "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	if p.meta.Dist.Integrity != p.integrity {
		return nil, fmt.Errorf("dist.integrity: expected %q (computed from the tarball), got %q", p.integrity, p.meta.Dist.Integrity)
	}
	if p.meta.Dist.Shasum != "" && p.meta.Dist.Shasum != p.sha1 {
		return nil, fmt.Errorf("dist.shasum: expected %q (computed from the tarball), got %q", p.sha1, p.meta.Dist.Shasum)
	}
	if p.info, err = inspectTarball(p.tarball); err != nil {
		return nil, err
	}
	var pj struct{ Name, Version string }
	if err := json.Unmarshal(p.info.PackageJSON, &pj); err != nil {
		return nil, fmt.Errorf("tarball package.json: %v", err)
	}
	if pj.Name != name || pj.Version != p.version {
		return nil, fmt.Errorf("tarball package.json: expected %s@%s, got %s@%s", name, p.version, pj.Name, pj.Version)
	}
	if len(b.DistTags) > 1 {
		return nil, fmt.Errorf("dist-tags: expected at most one tag, got %d", len(b.DistTags))
	}
	p.tags = map[string]string{}
	for tag, v := range b.DistTags {
		if err := validTag(tag); err != nil {
			return nil, err
		}
		if v != p.version {
			return nil, fmt.Errorf("dist-tags[%q]: expected %q, got %q", tag, p.version, v)
		}
		p.tags[tag] = v
	}
	return p, nil
}

// publish accepts one version: the request-shape checks, ownership and
// version rules, the provenance checks, and only then one store write.
func (s *Server) publish(c echo.Context, name, user string, body []byte) (err error) {
	start := time.Now()
	defer func() { s.metrics.observePublish(err, time.Since(start)) }()
	p, err := s.checkShape(name, body)
	if err != nil {
		return shapeError(err)
	}
	ctx := c.Request().Context()
	unlock := s.lock(name)
	defer unlock()
	pkg, err := s.store.Package(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		pkg = nil
	case err != nil:
		return err
	default:
		if !slices.Contains(pkg.Owners, user) {
			return fmt.Errorf("%w: user %q is not a maintainer of %q", ErrForbidden, user, name)
		}
		if err := versionFree(pkg, p.version); err != nil {
			return err
		}
	}
	if err := checkLatest(pkg, p); err != nil {
		return err
	}
	res, err := s.verifier.Verify(ctx, verify.Input{
		Name: name, Version: p.version, Tarball: p.tarball, PackageJSON: p.info.PackageJSON, Bundle: p.bundle,
	})
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New("verifier returned no result")
	}
	v, err := s.buildVersion(c, name, user, p, res)
	if err != nil {
		return err
	}
	pub := store.Publication{
		Version: *v, Tarball: p.tarball, Bundle: p.bundle, Tags: p.tags,
		Description: p.meta.Description, Keywords: p.meta.Keywords,
	}
	err = s.store.Publish(ctx, user, pub)
	s.cache.invalidate(name)
	if err != nil {
		return err
	}
	slog.InfoContext(ctx, "published", slog.String("package", name), slog.String("version", p.version),
		slog.String("user", user), slog.Bool("provenance", res.Provenance), slog.String("trustRoot", res.TrustRoot))
	return c.JSON(http.StatusCreated, map[string]any{"ok": true, "id": name})
}

// versionFree rejects a version that exists or was unpublished, in npm's words.
func versionFree(pkg *store.Package, version string) error {
	_, gone := pkg.Unpublished[version]
	for _, v := range pkg.Versions {
		gone = gone || v.Version == version
	}
	if gone {
		// npm's own wording, full stop included (npm-protocol.md §5.3).
		return fmt.Errorf("%w: You cannot publish over the previously published versions: %s.", ErrForbidden, version) //lint:ignore ST1005 npm's wording

	}
	return nil
}

// checkLatest refuses a publish that would move "latest" to a prerelease
// or to a lower version; such versions must be published with --tag.
func checkLatest(pkg *store.Package, p *checkedPublish) error {
	if _, ok := p.tags["latest"]; !ok || pkg == nil {
		return nil
	}
	cur, ok := pkg.DistTags["latest"]
	if !ok {
		return nil
	}
	cv, err := semver.NewVersion(cur)
	if err != nil {
		return nil
	}
	switch {
	case p.semver.Prerelease() != "":
		return fmt.Errorf("%w: refusing to move the latest tag from %s to the prerelease %s; publish it with --tag", ErrConflict, cur, p.version)
	case !p.semver.GreaterThan(cv):
		return fmt.Errorf("%w: refusing to move the latest tag from %s to the lower version %s; publish it with --tag", ErrConflict, cur, p.version)
	}
	return nil
}

// buildVersion builds the immutable stored version: the manifest as
// published with the registry's own dist (digests from the bytes, file
// count, registry signature), the verification result and the publish
// attestation.
func (s *Server) buildVersion(c echo.Context, name, user string, p *checkedPublish, res *verify.Result) (*store.Version, error) {
	sig, err := s.signer.distSignature(name, p.version, p.integrity)
	if err != nil {
		return nil, err
	}
	dist, _ := json.Marshal(npmwire.Dist{
		Integrity: p.integrity, Shasum: p.sha1, FileCount: p.info.FileCount, UnpackedSize: p.info.UnpackedSize,
		Signatures: []npmwire.Signature{sig},
	})
	m := p.manifest
	m["dist"] = dist
	m["_id"], _ = json.Marshal(name + "@" + p.version)
	delete(m, "deprecated")
	manifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	prov, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	att, err := s.signer.publishAttestation(name, p.version, p.sha512, s.baseURL(c))
	if err != nil {
		return nil, err
	}
	return &store.Version{
		Name: name, Version: p.version, Manifest: manifest, SHA512: p.sha512, SHA1: p.sha1,
		Size: int64(len(p.tarball)), Provenance: prov, PublishAttestation: att,
		Publisher: user, Published: time.Now().UTC(),
	}, nil
}

// editPackage applies a packument PUT without attachments: npm deprecate
// (versions[v].deprecated changed) and npm unpublish of one version
// (versions missing from the body).
func (s *Server) editPackage(c echo.Context, name, user, rev string, body []byte) error {
	var doc struct {
		Name        string                     `json:"name"`
		Versions    map[string]json.RawMessage `json:"versions"`
		DistTags    map[string]string          `json:"dist-tags"`
		Maintainers *[]npmwire.Person          `json:"maintainers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("%w: packument: %v", ErrBadRequest, err)
	}
	if doc.Name != "" && doc.Name != name {
		return fmt.Errorf("%w: body name %q differs from the URL's %q", ErrBadRequest, doc.Name, name)
	}
	if doc.Versions == nil && doc.Maintainers == nil {
		return fmt.Errorf("%w: packument edit without versions or maintainers", ErrBadRequest)
	}
	ctx := c.Request().Context()
	unlock := s.lock(name)
	defer unlock()
	defer s.cache.invalidate(name)
	pkg, err := s.ownedPackage(c, name, user, rev)
	if err != nil {
		return err
	}
	// Everything is checked before anything is written.
	var owners []string
	if doc.Maintainers != nil {
		if owners, err = s.checkOwners(c, pkg, *doc.Maintainers); err != nil {
			return err
		}
	}
	if doc.Versions == nil {
		return s.setOwners(c, name, user, owners)
	}
	deprecations := map[string]string{}
	var removed []string
	for _, v := range pkg.Versions {
		raw, ok := doc.Versions[v.Version]
		if !ok {
			removed = append(removed, v.Version)
			continue
		}
		var m struct {
			Deprecated *string `json:"deprecated"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%w: versions[%q]: %v", ErrBadRequest, v.Version, err)
		}
		msg := ""
		if m.Deprecated != nil {
			msg = *m.Deprecated
		}
		if msg != v.Deprecated {
			deprecations[v.Version] = msg
		}
	}
	if len(removed) == len(pkg.Versions) && len(removed) > 0 {
		return fmt.Errorf("%w: an edit may not remove every version; unpublish the package instead", ErrBadRequest)
	}
	if len(deprecations) > 0 {
		if err := s.store.Deprecate(ctx, name, deprecations); err != nil {
			return err
		}
	}
	for _, v := range removed {
		if err := s.store.Unpublish(ctx, name, v); err != nil {
			return err
		}
		slog.InfoContext(ctx, "unpublished version", slog.String("package", name), slog.String("version", v), slog.String("user", user))
	}
	if len(removed) > 0 {
		if err := s.restoreTags(c, name, doc.DistTags); err != nil {
			return err
		}
	}
	return s.setOwners(c, name, user, owners)
}

// maxOwners bounds a package's owner list.
const maxOwners = 100

// checkOwners validates a packument edit's maintainers list (npm owner add
// and rm PUT the whole list) and returns the new owners in order, or nil
// when the set of names is unchanged. Every name must be an existing user
// and at least one must remain: the last owner cannot be removed.
func (s *Server) checkOwners(c echo.Context, pkg *store.Package, maintainers []npmwire.Person) ([]string, error) {
	if len(maintainers) == 0 {
		return nil, fmt.Errorf("%w: cannot remove the last owner of %q; add another owner first", ErrBadRequest, pkg.Name)
	}
	if len(maintainers) > maxOwners {
		return nil, fmt.Errorf("%w: %d maintainers, at most %d", ErrBadRequest, len(maintainers), maxOwners)
	}
	var owners []string
	for _, m := range maintainers {
		if m.Name == "" {
			return nil, fmt.Errorf("%w: maintainer without a name", ErrBadRequest)
		}
		if !slices.Contains(owners, m.Name) {
			owners = append(owners, m.Name)
		}
	}
	if len(owners) == len(pkg.Owners) && !slices.ContainsFunc(owners, func(o string) bool { return !slices.Contains(pkg.Owners, o) }) {
		return nil, nil
	}
	for _, o := range owners {
		if slices.Contains(pkg.Owners, o) {
			continue
		}
		if _, err := s.store.User(c.Request().Context(), o); errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: maintainer %q is not a user of this registry", ErrBadRequest, o)
		} else if err != nil {
			return nil, err
		}
	}
	return owners, nil
}

// setOwners stores a changed owner list (none when owners is nil) and
// answers the edit.
func (s *Server) setOwners(c echo.Context, name, user string, owners []string) error {
	if owners != nil {
		ctx := c.Request().Context()
		if err := s.store.SetOwners(ctx, name, user, owners); err != nil {
			return err
		}
		slog.InfoContext(ctx, "owners changed", slog.String("package", name), slog.Any("owners", owners), slog.String("user", user))
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true})
}

// restoreTags re-points tags that an unpublish removed. "latest" moves to
// the highest remaining release (never to a prerelease, whatever the
// client's packument says; with only prereleases left it stays unset);
// other tags follow the client's packument.
func (s *Server) restoreTags(c echo.Context, name string, want map[string]string) error {
	ctx := c.Request().Context()
	pkg, err := s.store.Package(ctx, name)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	var best *semver.Version
	for _, v := range pkg.Versions {
		live[v.Version] = true
		if sv, err := semver.NewVersion(v.Version); err == nil && sv.Prerelease() == "" && (best == nil || sv.GreaterThan(best)) {
			best = sv
		}
	}
	want = maps.Clone(want)
	if want == nil {
		want = map[string]string{}
	}
	delete(want, "latest")
	if best != nil {
		want["latest"] = best.Original()
	}
	for tag, v := range want {
		if _, has := pkg.DistTags[tag]; has || !live[v] || validTag(tag) != nil {
			continue
		}
		if err := s.store.SetDistTag(ctx, name, tag, v); err != nil {
			return err
		}
	}
	return nil
}

// ownedPackage loads a package that user owns, checking rev when given.
func (s *Server) ownedPackage(c echo.Context, name, user, wantRev string) (*store.Package, error) {
	pkg, err := s.store.Package(c.Request().Context(), name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(pkg.Owners, user) {
		return nil, fmt.Errorf("%w: user %q is not a maintainer of %q", ErrForbidden, user, name)
	}
	if wantRev != "" {
		n, err := parseRev(wantRev)
		if err != nil {
			return nil, err
		}
		if n != pkg.Rev {
			return nil, fmt.Errorf("%w: revision %s is stale (current %s)", ErrConflict, wantRev, rev(pkg))
		}
	}
	return pkg, nil
}

// deletePackage serves DELETE /{name}/-rev/{rev}: unpublish every version.
func (s *Server) deletePackage(c echo.Context, name, rev string) error {
	user, err := requireUser(c, true)
	if err != nil {
		return err
	}
	unlock := s.lock(name)
	defer unlock()
	defer s.cache.invalidate(name)
	if _, err := s.ownedPackage(c, name, user, rev); err != nil {
		return err
	}
	if err := s.store.UnpublishPackage(c.Request().Context(), name); err != nil {
		return err
	}
	slog.InfoContext(c.Request().Context(), "unpublished package", slog.String("package", name), slog.String("user", user))
	return c.JSON(http.StatusOK, map[string]any{"ok": true})
}

// deleteTarball serves DELETE /{name}/-/{file}/-rev/{rev}, which npm sends
// after removing a version: the tarball of an unpublished version is
// already garbage (swept later); a live version's tarball cannot be deleted.
func (s *Server) deleteTarball(c echo.Context, name, file, rev string) error {
	user, err := requireUser(c, true)
	if err != nil {
		return err
	}
	pkg, err := s.ownedPackage(c, name, user, "")
	if err != nil {
		return err
	}
	for _, v := range pkg.Versions {
		if tarballFile(name, v.Version) == file {
			return fmt.Errorf("%w: %s belongs to the live version %s; unpublish the version instead", ErrConflict, file, v.Version)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"ok": true})
}
