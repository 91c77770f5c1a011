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
	"github.com/provenant/provenant/registry/web"
)

func init() { subcommands = append(subcommands, newRegistryCommand) }

func newRegistryCommand() *cobra.Command {
	var configFile, dataDir, addr, publicURL, logLevel string
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "serve the npm-compatible registry that verifies provenance at publish",
		Long: `Serve the npm-compatible registry.

Configuration comes from a YAML file (--config, checked against
schemas/registry-config.schema.json; unknown keys are errors), then the
environment (PROVENANT_REGISTRY_ADDR, PROVENANT_REGISTRY_DATA_DIR,
PROVENANT_REGISTRY_PUBLIC_URL, PROVENANT_REGISTRY_POSTGRES), then flags.
Metadata lives in SQLite under the data directory unless postgresDSN is set. The verification section names
the trusted roots (e.g. the public-good trusted_root.json copied from
@sigstore/tuf's seeds.json) and the policy.`,
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
			cfg.ApplyEnv(os.Getenv)
			flags := cmd.Flags()
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
	pages, err := web.New(web.Config{Catalog: web.StoreCatalog{Store: st}})
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
