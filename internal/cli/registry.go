package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/provenant/provenant/registry"
	"github.com/provenant/provenant/registry/store/postgres"
	"github.com/provenant/provenant/registry/store/sqlite"
	"github.com/provenant/provenant/registry/store/sqlstore"
	"github.com/provenant/provenant/registry/verify"
	"github.com/provenant/provenant/registry/web"
)

func init() { subcommands = append(subcommands, newRegistryCommand) }

func newRegistryCommand() *cobra.Command {
	var configFile, dataDir, addr, publicURL, logLevel, publicGoodRoot, logURL, commitCheck string
	var trustedRoots, allowIssuers []string
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "serve the npm-compatible registry that verifies provenance at publish",
		Long: `Serve the npm-compatible registry.

Configuration comes from a YAML file (--config, checked against
schemas/registry-config.schema.json; unknown keys are errors), then the
environment (PROVENANT_REGISTRY_ADDR, _DATA_DIR, _PUBLIC_URL, _POSTGRES,
_LOG_URL, _TRUSTED_ROOTS (NAME=PATH,…), _PUBLIC_GOOD_ROOT, _COMMIT_CHECK,
_ALLOW_ISSUERS (URL,…)),
then flags. Metadata lives in SQLite under the data directory unless
postgresDSN is set.

Trusted roots decide which Sigstore instances' provenance is accepted:
--trusted-root private=/data/trust/trusted_root.json for the embedded
trust services, --public-good-root for the public-good trusted_root.json
extracted from @sigstore/tuf's seeds.json (see registry/README.md).
Certificates must name an allowed OIDC issuer: GitHub Actions and
GitLab.com by default; --allow-issuer adds one, e.g. the embedded trust
services' URL. With
no trusted root the registry starts, warns, and accepts only versions
without provenance.

Example:
  provenant registry --data-dir /var/lib/provenant \
    --trusted-root private=/data/trust/trusted_root.json \
    --allow-issuer http://127.0.0.1:8080 \
    --public-good-root /etc/provenant/public-good.json \
    --log-url http://127.0.0.1:8080 --commit-check require`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--log-level: %w", err)}
			}
			slog.SetDefault(slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})))
			var cfg registry.Config
			if configFile != "" {
				c, err := registry.LoadConfig(configFile, registry.ValidateConfigYAML)
				if err != nil {
					return &ExitError{Code: ExitUsage, Err: err}
				}
				cfg = c
			}
			if err := cfg.ApplyEnv(os.Getenv); err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			flags := cmd.Flags()
			for _, spec := range trustedRoots {
				if err := cfg.AddTrustedRoot(spec); err != nil {
					return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--trusted-root: %w", err)}
				}
			}
			if publicGoodRoot != "" {
				cfg.SetTrustedRoot(verify.RootPublicGood, publicGoodRoot)
			}
			if commitCheck != "" {
				if err := cfg.SetCommitCheck(commitCheck); err != nil {
					return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--commit-check: %w", err)}
				}
			}
			for _, iss := range allowIssuers {
				if err := cfg.AllowIssuer(iss); err != nil {
					return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--allow-issuer: %w", err)}
				}
			}
			if logURL != "" {
				cfg.LogURL = logURL
			}
			for name, field := range map[string]*string{"data-dir": &cfg.DataDir, "addr": &cfg.Addr, "public-url": &cfg.PublicURL} {
				if flags.Changed(name) || *field == "" {
					v, _ := flags.GetString(name)
					if v != "" {
						*field = v
					}
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveRegistry(ctx, cfg, cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML configuration file")
	f.StringVar(&dataDir, "data-dir", "", "data directory (database, blobs, signing key)")
	f.StringVar(&addr, "addr", registry.DefaultAddr, "listen address")
	f.StringVar(&publicURL, "public-url", "", "external base URL (default: from each request's Host)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringArrayVar(&trustedRoots, "trusted-root", nil, "trusted root NAME=PATH to a trusted_root.json (repeatable), e.g. private=/data/trust/trusted_root.json")
	f.StringVar(&publicGoodRoot, "public-good-root", "", "the public-good Sigstore trusted_root.json (from @sigstore/tuf's seeds.json)")
	f.StringVar(&logURL, "log-url", "", "base URL of the Rekor-compatible log the /-/log pages read")
	f.StringArrayVar(&allowIssuers, "allow-issuer", nil, "also accept certificates from this OIDC issuer URL (repeatable), e.g. the trust services' URL; GitHub Actions and GitLab.com stay allowed")
	f.StringVar(&commitCheck, "commit-check", "", "default commit-exists mode: require, warn or off (default require)")
	return cmd
}

// serveRegistry opens the store in the data directory, builds the HTML
// pages over it and serves the registry until ctx ends.
func serveRegistry(ctx context.Context, cfg registry.Config, cmd *cobra.Command) error {
	if cfg.DataDir == "" {
		return &ExitError{Code: ExitUsage, Err: errors.New("a data directory is required (--data-dir, PROVENANT_REGISTRY_DATA_DIR or dataDir)")}
	}
	var st *sqlstore.Store
	var err error
	if cfg.PostgresDSN != "" {
		st, err = postgres.New(ctx, postgres.Config{DSN: cfg.PostgresDSN, BlobDir: filepath.Join(cfg.DataDir, "blobs")})
	} else {
		st, err = sqlite.New(ctx, sqlite.Config{Dir: cfg.DataDir})
	}
	if err != nil {
		return err
	}
	defer st.Close()
	tm, err := cfg.TrustedMaterial()
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	pages, err := web.New(web.Config{Catalog: web.StoreCatalog{Store: st}, LogURL: cfg.LogURL, TrustedMaterial: tm})
	if err != nil {
		return err
	}
	srv, err := registry.New(ctx, cfg, registry.WithStore(st), registry.WithPages(pages))
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ListenAndServe(ctx, cfg.Addr, func(a net.Addr) {
		fmt.Fprintf(cmd.OutOrStdout(), "provenant registry listening on http://%s/\n", a)
	})
}
