// Package registry is Provenant's npm-compatible registry server, on echo
// v4. It serves packuments (full and abbreviated), tarballs, dist-tags,
// users and tokens, search, registry signatures and attestations, and
// accepts a publish only after every check has passed: the request shape
// (here), then the provenance checks of a [Verifier].
//
// # Routes
//
// Package paths accept a scoped name both escaped ("/@scope%2fname") and
// as two segments ("/@scope/name"):
//
//	GET    /{name}                             packument (full, or abbreviated for application/vnd.npm.install-v1+json)
//	GET    /{name}/{version-or-tag}            one version
//	GET    /{name}/-/{file}.tgz                tarball
//	PUT    /{name}                             publish; or, without attachments, a packument edit (deprecate, version unpublish)
//	PUT    /{name}/-rev/{rev}                  packument edit (npm unpublish of one version, npm owner add/rm)
//	DELETE /{name}/-rev/{rev}                  unpublish the whole package
//	DELETE /{name}/-/{file}/-rev/{rev}         tarball removal after a version unpublish
//	GET|PUT|DELETE /-/package/{name}/dist-tags[/{tag}]
//	GET    /-/package/{name}/visibility
//	PUT    /-/user/org.couchdb.user:{name}     adduser / login (legacy)
//	GET    /-/whoami, /-/ping, /healthz, /metrics
//	GET    /-/npm/v1/tokens, DELETE /-/npm/v1/tokens/token/{key}, DELETE /-/user/token/{token}
//	GET    /-/v1/search
//	GET    /-/npm/v1/keys
//	GET    /-/npm/v1/attestations/{name}@{version}
//	GET    /-/provenant/v1/attestations/{name}@{version}
//
// Paths "/", "/badge/…", "/-/web/…" and "/-/log/…" are reserved for
// [Pages.Register].
//
// # Attestations and npm audit signatures
//
// npm audit signatures verifies every bundle listed by a version's
// dist.attestations against the public-good Sigstore root only. So:
//
//   - dist.signatures (the registry key over "{name}@{version}:{integrity}")
//     is set on every version; GET /-/npm/v1/keys serves the key.
//   - dist.attestations is set only when the version's provenance was
//     verified under the "public-good" root. Its URL,
//     /-/npm/v1/attestations/{name}@{version}, lists exactly the bundles
//     npm can verify: the public-good provenance bundle.
//   - /-/provenant/v1/attestations/{name}@{version}, in the same shape,
//     lists everything the registry holds: the publish attestation signed
//     by the registry key (npm's publish predicate v0.1, keyid set) and
//     the provenance bundle from any trusted root, including a private
//     instance. Provenant's tools and pages read it. The publish
//     attestation is not logged in a transparency log, which npm's
//     verifier would require, so it is kept out of npm's list.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/registry/verify"
)

// A Verifier runs the provenance checks of a publish after the request
// shape checks have passed. It returns a *provenance.CheckError (possibly
// wrapped) naming the first failed check; the registry answers it with 422.
// It must be safe for concurrent use.
type Verifier interface {
	Verify(ctx context.Context, in verify.Input) (*verify.Result, error)
}

// Pages renders HTML for browsers. When set, GET /{name} and
// GET /{name}/{version} with an Accept header preferring text/html are
// delegated to it, and Register adds its own routes ("/", "/badge/…",
// "/-/web/…", "/-/log/…").
type Pages interface {
	Register(e *echo.Echo)
	PackagePage(c echo.Context, name string) error
	VersionPage(c echo.Context, name, version string) error
}

// Server is the registry. Create one with New; serve Handler or call
// ListenAndServe; Close it when done.
type Server struct {
	cfg       Config
	store     store.Store
	ownsStore bool
	verifier  Verifier
	pages     Pages
	signer    *signer
	echo      *echo.Echo
	cache     *cache
	tarballs  blobCache
	locks     [64]sync.Mutex
	metrics   *metrics
	// loginLimit and publishLimit are nil when disabled.
	loginLimit   *limiterSet
	publishLimit *limiterSet
	validate     func([]byte) error
	sweepStop    context.CancelFunc
	sweepDone    chan struct{}
	closeOnce    sync.Once
	closeError   error
}

// An Option configures a Server.
type Option func(*Server) error

// WithStore makes the server use st instead of opening the SQLite store
// in the data directory. The caller keeps ownership: Close does not close it.
func WithStore(st store.Store) Option {
	return func(s *Server) error {
		if st == nil {
			return errors.New("registry: nil store")
		}
		s.store = st
		return nil
	}
}

// WithVerifier sets the provenance verifier.
func WithVerifier(v Verifier) Option {
	return func(s *Server) error {
		if v == nil {
			return errors.New("registry: nil verifier")
		}
		s.verifier = v
		return nil
	}
}

// WithPages sets the HTML pages.
func WithPages(p Pages) Option {
	return func(s *Server) error {
		if p == nil {
			return errors.New("registry: nil pages")
		}
		s.pages = p
		return nil
	}
}

// WithBodyValidator sets the check of a publish body against its JSON
// Schema; it returns an error naming the first bad field.
func WithBodyValidator(validate func(body []byte) error) Option {
	return func(s *Server) error {
		s.validate = validate
		return nil
	}
}

// New builds a registry from cfg. Without WithStore it opens the SQLite
// store in cfg.DataDir; without WithVerifier it builds one from
// cfg.Verification.
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, cache: newCache()}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	var err error
	if s.signer, err = loadOrCreateSigner(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if s.verifier == nil {
		if s.verifier, err = newVerifier(ctx, cfg); err != nil {
			return nil, err
		}
	}
	if s.validate == nil {
		s.validate = validatePublishBody
	}
	if s.store == nil {
		st, err := sqlite.New(ctx, sqlite.Config{Dir: cfg.DataDir})
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		s.store, s.ownsStore = st, true
	}
	s.metrics = newMetrics()
	s.loginLimit = newLimiterSet("login", cfg.RateLimits.LoginPerMinute, cfg.RateLimits.LoginBurst)
	s.publishLimit = newLimiterSet("publish", cfg.RateLimits.PublishPerMinute, cfg.RateLimits.PublishBurst)
	s.echo = s.routes()
	if cfg.SweepInterval > 0 {
		sctx, cancel := context.WithCancel(context.Background())
		s.sweepStop, s.sweepDone = cancel, make(chan struct{})
		go s.sweepLoop(sctx)
	}
	return s, nil
}

// Handler returns the registry's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo returns the underlying echo instance, for adding routes.
func (s *Server) Echo() *echo.Echo { return s.echo }

// Close stops background work and closes the store if the server opened it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.sweepStop != nil {
			s.sweepStop()
			<-s.sweepDone
		}
		if s.ownsStore {
			s.closeError = s.store.Close()
		}
	})
	return s.closeError
}

// ListenAndServe serves on addr until ctx is done, then shuts down
// gracefully, waiting up to cfg.ShutdownTimeout for requests in flight.
// ready, if not nil, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	slog.InfoContext(ctx, "registry listening", slog.String("addr", ln.Addr().String()), slog.String("dataDir", s.cfg.DataDir))
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("registry: %w", err)
	case <-ctx.Done():
	}
	slog.InfoContext(ctx, "registry shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("registry: shutdown: %w", err)
	}
	return nil
}

func (s *Server) sweepLoop(ctx context.Context) {
	defer close(s.sweepDone)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.store.Sweep(ctx, s.cfg.SweepGrace)
			if err != nil {
				slog.ErrorContext(ctx, "blob sweep failed", slog.Any("error", err))
			} else if n > 0 {
				slog.InfoContext(ctx, "blob sweep", slog.Int("deleted", n))
			}
		}
	}
}

// lock serializes writes to one package.
func (s *Server) lock(name string) func() {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	m := &s.locks[h%uint32(len(s.locks))]
	m.Lock()
	return m.Unlock
}

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = handleError
	// Rate limits key on the connection's address; a client-set
	// X-Forwarded-For must not let it pick a fresh one.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(middleware.Recover())
	e.Use(s.metrics.middleware)
	e.Use(s.authenticate)

	e.GET("/-/ping", func(c echo.Context) error { return c.JSON(http.StatusOK, struct{}{}) })
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))

	e.PUT("/-/user/:user", s.putUser, middleware.BodyLimit(fmt.Sprint(maxUserBodyBytes)))
	e.GET("/-/user/:user", s.getUser)
	e.DELETE("/-/user/token/:token", s.logout)
	e.GET("/-/whoami", s.whoami)
	e.GET("/-/npm/v1/tokens", s.listTokens)
	e.DELETE("/-/npm/v1/tokens/token/:key", s.revokeToken)

	e.GET("/-/v1/search", s.search)
	e.GET("/-/npm/v1/keys", s.keys)
	e.GET("/-/npm/v1/attestations/*", s.attestations(false))
	e.GET("/-/provenant/v1/attestations/*", s.attestations(true))
	e.Any("/-/package/*", s.packageAPI)

	if s.pages != nil {
		s.pages.Register(e)
	}
	// Reads skip the body limit; writes carry it.
	e.GET("/*", s.packagePath)
	e.HEAD("/*", s.packagePath)
	body := middleware.BodyLimit(fmt.Sprint(limits.MaxPublishBodyBytes))
	e.PUT("/*", s.packagePath, s.limitPackageWrite, body)
	e.DELETE("/*", s.packagePath, s.limitPackageWrite, body)
	return e
}

// packagePath dispatches /{name}[/...] for both scoped-name spellings.
func (s *Server) packagePath(c echo.Context) error {
	name, rest, err := splitPackagePath(strings.TrimPrefix(c.Request().URL.EscapedPath(), "/"))
	if err != nil {
		return err
	}
	m := c.Request().Method
	switch {
	case len(rest) == 0 && (m == http.MethodGet || m == http.MethodHead):
		return s.getPackument(c, name)
	case len(rest) == 0 && m == http.MethodPut:
		return s.putPackage(c, name, "")
	case len(rest) == 1 && (m == http.MethodGet || m == http.MethodHead):
		return s.getVersion(c, name, rest[0])
	case len(rest) == 2 && rest[0] == "-" && (m == http.MethodGet || m == http.MethodHead):
		return s.getTarball(c, name, rest[1])
	case len(rest) == 2 && rest[0] == "-rev" && m == http.MethodPut:
		return s.putPackage(c, name, rest[1])
	case len(rest) == 2 && rest[0] == "-rev" && m == http.MethodDelete:
		return s.deletePackage(c, name, rest[1])
	case len(rest) == 4 && rest[0] == "-" && rest[2] == "-rev" && m == http.MethodDelete:
		return s.deleteTarball(c, name, rest[1], rest[3])
	}
	return fmt.Errorf("%w: no route for %s %s", ErrNotFound, m, c.Request().URL.Path)
}

// splitPackagePath splits an escaped path "name/rest…" (without the leading
// slash) into the package name and the remaining decoded segments. Scoped
// names arrive as "@scope%2fname" or "@scope/name".
func splitPackagePath(p string) (string, []string, error) {
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		d, err := unescape(r)
		if err != nil {
			return "", nil, err
		}
		segs[i] = d
	}
	name, rest := segs[0], segs[1:]
	if strings.HasPrefix(name, "@") && !strings.Contains(name, "/") {
		if len(rest) == 0 {
			return "", nil, fmt.Errorf("%w: scoped name %q without a package", ErrNotFound, name)
		}
		name, rest = name+"/"+rest[0], rest[1:]
	}
	if err := validName(name); err != nil {
		return "", nil, err
	}
	return name, rest, nil
}
