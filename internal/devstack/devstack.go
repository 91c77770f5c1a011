// Package devstack runs Provenant's whole system in one process on
// loopback, for `provenant dev` and `make run`: the registry (with its
// pages), the embedded trust services (OIDC issuer, CA, transparency log)
// and a local git forge, each on its own listener so that each has its own
// origin, all keeping their state in one data directory.
//
// # Data directory
//
//	DIR/dev.json        the URLs and the trusted root's path, for scripts (see Info)
//	DIR/ports.json      the addresses bound last, reused on restart when free
//	DIR/trust/          trust services: keys, CA, log, trusted_root.json
//	DIR/registry/       registry: SQLite database, blobs, signing key
//	DIR/forge/          bare git repositories served by the forge
//	DIR/demo/           the demo's work tree and registry account
//
// The registry trusts the embedded root (as "private") and, when a file is
// given, the public-good Sigstore root. Its commit check fetches from the
// local forge: repository URLs under https://github.com/ and
// https://gitlab.com/ are rewritten to the forge.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/provenant/provenant/internal/gitforge"
	"github.com/provenant/provenant/registry"
	"github.com/provenant/provenant/registry/store"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/verify/commit"
	"github.com/provenant/provenant/registry/web"
	"github.com/provenant/provenant/trust"
)

// InfoFile is the name of the JSON file, in the data directory, that
// describes a running stack.
const InfoFile = "dev.json"

// DefaultHost is the loopback address every listener binds.
const DefaultHost = "127.0.0.1"

// Config configures a stack.
type Config struct {
	// DataDir holds all state. Required.
	DataDir string
	// RegistryAddr, TrustAddr and ForgeAddr are the listen addresses;
	// empty means DefaultHost on a free port.
	RegistryAddr, TrustAddr, ForgeAddr string
	// PublicGoodRoot is an optional path to the public-good Sigstore
	// trusted_root.json; when set the registry also trusts it.
	PublicGoodRoot string
}

// Info describes a running stack; it is written to DIR/dev.json.
type Info struct {
	// RegistryURL is the npm registry (and its pages).
	RegistryURL string `json:"registry"`
	// TrustURL is the OIDC issuer, Fulcio and Rekor base URL.
	TrustURL string `json:"trust"`
	// ForgeURL serves the git repositories: ForgeURL/owner/repo.git.
	ForgeURL string `json:"forge"`
	// TrustedRoot and SigningConfig are paths to the embedded services'
	// trusted_root.json and signing_config.json.
	TrustedRoot   string `json:"trustedRoot"`
	SigningConfig string `json:"signingConfig"`
	// DataDir is the stack's data directory.
	DataDir string `json:"dataDir"`
	// PID is the process serving the stack.
	PID int `json:"pid"`
	// Demo is set once the demo package is published.
	Demo *DemoInfo `json:"demo,omitempty"`
}

// Stack is a running dev stack. Close it when done.
type Stack struct {
	// Info holds the URLs.
	Info Info

	cfg      Config
	services *trust.Services
	registry *registry.Server
	store    store.Store
	servers  []*http.Server
	done     chan error
}

// Start opens the services in cfg.DataDir, binds the listeners and serves
// until Close. It writes DIR/dev.json once everything is ready.
func Start(ctx context.Context, cfg Config) (st *Stack, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("devstack: a data directory is required")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	cfg.DataDir = dir
	forgeRoot := filepath.Join(dir, "forge")
	for _, d := range []string{dir, forgeRoot} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	if err := gitforge.Available(); err != nil {
		return nil, fmt.Errorf("devstack: the git forge needs git: %w", err)
	}
	s := &Stack{cfg: cfg, done: make(chan error, 3)}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	lns, err := listen(dir, map[string]string{"registry": cfg.RegistryAddr, "trust": cfg.TrustAddr, "forge": cfg.ForgeAddr})
	if err != nil {
		return nil, err
	}
	urlOf := func(name string) string { return "http://" + lns[name].Addr().String() }
	s.Info = Info{RegistryURL: urlOf("registry"), TrustURL: urlOf("trust"), ForgeURL: urlOf("forge"), DataDir: dir, PID: os.Getpid()}

	// Trust services first: the registry trusts their root.
	trustDir := filepath.Join(dir, "trust")
	if s.services, err = trust.Open(ctx, trust.Config{DataDir: trustDir, BaseURL: s.Info.TrustURL}); err != nil {
		closeAll(lns)
		return nil, err
	}
	s.Info.TrustedRoot = filepath.Join(trustDir, trust.TrustedRootFile)
	s.Info.SigningConfig = filepath.Join(trustDir, trust.SigningConfigFile)
	s.serve(lns["trust"], s.services.Handler())
	s.serve(lns["forge"], gitforge.New(forgeRoot))

	regDir := filepath.Join(dir, "registry")
	db, err := sqlite.New(ctx, sqlite.Config{Dir: regDir})
	if err != nil {
		lns["registry"].Close()
		return nil, err
	}
	s.store = db
	vcfg := s.verifyConfig()
	pages, err := web.New(web.Config{Catalog: web.StoreCatalog{Store: s.store}, LogURL: s.Info.TrustURL, TrustedMaterial: vcfg.TrustedRoots[0].Material})
	if err != nil {
		lns["registry"].Close()
		return nil, err
	}
	verifier, err := verify.New(vcfg)
	if err != nil {
		lns["registry"].Close()
		return nil, err
	}
	s.registry, err = registry.New(ctx, registry.Config{DataDir: regDir, Verification: vcfg},
		registry.WithStore(s.store), registry.WithVerifier(verifier), registry.WithPages(pages))
	if err != nil {
		lns["registry"].Close()
		return nil, err
	}
	s.serve(lns["registry"], s.registry.Handler())
	if err := s.writeInfo(); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "dev stack ready", slog.String("registry", s.Info.RegistryURL), slog.String("trust", s.Info.TrustURL), slog.String("forge", s.Info.ForgeURL))
	return s, nil
}

// verifyConfig trusts the embedded root and, optionally, public-good; it
// accepts the embedded issuer's tokens, and checks commits in the forge.
func (s *Stack) verifyConfig() verify.Config {
	tm, err := root.NewTrustedRootFromJSON(s.services.TrustedRootJSON())
	roots := []verify.RootConfig{{Name: verify.RootPrivate, Material: tm}}
	if err != nil {
		// The services round-trip their own root at Open; keep the JSON
		// so that the verifier reports the problem by name.
		roots = []verify.RootConfig{{Name: verify.RootPrivate, JSON: s.services.TrustedRootJSON()}}
	}
	if s.cfg.PublicGoodRoot != "" {
		roots = append(roots, verify.RootConfig{Name: verify.RootPublicGood, Path: s.cfg.PublicGoodRoot})
	}
	iss := s.services.Issuer()
	return verify.Config{
		TrustedRoots: roots,
		Policy: verify.Policy{Default: verify.Rules{
			AllowedIssuers: append(append([]string(nil), verify.DefaultIssuers...), iss.GitHubIssuerURL(), iss.GitLabIssuerURL()),
		}},
		Commit: commit.Config{Rewrites: commit.Rewrites{
			{Prefix: "https://github.com/", Replacement: s.Info.ForgeURL + "/"},
			{Prefix: "https://gitlab.com/", Replacement: s.Info.ForgeURL + "/"},
		}},
	}
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.done <- err
		}
	}()
}

// PortsFile remembers, in the data directory, the addresses a stack bound,
// so that a restart serves on the same URLs when the ports are free.
const PortsFile = "ports.json"

// listen binds one listener per service: at the configured address, else
// at the address remembered from the last run, else on a free loopback
// port. It records the bound addresses in PortsFile.
func listen(dir string, addrs map[string]string) (map[string]net.Listener, error) {
	var remembered map[string]string
	if b, err := os.ReadFile(filepath.Join(dir, PortsFile)); err == nil {
		_ = json.Unmarshal(b, &remembered) // a damaged file only costs the old ports
	}
	lns := map[string]net.Listener{}
	bound := map[string]string{}
	for name, addr := range addrs {
		var ln net.Listener
		var err error
		switch {
		case addr != "":
			ln, err = net.Listen("tcp", addr)
		case remembered[name] != "":
			if ln, err = net.Listen("tcp", remembered[name]); err != nil {
				slog.Info("remembered port is taken; using a free one", slog.String("service", name), slog.String("addr", remembered[name]))
				ln, err = net.Listen("tcp", DefaultHost+":0")
			}
		default:
			ln, err = net.Listen("tcp", DefaultHost+":0")
		}
		if err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("devstack: %s listener: %w", name, err)
		}
		lns[name] = ln
		bound[name] = ln.Addr().String()
	}
	if b, err := json.Marshal(bound); err == nil {
		if err := os.WriteFile(filepath.Join(dir, PortsFile), b, 0o644); err != nil {
			closeAll(lns)
			return nil, fmt.Errorf("devstack: %w", err)
		}
	}
	return lns, nil
}

func closeAll(lns map[string]net.Listener) {
	for _, l := range lns {
		l.Close()
	}
}

// writeInfo writes DIR/dev.json atomically.
func (s *Stack) writeInfo() error {
	b, err := json.MarshalIndent(s.Info, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.cfg.DataDir, InfoFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("devstack: %w", err)
	}
	return os.Rename(tmp, path)
}

// Wait blocks until ctx is done or a server fails.
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-s.done:
		return fmt.Errorf("devstack: server failed: %w", err)
	}
}

// Close stops the servers and closes the registry, the store and the
// trust services. It removes dev.json, since the URLs no longer answer.
func (s *Stack) Close() error {
	var errs []error
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	if s.registry != nil {
		errs = append(errs, s.registry.Close())
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	if s.services != nil {
		errs = append(errs, s.services.Close())
	}
	if s.Info.RegistryURL != "" {
		if err := os.Remove(filepath.Join(s.cfg.DataDir, InfoFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PrintURLs writes the stack's URLs for a person.
func (s *Stack) PrintURLs(w io.Writer) {
	fmt.Fprintf(w, "Provenant dev stack\n")
	fmt.Fprintf(w, "  registry       %s\n", s.Info.RegistryURL)
	fmt.Fprintf(w, "  trust services %s  (OIDC issuer, Fulcio, Rekor)\n", s.Info.TrustURL)
	fmt.Fprintf(w, "  git forge      %s\n", s.Info.ForgeURL)
	fmt.Fprintf(w, "  log viewer     %s/-/log\n", s.Info.RegistryURL)
	fmt.Fprintf(w, "  trusted root   %s\n", s.Info.TrustedRoot)
	fmt.Fprintf(w, "  state          %s\n", filepath.Join(s.cfg.DataDir, InfoFile))
}
