// Package web serves the registry's human pages: the home page with recent
// packages and search, package and version pages with a provenance panel,
// shields-style provenance badges, and a viewer for any Rekor-compatible
// transparency log.
//
// Everything is rendered on the server with html/template, works without
// JavaScript and loads nothing from another origin. Untrusted text (names,
// descriptions, READMEs, statement fields, log entries) is escaped by the
// templates; README Markdown is rendered by goldmark and sanitised by
// bluemonday before it is marked safe.
//
// # Routes
//
// The registry server delegates GET /{name} and /{name}/{version} to
// [Pages.PackagePage] and [Pages.VersionPage] when the client prefers HTML.
// [Pages.Register] adds the routes the pages own:
//
//	GET /                                   home, ?q= searches
//	GET /badge/{name}.svg                   badge of the latest version
//	GET /badge/{name}/v/{version}.svg       badge of one version
//	GET /-/web/{file}                       static assets (CSS)
//	GET /-/log                              the log's latest checkpoint
//	GET /-/log/entries/{index-or-uuid}      one log entry, with its proof checked
//
// Names may be scoped (@scope/name) everywhere.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/labstack/echo/v4"
	"github.com/sigstore/sigstore-go/pkg/root"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Page list limits.
const (
	// RecentCount is how many recently published packages the home page lists.
	RecentCount = 20
	// SearchCount is how many search results a search page lists.
	SearchCount = 50
	// maxSearchTextBytes caps the search text passed to the catalog.
	maxSearchTextBytes = 256
)

// Cache lifetimes of the responses the pages serve.
const (
	latestBadgeMaxAge  = 5 * time.Minute
	versionBadgeMaxAge = 24 * time.Hour
	staticMaxAge       = time.Hour
)

// Config configures the pages.
type Config struct {
	// Catalog gives read access to the registry's packages. Required.
	Catalog Catalog
	// IsNotFound reports whether an error from Catalog means "no such
	// package". When nil, errors.Is(err, os.ErrNotExist) is used.
	IsNotFound func(error) bool
	// LogURL is the base URL of the Rekor v1 compatible transparency log
	// the log viewer reads, e.g. https://rekor.sigstore.dev. When empty the
	// log pages say that no log is configured.
	LogURL string
	// TrustedMaterial, when set, provides the log keys the viewer checks
	// checkpoint signatures with. Without it, checkpoints are shown
	// unverified and the pages say so.
	TrustedMaterial root.TrustedMaterial
	// HTTPClient is used to read the log. When nil, a client with a
	// 10-second timeout is used.
	HTTPClient *http.Client
}

// Pages renders the registry's human pages. It is safe for concurrent use.
type Pages struct {
	cfg   Config
	tmpl  map[string]*template.Template
	rekor *rekorClient
}

// New validates cfg and parses the templates.
func New(cfg Config) (*Pages, error) {
	if cfg.Catalog == nil {
		return nil, errors.New("web: Config.Catalog is required")
	}
	if cfg.IsNotFound == nil {
		cfg.IsNotFound = func(err error) bool { return errors.Is(err, os.ErrNotExist) }
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	p := &Pages{cfg: cfg, tmpl: map[string]*template.Template{}}
	if cfg.LogURL != "" {
		rc, err := newRekorClient(cfg.LogURL, cfg.HTTPClient)
		if err != nil {
			return nil, err
		}
		p.rekor = rc
	}
	for _, page := range []string{"home", "package", "notfound", "error", "log", "entry"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing template %s: %w", page, err)
		}
		p.tmpl[page] = t
	}
	return p, nil
}

var funcs = template.FuncMap{
	"packagePath": packagePath,
	"versionPath": versionPath,
	"badgePath":   badgePath,
	"when":        func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"iso":         func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"statusClass": func(s string) string {
		switch s {
		case "verified", "ok", "passed":
			return "ok"
		case "unverified", "failed":
			return "warn"
		}
		return "off"
	},
}

// Register adds the routes the pages own to e.
func (p *Pages) Register(e *echo.Echo) {
	e.GET("/", p.home)
	static, _ := fs.Sub(staticFS, "static") // the embedded directory always exists
	e.GET("/-/web/*", echo.WrapHandler(cacheFor(staticMaxAge, http.StripPrefix("/-/web/", http.FileServerFS(static)))))
	e.GET("/badge/*", p.badge)
	e.GET("/-/log", p.logPage)
	e.GET("/-/log/", p.logPage)
	e.GET("/-/log/entries", p.logLookup)
	e.GET("/-/log/entries/:id", p.logEntry)
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// layoutData is what every page's layout receives.
type layoutData struct {
	Title string
	Query string
	Page  any
}

// render executes one page template into a buffer first, so that a
// template failure never leaves half a page on the wire.
func (p *Pages) render(c echo.Context, status int, page, title string, data any) error {
	var b bytes.Buffer
	if err := p.tmpl[page].Execute(&b, layoutData{Title: title, Query: c.QueryParam("q"), Page: data}); err != nil {
		slog.ErrorContext(c.Request().Context(), "rendering page", slog.String("page", page), slog.Any("error", err))
		return c.String(http.StatusInternalServerError, "internal error rendering the page")
	}
	c.Response().Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	c.Response().Header().Set("X-Content-Type-Options", "nosniff")
	return c.HTMLBlob(status, b.Bytes())
}

// notFound renders a helpful 404 page.
func (p *Pages) notFound(c echo.Context, what, hint string) error {
	slog.DebugContext(c.Request().Context(), "rejection: page not found", slog.String("path", c.Request().URL.Path), slog.String("what", what))
	return p.render(c, http.StatusNotFound, "notfound", "Not found", struct{ What, Hint string }{what, hint})
}

// serverError logs err and renders a generic error page.
func (p *Pages) serverError(c echo.Context, msg string, err error) error {
	slog.ErrorContext(c.Request().Context(), msg, slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	return p.render(c, http.StatusInternalServerError, "error", "Error", struct{ Message string }{msg})
}

// homeData is the home and search page.
type homeData struct {
	Query    string
	Packages []Listing
}

func (p *Pages) home(c echo.Context) error {
	ctx := c.Request().Context()
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxSearchTextBytes {
		q = q[:maxSearchTextBytes]
	}
	var (
		list []Listing
		err  error
	)
	if q != "" {
		list, err = p.cfg.Catalog.Search(ctx, q, SearchCount)
	} else {
		list, err = p.cfg.Catalog.Recent(ctx, RecentCount)
	}
	if err != nil {
		return p.serverError(c, "could not list packages", err)
	}
	title := "Packages"
	if q != "" {
		title = "Search: " + q
	}
	return p.render(c, http.StatusOK, "home", title, homeData{Query: q, Packages: list})
}

// PackagePage renders the page of a package's latest version.
func (p *Pages) PackagePage(c echo.Context, name string) error {
	return p.versionPage(c, name, "")
}

// VersionPage renders the page of one version of a package.
func (p *Pages) VersionPage(c echo.Context, name, version string) error {
	return p.versionPage(c, name, version)
}

// lookup loads a package and picks a version: the given one, or the
// "latest" dist-tag, or the highest version. A dist-tag name is accepted
// in place of a version.
func (p *Pages) lookup(ctx context.Context, name, version string) (*Package, *Version, error) {
	pkg, err := p.cfg.Catalog.Package(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	if version == "" {
		version = pkg.DistTags["latest"]
	} else if v, ok := pkg.DistTags[version]; ok {
		version = v
	}
	sortVersions(pkg.Versions)
	for i := range pkg.Versions {
		if version == "" || pkg.Versions[i].Version == version {
			return pkg, &pkg.Versions[i], nil
		}
	}
	return pkg, nil, nil
}

// sortVersions orders versions newest first: by semver precedence, falling
// back to publish time for strings that are not semver.
func sortVersions(vs []Version) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, ea := semver.StrictNewVersion(vs[i].Version)
		b, eb := semver.StrictNewVersion(vs[j].Version)
		if ea == nil && eb == nil {
			return a.GreaterThan(b)
		}
		return vs[i].Published.After(vs[j].Published)
	})
}

func (p *Pages) versionPage(c echo.Context, name, version string) error {
	pkg, v, err := p.lookup(c.Request().Context(), name, version)
	switch {
	case err != nil && p.cfg.IsNotFound(err):
		return p.notFound(c, fmt.Sprintf("There is no package named %q in this registry.", name),
			"Package names are case-sensitive; scoped names look like @scope/name. Try the search box.")
	case err != nil:
		return p.serverError(c, "could not load the package", err)
	case v == nil:
		return p.notFound(c, fmt.Sprintf("Package %q has no version %q.", name, version),
			"The versions it has are listed on its page.")
	}
	readme, err := p.cfg.Catalog.Readme(c.Request().Context(), pkg.Name, v.Version)
	if err != nil {
		slog.WarnContext(c.Request().Context(), "reading README", slog.String("package", name), slog.String("version", v.Version), slog.Any("error", err))
	}
	data := newVersionData(pkg, v, readme, version == "", registryBase(c))
	return p.render(c, http.StatusOK, "package", name+"@"+v.Version, data)
}

// registryBase is the registry's own URL as the client reached it, for the
// install command.
func registryBase(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host + "/"
}
