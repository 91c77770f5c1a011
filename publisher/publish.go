package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/provenant/provenant/internal/limits"
	"github.com/provenant/provenant/npmwire"
	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/publisher/pack"
)

// nameRE is npm's rule for new package names: lowercase, URL-safe, an
// optional scope, not starting with "." or "_".
var nameRE = regexp.MustCompile(`^(@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*$`)

// rangeRE matches strings made only of semver range characters; with a
// successful constraint parse it approximates npm's semver.validRange test
// for tag names ("1.x", "^2", "x" are ranges; "next", "v2-legacy" are not).
var rangeRE = regexp.MustCompile(`^[vV=<>~^0-9xX*|. -]+$`)

// run carries the state of one publish.
type run struct {
	o        Options
	res      *Result
	c        *caller
	tarball  *pack.Tarball
	registry *url.URL
	token    string
	tagGiven bool
}

func (r *run) step(name string, t0 time.Time, ok bool, format string, args ...any) {
	s := Step{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...), Millis: time.Since(t0).Milliseconds()}
	r.res.Steps = append(r.res.Steps, s)
	if r.o.Progress != nil {
		r.o.Progress(s)
	}
}

// fail records the failed step and returns its error.
func (r *run) fail(name string, t0 time.Time, kind, err error) error {
	r.step(name, t0, false, "%v", err)
	return stepErr(name, kind, err)
}

// Publish packs (or reads) the package, runs the pre-flight checks,
// optionally signs a provenance statement with a certificate from the CA
// and an entry in the transparency log, and PUTs the package to the
// registry in npm's format.
//
// Nothing is signed or logged until every check that can fail in advance
// has passed: package.json valid, the version not yet on the registry,
// the token accepted, the CI environment complete. The returned Result
// says what was done even when err is non-nil; err is a [*StepError]
// whose kind maps to an exit code with [ExitCode].
func Publish(ctx context.Context, opts Options) (*Result, error) {
	r := &run{o: opts.withDefaults(), res: &Result{DryRun: opts.DryRun}}
	r.c = &caller{client: r.o.HTTPClient, timeout: r.o.Timeout, retries: r.o.Retries, backoff: r.o.Backoff, ua: r.o.UserAgent}
	err := r.publish(ctx)
	return r.res, err
}

func (r *run) publish(ctx context.Context) error {
	o := &r.o
	t0 := time.Now()
	if err := r.checkOptions(); err != nil {
		return r.fail(StepOptions, t0, ErrUsage, err)
	}

	// Pack.
	t0 = time.Now()
	st, err := os.Stat(o.Path)
	if err != nil {
		return r.fail(StepPack, t0, ErrUsage, err)
	}
	projectDir := o.Path
	if st.IsDir() {
		r.tarball, err = pack.Dir(o.Path)
	} else {
		projectDir = filepath.Dir(o.Path)
		var b []byte
		if st.Size() > limits.MaxTarballBytes {
			err = fmt.Errorf("%w: %s is %d bytes, over the limit of %d", pack.ErrInvalidPackage, o.Path, st.Size(), limits.MaxTarballBytes)
		} else if b, err = os.ReadFile(o.Path); err == nil {
			r.tarball, err = pack.Read(b)
		}
	}
	if err != nil {
		return r.fail(StepPack, t0, ErrPreflight, err)
	}
	t := r.tarball
	r.res.Package = &PackageInfo{Name: t.Name, Version: t.Version, Filename: t.Filename, Size: t.Size, UnpackedSize: t.UnpackedSize,
		FileCount: len(t.Files), Integrity: t.Integrity, Shasum: t.Shasum, Files: t.Files, FromTarball: !st.IsDir()}
	r.step(StepPack, t0, true, "packed %s@%s: %d files, %d bytes, %s", t.Name, t.Version, len(t.Files), t.Size, t.Integrity)

	// Manifest checks.
	t0 = time.Now()
	publishRegistry, err := r.checkManifest()
	if err != nil {
		return r.fail(StepManifest, t0, ErrPreflight, err)
	}
	r.step(StepManifest, t0, true, "package.json valid: %s@%s, tag %q, access %s", t.Name, t.Version, r.res.Tag, accessText(r.res.Access))

	// Registry and token.
	t0 = time.Now()
	cfg, _, err := loadNpmrc(projectDir, o.Getenv)
	if err != nil {
		return r.fail(StepAuth, t0, ErrPreflight, err)
	}
	reg := registryFor(t.Name, o.Registry, publishRegistry, cfg, o.Getenv)
	if r.registry, err = url.Parse(reg); err != nil || (r.registry.Scheme != "http" && r.registry.Scheme != "https") || r.registry.Host == "" {
		return r.fail(StepAuth, t0, ErrUsage, fmt.Errorf("registry %q is not an http(s) URL", reg))
	}
	if !strings.HasSuffix(r.registry.Path, "/") {
		r.registry.Path += "/"
	}
	r.res.Registry = r.registry.String()
	source := "option"
	r.token = o.Token
	if r.token == "" {
		r.token, source = tokenFor(r.registry, cfg, o.Getenv)
	}
	switch {
	case r.token != "":
		r.step(StepAuth, t0, true, "registry %s, token from %s", r.res.Registry, source)
	case o.DryRun:
		r.step(StepAuth, t0, true, "registry %s, no token (dry run)", r.res.Registry)
	default:
		return r.fail(StepAuth, t0, ErrPreflight, fmt.Errorf("ENEEDAUTH: no token for %s: set //%s/:_authToken in .npmrc (actions/setup-node writes it with ${NODE_AUTH_TOKEN}), NODE_AUTH_TOKEN or NPM_TOKEN", r.res.Registry, r.registry.Host))
	}

	// Provenance pre-flight: CI, token availability, statement.
	var tokens tokenSource
	var statement []byte
	if o.Provenance {
		t0 = time.Now()
		ci, err := provenance.DetectCI(o.Getenv)
		if err != nil {
			//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
			return r.fail(StepCI, t0, ErrPreflight, fmt.Errorf("Automatic provenance generation not supported for provider: %w", err))
		}
		r.res.CI = string(ci)
		tokens = tokenSource{ci: ci, explicit: o.IdentityToken, getenv: o.Getenv}
		if err := tokens.check(); err != nil {
			return r.fail(StepCI, t0, ErrPreflight, err)
		}
		r.step(StepCI, t0, true, "CI: %s, identity token available", ciName(ci))
		t0 = time.Now()
		statement, err = provenance.BuildStatement(o.Getenv, t.Name, t.Version, t.Bytes)
		if err != nil {
			return r.fail(StepStatement, t0, ErrPreflight, err)
		}
		r.res.Statement = statement
		sum, err := provenance.ParseStatement(statement)
		if err != nil {
			return r.fail(StepStatement, t0, ErrPreflight, err)
		}
		r.step(StepStatement, t0, true, "statement for %s from %s@%s", provenance.PURL(t.Name, t.Version), sum.SourceRepositoryURI, shortSHA(sum.SourceCommit))
	}

	// An existing bundle: check it before anything is sent.
	var bundleJSON []byte
	var bundleType string
	if o.ProvenanceFile != "" {
		t0 = time.Now()
		bundleJSON, bundleType, err = r.checkBundleFile(ctx)
		if err != nil {
			return r.fail(StepBundleFile, t0, ErrPreflight, err)
		}
		info := describeAttached(bundleJSON)
		info.Source = "file"
		r.res.Provenance = &info
		r.step(StepBundleFile, t0, true, "bundle %s: subject matches %s", o.ProvenanceFile, provenance.PURL(t.Name, t.Version))
	}

	// Registry reads.
	t0 = time.Now()
	if err := r.checkRegistry(ctx); err != nil {
		return r.fail(StepRegistry, t0, ErrPreflight, err)
	}
	if r.token != "" {
		t0 = time.Now()
		user, err := r.whoami(ctx)
		if err != nil {
			return r.fail(StepWhoami, t0, ErrPreflight, err)
		}
		r.res.User = user
		if user != "" {
			r.step(StepWhoami, t0, true, "token accepted for user %s", user)
		} else {
			r.step(StepWhoami, t0, true, "registry has no /-/whoami; token will be checked by the publish")
		}
	}
	if o.DryRun {
		return nil
	}

	// Sign and log.
	if o.Provenance {
		if bundleJSON, bundleType, err = r.sign(ctx, tokens, statement); err != nil {
			return err
		}
	}
	r.res.bundle = bundleJSON

	// Publish.
	t0 = time.Now()
	head := ""
	if !r.res.Package.FromTarball {
		head = gitHead(o.Path)
	}
	body, err := buildBody(t, r.registry, r.res.Tag, r.res.Access, head, bundleJSON, bundleType)
	if err != nil {
		return r.fail(StepPublish, t0, ErrRegistry, err)
	}
	if len(body) > limits.MaxPublishBodyBytes {
		return r.fail(StepPublish, t0, ErrPreflight, fmt.Errorf("publish body is %d bytes, over the limit of %d", len(body), limits.MaxPublishBodyBytes))
	}
	pub, err := r.put(ctx, body)
	if err != nil {
		return r.fail(StepPublish, t0, ErrRegistry, err)
	}
	r.res.Published = pub
	r.step(StepPublish, t0, true, "published %s@%s to %s (HTTP %d)", t.Name, t.Version, r.res.Registry, pub.Status)
	pub.PageURL = r.pageURL(ctx)
	return nil
}

func (r *run) checkOptions() error {
	o := &r.o
	if o.Path == "" {
		return errors.New("no package folder or tarball given")
	}
	if o.Provenance && o.ProvenanceFile != "" {
		return errors.New("--provenance-file can not be provided when using --provenance")
	}
	if o.IdentityToken != "" && !o.Provenance {
		return errors.New("--identity-token is only used with --provenance")
	}
	switch o.Access {
	case "", "public", "restricted":
	default:
		return fmt.Errorf("--access must be public or restricted, not %q", o.Access)
	}
	r.tagGiven = o.Tag != ""
	if o.Tag != "" {
		if _, err := semver.NewConstraint(o.Tag); err == nil && rangeRE.MatchString(o.Tag) {
			return fmt.Errorf("tag name must not be a valid SemVer range: %s", o.Tag)
		}
		if strings.ContainsAny(o.Tag, " /\\%") || url.PathEscape(o.Tag) != o.Tag {
			return fmt.Errorf("invalid tag name %q", o.Tag)
		}
	}
	return nil
}

// checkManifest applies npm's pre-publish rules to package.json and
// returns publishConfig.registry, if any.
func (r *run) checkManifest() (string, error) {
	t := r.tarball
	var m struct {
		Private       json.RawMessage `json:"private"`
		PublishConfig struct {
			Registry string `json:"registry"`
			Tag      string `json:"tag"`
			Access   string `json:"access"`
		} `json:"publishConfig"`
	}
	if err := json.Unmarshal(t.Manifest, &m); err != nil {
		return "", fmt.Errorf("package.json: %w", err)
	}
	if len(t.Name) > limits.MaxPackageNameLength {
		return "", fmt.Errorf("invalid package name %q: longer than %d characters", t.Name, limits.MaxPackageNameLength)
	}
	if !nameRE.MatchString(t.Name) || t.Name == "node_modules" || t.Name == "favicon.ico" {
		return "", fmt.Errorf("invalid package name %q: npm names are lowercase, URL-safe and do not start with . or _", t.Name)
	}
	v, err := semver.StrictNewVersion(t.Version)
	if err != nil {
		return "", fmt.Errorf("EBADSEMVER: invalid semver: %s", t.Version)
	}
	if v.Metadata() != "" {
		return "", fmt.Errorf("EBADSEMVER: version %s has build metadata, which npm strips; remove it from package.json", t.Version)
	}
	if string(m.Private) == "true" {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
		return "", errors.New("EPRIVATE: This package has been marked as private\nRemove the 'private' field from the package.json to publish it.")
	}
	tag := r.o.Tag
	if tag == "" {
		tag = m.PublishConfig.Tag
		r.tagGiven = tag != ""
	}
	if tag == "" {
		if v.Prerelease() != "" {
			//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
			return "", errors.New("You must specify a tag using --tag when publishing a prerelease version.")
		}
		tag = DefaultTag
	}
	r.res.Tag = tag
	access := r.o.Access
	if access == "" {
		access = m.PublishConfig.Access
	}
	if access == "" && r.o.Provenance {
		access = "public" // npm accepts provenance only for public packages
	}
	if access == "restricted" && !strings.HasPrefix(t.Name, "@") {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
		return "", errors.New("EUNSCOPED: Can't restrict access to unscoped packages.")
	}
	if access == "restricted" && r.o.Provenance {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
		return "", errors.New("Can't generate provenance for new or private package, you must set `access` to public.")
	}
	r.res.Access = access
	return m.PublishConfig.Registry, nil
}

func (r *run) authHeader() http.Header {
	h := http.Header{"Accept": {"application/json"}, "Npm-Command": {"publish"}}
	if r.token != "" {
		h.Set("Authorization", "Bearer "+r.token)
	}
	return h
}

func (r *run) packumentURL() string {
	return r.registry.String() + npmwire.EscapeName(r.tarball.Name)
}

// checkRegistry reads the packument: the version must be new and, when
// the tag was not chosen, not lower than the current "latest".
func (r *run) checkRegistry(ctx context.Context) error {
	t := r.tarball
	u := r.packumentURL()
	t0 := time.Now()
	resp, err := r.c.do(ctx, http.MethodGet, u, r.authHeader(), nil, true)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	switch resp.status {
	case http.StatusNotFound:
		r.step(StepRegistry, t0, true, "%s is a new package on %s", t.Name, r.res.Registry)
		return nil
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		if r.token != "" {
			return fmt.Errorf("the registry rejected the token: %w", registryError(http.MethodGet, u, resp))
		}
		return registryError(http.MethodGet, u, resp)
	default:
		return registryError(http.MethodGet, u, resp)
	}
	var p npmwire.Packument
	if err := json.Unmarshal(resp.body, &p); err != nil {
		return fmt.Errorf("GET %s: packument is not JSON: %w", u, err)
	}
	if _, ok := p.Versions[t.Version]; ok {
		//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
		return fmt.Errorf("EPUBLISHCONFLICT: You cannot publish over the previously published versions: %s.", t.Version)
	}
	if latest := p.DistTags["latest"]; latest != "" && r.res.Tag == DefaultTag && !r.tagGiven {
		lv, err1 := semver.NewVersion(latest)
		nv, err2 := semver.NewVersion(t.Version)
		if err1 == nil && err2 == nil && lv.GreaterThan(nv) {
			//lint:ignore ST1005 npm's exact user-facing wording (npm-protocol.md); users and scripts match on it
			return fmt.Errorf("Cannot implicitly apply the \"latest\" tag because previously published version %s is higher than the new version %s. You must specify a tag using --tag.", latest, t.Version)
		}
	}
	r.step(StepRegistry, t0, true, "%s@%s is not yet on %s (%d versions published)", t.Name, t.Version, r.res.Registry, len(p.Versions))
	return nil
}

// whoami checks the token with GET /-/whoami. A registry without the
// endpoint (404) yields "" and no error.
func (r *run) whoami(ctx context.Context) (string, error) {
	u := r.registry.String() + "-/whoami"
	resp, err := r.c.do(ctx, http.MethodGet, u, r.authHeader(), nil, true)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	switch resp.status {
	case http.StatusOK:
		var w npmwire.WhoamiResponse
		if err := json.Unmarshal(resp.body, &w); err != nil || w.Username == "" {
			return "", fmt.Errorf("GET %s: no username in the answer", u)
		}
		return w.Username, nil
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return "", nil
	case http.StatusUnauthorized, http.StatusForbidden:
		e := registryError(http.MethodGet, u, resp)
		return "", fmt.Errorf("the registry rejected the token: %w", e)
	}
	return "", registryError(http.MethodGet, u, resp)
}

// checkBundleFile reads --provenance-file and checks it as npm does: a
// DSSE bundle whose single subject is this package's PURL and sha512; and,
// when a trusted root is configured, that it verifies.
func (r *run) checkBundleFile(ctx context.Context) ([]byte, string, error) {
	f, err := os.Open(r.o.ProvenanceFile)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b := make([]byte, limits.MaxBundleBytes+1)
	n, _ := readFull(f, b)
	if n > limits.MaxBundleBytes {
		return nil, "", fmt.Errorf("%s is over the limit of %d bytes", r.o.ProvenanceFile, limits.MaxBundleBytes)
	}
	b = b[:n]
	payload, mediaType, err := statementFromBundle(b)
	if err != nil {
		return nil, "", err
	}
	sum, err := provenance.ParseStatement(payload)
	if err != nil {
		return nil, "", err
	}
	if err := provenance.CheckSubject(sum, r.tarball.Name, r.tarball.Version, r.tarball.Bytes); err != nil {
		return nil, "", err
	}
	tm, err := loadTrustedRoot(ctx, &r.o, r.c)
	if err != nil {
		return nil, "", err
	}
	if tm != nil {
		if err := verifyBundle(b, tm); err != nil {
			return nil, "", fmt.Errorf("bundle does not verify against the trusted root: %w", err)
		}
	}
	r.res.Statement = payload
	return b, mediaType, nil
}

func readFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := f.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// sign obtains the identity token, the certificate and the log entry.
func (r *run) sign(ctx context.Context, tokens tokenSource, statement []byte) ([]byte, string, error) {
	o := &r.o
	t0 := time.Now()
	svc, err := resolveServices(ctx, o, r.c)
	if err != nil {
		return nil, "", r.fail(StepToken, t0, ErrUsage, err)
	}
	tm, err := loadTrustedRoot(ctx, o, r.c)
	if err != nil {
		return nil, "", r.fail(StepToken, t0, ErrUsage, err)
	}
	idToken, err := tokens.fetch(ctx, r.c)
	if err != nil {
		return nil, "", r.fail(StepToken, t0, ErrSigning, err)
	}
	tokenFrom := "--identity-token"
	if o.IdentityToken == "" {
		tokenFrom = ciName(tokens.ci)
	}
	r.step(StepToken, t0, true, "identity token obtained from %s (audience %s)", tokenFrom, Audience)

	t0 = time.Now()
	s, err := signStatement(ctx, o, svc, idToken, statement, tm)
	if err != nil {
		return nil, "", r.fail(StepCertificate, t0, ErrSigning, err)
	}
	if s.certStep != nil {
		return nil, "", r.fail(StepCertificate, t0, ErrSigning, fmt.Errorf("certificate authority %s: %w", svc.fulcioURL, s.certStep))
	}
	info := s.info
	r.step(StepCertificate, t0, true, "certificate issued by %s for %s (issuer %s)", svc.fulcioURL, info.CertificateSAN, info.CertificateIssuer)
	if s.logStep != nil {
		return nil, "", r.fail(StepLog, t0, ErrSigning, fmt.Errorf("transparency log %s: %w", svc.rekorURL, s.logStep))
	}
	r.step(StepLog, t0, true, "logged at index %d in %s (%s entry): %s", info.LogIndex, svc.rekorURL, info.EntryKind, info.EntryURL)
	info.Source, info.TokenSource, info.ServicesSource = "signed", tokenFrom, svc.source
	r.res.Provenance = &info
	if tm != nil {
		t0 = time.Now()
		if s.selfCheck != nil {
			return nil, "", r.fail(StepSelfCheck, t0, ErrSigning, fmt.Errorf("the signed bundle does not verify against the trusted root: %w", s.selfCheck))
		}
		r.step(StepSelfCheck, t0, true, "bundle verified against the trusted root")
	}
	return s.bundleJSON, s.mediaType, nil
}

// put sends the publish request. It is retried only when the request
// surely did not arrive (connection refused, 429, 502, 503, 504); if a
// retry then meets a conflict, the registry is asked whether the version
// it holds is ours.
func (r *run) put(ctx context.Context, body []byte) (*PublishedInfo, error) {
	u := r.packumentURL()
	h := r.authHeader()
	h.Set("Content-Type", "application/json")
	ci := "none"
	if r.res.CI != "" {
		ci = r.res.CI
	}
	h.Set("Npm-Auth-Type", "web")
	h.Set("User-Agent", r.o.UserAgent+" ci/"+ci)
	resp, err := r.c.do(ctx, http.MethodPut, u, h, body, false)
	if err != nil {
		return nil, fmt.Errorf("PUT %s: %w", u, err)
	}
	if (resp.status == http.StatusForbidden || resp.status == http.StatusConflict) && resp.attempts > 1 && r.publishedByUs(ctx) {
		// An earlier attempt arrived after all; the conflict is our own version.
		resp.status = http.StatusCreated
	}
	if resp.status < 200 || resp.status > 299 {
		return nil, registryError(http.MethodPut, u, resp)
	}
	return &PublishedInfo{
		PackageURL: u,
		TarballURL: tarballURL(r.registry, r.tarball.Name, r.tarball.Version),
		Status:     resp.status,
		Notice:     resp.header.Get("Npm-Notice"),
	}, nil
}

// publishedByUs reports whether the registry holds this version with the
// integrity of the bytes we sent.
func (r *run) publishedByUs(ctx context.Context) bool {
	resp, err := r.c.do(ctx, http.MethodGet, r.packumentURL(), r.authHeader(), nil, true)
	if err != nil || resp.status != http.StatusOK {
		return false
	}
	var p npmwire.Packument
	if json.Unmarshal(resp.body, &p) != nil {
		return false
	}
	var vm npmwire.VersionManifest
	if json.Unmarshal(p.Versions[r.tarball.Version], &vm) != nil {
		return false
	}
	return vm.Dist.Integrity == r.tarball.Integrity
}

// pageURL finds the package's web page: npmjs.com for the public
// registry; else the first of <registry>/<name>/<version> (served as HTML
// to browsers by Provenant's registry) and <registry>/package/<name>
// (Verdaccio's UI) that answers with HTML.
func (r *run) pageURL(ctx context.Context) string {
	t := r.tarball
	if r.registry.Host == "registry.npmjs.org" {
		return "https://www.npmjs.com/package/" + t.Name + "/v/" + t.Version
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, u := range []string{r.registry.String() + t.Name + "/" + t.Version, r.registry.String() + "-/web/detail/" + t.Name} {
		resp, err := r.c.once(ctx, http.MethodGet, u, http.Header{"Accept": {"text/html"}}, nil)
		if err == nil && resp.status == http.StatusOK && strings.HasPrefix(resp.header.Get("Content-Type"), "text/html") {
			return u
		}
	}
	return ""
}

func ciName(ci provenance.CI) string {
	switch ci {
	case provenance.GitHubActions:
		return "GitHub Actions"
	case provenance.GitLabCI:
		return "GitLab CI"
	}
	return string(ci)
}

func accessText(a string) string {
	if a == "" {
		return "default"
	}
	return a
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
