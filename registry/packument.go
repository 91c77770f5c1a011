package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/labstack/echo/v4"

	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/verify"
)

// npmTime is the time format of packument "time" entries.
const npmTime = "2006-01-02T15:04:05.000Z"

// A view is one package rendered for one base URL: both packuments
// serialized once, with their ETags, plus indexes for version and tarball
// lookups. Views are immutable; a write replaces them.
type view struct {
	pkg          *store.Package
	full, abbrev []byte
	fullTag      string
	abbrevTag    string
	versions     map[string][]byte         // version → serialized manifest
	versionTags  map[string]string         // version → ETag of its manifest
	byVersion    map[string]*store.Version // version → stored version
	byFile       map[string]*store.Version // tarball file name → version
}

// cache holds views by package and base URL. A write bumps the package's
// generation, so a view built from a snapshot older than the write is
// never stored.
type cache struct {
	mu    sync.RWMutex
	views map[string]map[string]*view // name → base → view
	gen   map[string]uint64
}

func newCache() *cache {
	return &cache{views: map[string]map[string]*view{}, gen: map[string]uint64{}}
}

func (c *cache) get(name, base string) (*view, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.views[name][base], c.gen[name]
}

// Cache bounds: base URLs come from the Host header, so a client could
// otherwise grow the cache at will.
const (
	maxViewsPerPackage = 4
	maxCachedPackages  = 20000
)

func (c *cache) put(name, base string, gen uint64, v *view) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[name] != gen {
		return
	}
	if c.views[name] == nil {
		if len(c.views) >= maxCachedPackages {
			for k := range c.views { // evict an arbitrary package
				delete(c.views, k)
				break
			}
		}
		c.views[name] = map[string]*view{}
	}
	if len(c.views[name]) >= maxViewsPerPackage {
		return
	}
	c.views[name][base] = v
}

func (c *cache) invalidate(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[name]++
	delete(c.views, name)
}

// baseURL is the registry's external URL for links.
func (s *Server) baseURL(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimSuffix(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// view returns the package's view for the request's base URL.
func (s *Server) view(c echo.Context, name string) (*view, error) {
	base := s.baseURL(c)
	v, gen := s.cache.get(name, base)
	if v != nil {
		return v, nil
	}
	pkg, err := s.store.Package(c.Request().Context(), name)
	if err != nil {
		return nil, err
	}
	if len(pkg.Versions) == 0 {
		return nil, fmt.Errorf("package %q has no versions (all unpublished): %w", name, ErrNotFound)
	}
	v, err = buildView(pkg, base)
	if err != nil {
		return nil, err
	}
	s.cache.put(name, base, gen, v)
	return v, nil
}

// sortVersions returns the package's versions in semver order.
func sortVersions(vs []store.Version) []*store.Version {
	out := make([]*store.Version, len(vs))
	parsed := make(map[*store.Version]*semver.Version, len(vs))
	for i := range vs {
		out[i] = &vs[i]
		parsed[out[i]], _ = semver.NewVersion(vs[i].Version)
	}
	slices.SortStableFunc(out, func(a, b *store.Version) int {
		pa, pb := parsed[a], parsed[b]
		if pa == nil || pb == nil {
			return strings.Compare(a.Version, b.Version)
		}
		return pa.Compare(pb)
	})
	return out
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// rev renders a package's CouchDB-style revision.
func rev(pkg *store.Package) string {
	sum := sha256.Sum256([]byte(pkg.Name + "\x00" + strconv.FormatInt(pkg.Rev, 10)))
	return strconv.FormatInt(pkg.Rev, 10) + "-" + hex.EncodeToString(sum[:8])
}

// parseRev returns the counter of a revision string.
func parseRev(r string) (int64, error) {
	n, _, _ := strings.Cut(r, "-")
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: bad revision %q", ErrBadRequest, r)
	}
	return v, nil
}

// attestationsPath is the path of a version's npm attestations endpoint;
// a scoped name keeps its "@" and writes "/" as "%2f".
func attestationsPath(name, version string) string {
	return "/-/npm/v1/attestations/" + npmwire.EscapeName(name) + "@" + version
}

// trustRoot returns the stored result's trust root name, or "".
func trustRoot(prov json.RawMessage) (root, predicate string) {
	if len(prov) == 0 {
		return "", ""
	}
	var r verify.Result
	if json.Unmarshal(prov, &r) != nil || !r.Provenance {
		return "", ""
	}
	if r.Summary != nil {
		predicate = r.Summary.PredicateType
	}
	return r.TrustRoot, predicate
}

// versionManifest renders a stored version for serving: the published
// manifest with the registry's dist (tarball URL, attestations) and the
// current deprecation.
func versionManifest(v *store.Version, base string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v.Manifest, &m); err != nil {
		return nil, fmt.Errorf("stored manifest of %s@%s: %w", v.Name, v.Version, err)
	}
	var dist npmwire.Dist
	if raw, ok := m["dist"]; ok {
		if err := json.Unmarshal(raw, &dist); err != nil {
			return nil, fmt.Errorf("stored dist of %s@%s: %w", v.Name, v.Version, err)
		}
	}
	dist.Tarball = base + "/" + v.Name + "/-/" + tarballFile(v.Name, v.Version)
	if root, pred := trustRoot(v.Provenance); root == verify.RootPublicGood && v.BundleKey != "" {
		if pred == "" {
			pred = npmwire.PredicateSLSAv1
		}
		dist.Attestations = &npmwire.DistAttestations{
			URL:        base + attestationsPath(v.Name, v.Version),
			Provenance: &npmwire.PredicateRef{PredicateType: pred},
		}
	}
	put := func(k string, val any) {
		b, _ := json.Marshal(val)
		m[k] = b
	}
	put("dist", dist)
	put("_id", v.Name+"@"+v.Version)
	put("_npmUser", npmwire.Person{Name: v.Publisher})
	if v.Deprecated != "" {
		put("deprecated", v.Deprecated)
	} else {
		delete(m, "deprecated")
	}
	return m, nil
}

// jsonWriter writes JSON objects with keys in the caller's order.
type jsonWriter struct {
	bytes.Buffer
	first []bool
}

func (w *jsonWriter) open()  { w.WriteByte('{'); w.first = append(w.first, true) }
func (w *jsonWriter) close() { w.WriteByte('}'); w.first = w.first[:len(w.first)-1] }
func (w *jsonWriter) key(k string) {
	if !w.first[len(w.first)-1] {
		w.WriteByte(',')
	}
	w.first[len(w.first)-1] = false
	b, _ := json.Marshal(k)
	w.Write(b)
	w.WriteByte(':')
}
func (w *jsonWriter) field(k string, v any) {
	w.key(k)
	b, _ := json.Marshal(v)
	w.Write(b)
}
func (w *jsonWriter) raw(k string, b []byte) { w.key(k); w.Write(b) }

func buildView(pkg *store.Package, base string) (*view, error) {
	sorted := sortVersions(pkg.Versions)
	v := &view{
		pkg:         pkg,
		versions:    make(map[string][]byte, len(sorted)),
		versionTags: make(map[string]string, len(sorted)),
		byVersion:   make(map[string]*store.Version, len(sorted)),
		byFile:      make(map[string]*store.Version, len(sorted)),
	}
	var full, abbrev jsonWriter
	full.open()
	full.field("_id", pkg.Name)
	full.field("_rev", rev(pkg))
	full.field("name", pkg.Name)
	abbrev.open()
	abbrev.field("name", pkg.Name)
	abbrev.field("modified", pkg.Modified.UTC().Format(npmTime))
	var latest map[string]json.RawMessage
	manifests := make([]map[string]json.RawMessage, len(sorted))
	for i, sv := range sorted {
		m, err := versionManifest(sv, base)
		if err != nil {
			return nil, err
		}
		manifests[i] = m
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		v.versions[sv.Version], v.byVersion[sv.Version], v.byFile[tarballFile(sv.Name, sv.Version)] = b, sv, sv
		v.versionTags[sv.Version] = etag(b)
		if pkg.DistTags["latest"] == sv.Version {
			latest = m
		}
	}
	if d, ok := latest["description"]; ok {
		full.raw("description", d)
	}
	full.field("dist-tags", pkg.DistTags)
	abbrev.field("dist-tags", pkg.DistTags)
	full.key("versions")
	full.open()
	abbrev.key("versions")
	abbrev.open()
	for i, sv := range sorted {
		full.raw(sv.Version, v.versions[sv.Version])
		abbrev.key(sv.Version)
		abbrev.open()
		for _, f := range npmwire.AbbreviatedFields {
			if val, ok := manifests[i][f]; ok {
				abbrev.raw(f, val)
			}
		}
		abbrev.close()
	}
	full.close()
	abbrev.close()
	full.key("time")
	full.open()
	full.field("created", pkg.Created.UTC().Format(npmTime))
	full.field("modified", pkg.Modified.UTC().Format(npmTime))
	for _, sv := range sorted {
		full.field(sv.Version, sv.Published.UTC().Format(npmTime))
	}
	for ver, at := range pkg.Unpublished {
		full.field(ver, at.UTC().Format(npmTime))
	}
	full.close()
	maint := make([]npmwire.Person, len(pkg.Owners))
	for i, o := range pkg.Owners {
		maint[i] = npmwire.Person{Name: o, Email: pkg.OwnerEmails[o]}
	}
	full.field("maintainers", maint)
	if r, ok := latest["readme"]; ok {
		full.raw("readme", r)
	}
	full.close()
	abbrev.close()
	v.full, v.abbrev = full.Bytes(), abbrev.Bytes()
	v.fullTag, v.abbrevTag = etag(v.full), etag(v.abbrev)
	return v, nil
}

// wantsHTML reports whether a request comes from a browser.
func wantsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/html") && !strings.Contains(a, npmwire.MediaTypeAbbreviated)
}

// serveJSON writes a precomputed body with its ETag, honouring If-None-Match.
func serveJSON(c echo.Context, contentType string, body []byte, tag string) error {
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set("Vary", "Accept")
	if inm := c.Request().Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
		return c.NoContent(http.StatusNotModified)
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", contentType)
		h.Set("Content-Length", strconv.Itoa(len(body)))
		return c.NoContent(http.StatusOK)
	}
	return c.Blob(http.StatusOK, contentType, body)
}

func etagMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// getPackument serves GET /{name}.
func (s *Server) getPackument(c echo.Context, name string) error {
	if s.pages != nil && wantsHTML(c.Request()) {
		return s.pages.PackagePage(c, name)
	}
	v, err := s.view(c, name)
	if err != nil {
		return err
	}
	if strings.Contains(c.Request().Header.Get("Accept"), npmwire.MediaTypeAbbreviated) {
		return serveJSON(c, npmwire.MediaTypeAbbreviated, v.abbrev, v.abbrevTag)
	}
	return serveJSON(c, echo.MIMEApplicationJSON, v.full, v.fullTag)
}

// getVersion serves GET /{name}/{version-or-tag}.
func (s *Server) getVersion(c echo.Context, name, spec string) error {
	v, err := s.view(c, name)
	if err != nil {
		return err
	}
	version := spec
	if t, ok := v.pkg.DistTags[spec]; ok {
		version = t
	}
	body, ok := v.versions[version]
	if !ok {
		return fmt.Errorf("%w: version or tag %q of %q", ErrNotFound, spec, name)
	}
	if s.pages != nil && wantsHTML(c.Request()) {
		return s.pages.VersionPage(c, name, version)
	}
	return serveJSON(c, echo.MIMEApplicationJSON, body, v.versionTags[version])
}

// getTarball serves GET /{name}/-/{file}.
func (s *Server) getTarball(c echo.Context, name, file string) error {
	v, err := s.view(c, name)
	if err != nil {
		return err
	}
	sv, ok := v.byFile[file]
	if !ok {
		return fmt.Errorf("%w: tarball %q of %q", ErrNotFound, file, name)
	}
	tag := `"` + sv.SHA512[:32] + `"`
	h := c.Response().Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if etagMatch(c.Request().Header.Get("If-None-Match"), tag) {
		return c.NoContent(http.StatusNotModified)
	}
	if c.Request().Method == http.MethodHead {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(sv.Size, 10))
		return c.NoContent(http.StatusOK)
	}
	if b, ok := s.tarballs.get(sv.TarballKey); ok {
		return c.Blob(http.StatusOK, "application/octet-stream", b)
	}
	if sv.Size <= maxCachedTarballBytes {
		b, err := s.readBlob(c.Request().Context(), sv.TarballKey)
		if err != nil {
			return err
		}
		s.tarballs.put(sv.TarballKey, b)
		return c.Blob(http.StatusOK, "application/octet-stream", b)
	}
	r, size, err := s.store.OpenBlob(c.Request().Context(), sv.TarballKey)
	if err != nil {
		return err
	}
	defer r.Close()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	c.Response().WriteHeader(http.StatusOK)
	// Copy through a pooled buffer. Hiding the blob reader's WriteTo matters:
	// gocloud's blob.Reader.WriteTo allocates a fresh 1 MiB buffer per call
	// when the destination (echo's Response) is not an io.ReaderFrom.
	buf := streamBuffers.Get().(*[]byte)
	defer streamBuffers.Put(buf)
	_, err = io.CopyBuffer(c.Response(), struct{ io.Reader }{r}, *buf)
	return err
}

// streamBufferBytes is the size of the pooled buffers large tarballs are
// streamed through.
const streamBufferBytes = 32 << 10

var streamBuffers = sync.Pool{New: func() any { b := make([]byte, streamBufferBytes); return &b }}

// Tarball cache bounds: blobs are immutable and content-addressed, so
// small ones are kept in memory, first in first out.
const (
	maxCachedTarballBytes = 1 << 20
	tarballCacheBytes     = 64 << 20
)

// blobCache holds small immutable blobs by key, up to a total size.
type blobCache struct {
	mu    sync.Mutex
	data  map[string][]byte
	order []string
	size  int
}

func (bc *blobCache) get(key string) ([]byte, bool) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	b, ok := bc.data[key]
	return b, ok
}

func (bc *blobCache) put(key string, b []byte) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.data == nil {
		bc.data = map[string][]byte{}
	}
	if _, ok := bc.data[key]; ok {
		return
	}
	for bc.size+len(b) > tarballCacheBytes && len(bc.order) > 0 {
		old := bc.order[0]
		bc.order = bc.order[1:]
		bc.size -= len(bc.data[old])
		delete(bc.data, old)
	}
	bc.data[key], bc.size, bc.order = b, bc.size+len(b), append(bc.order, key)
}

// readBlob reads a whole blob.
func (s *Server) readBlob(ctx context.Context, key string) ([]byte, error) {
	r, _, err := s.store.OpenBlob(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// storedVersion returns a live version of a package.
func (s *Server) storedVersion(c echo.Context, name, version string) (*store.Version, error) {
	v, err := s.view(c, name)
	if err != nil {
		return nil, err
	}
	sv, ok := v.byVersion[version]
	if !ok {
		return nil, fmt.Errorf("%w: version %s@%s", ErrNotFound, name, version)
	}
	return sv, nil
}
