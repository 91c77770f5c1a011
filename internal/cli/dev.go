package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/provenant/provenant/internal/devstack"
)

func init() { subcommands = append(subcommands, newDevCommand) }

const devLong = `Run the registry, the embedded trust services (CI OIDC issuer, Fulcio-compatible
CA, Rekor-compatible log) and a local git forge in one process on loopback, each
on its own port, keeping all state in one data directory. The URLs and the
trusted root's path are printed and written to DIR/dev.json for scripts.

With --demo, the example package is committed to its repository in the forge
and published with provenance as a simulated GitHub Actions job from that
commit; the package page, badge and log entry URLs are printed. Running again
with the same directory publishes the next patch version.

Serves until interrupted (Ctrl-C).`

func newDevCommand() *cobra.Command {
	var (
		cfg     devstack.Config
		demo    bool
		example string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "run registry, trust services and git forge locally",
		Long:  devLong,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			st, err := devstack.Start(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			st.PrintURLs(out)
			if demo {
				fmt.Fprintln(out, "\nPublishing the demo package as a GitHub Actions job:")
				d, err := st.Demo(ctx, devstack.DemoOptions{ExampleDir: example, Progress: func(l string) { fmt.Fprintln(out, "  "+l) }})
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "\nPublished %s@%s from %s@%s\n", d.Package, d.Version, d.Repository, d.Commit[:7])
				fmt.Fprintf(out, "  package page   %s\n", d.PageURL)
				fmt.Fprintf(out, "  badge          %s\n", d.BadgeURL)
				fmt.Fprintf(out, "  log entry      %s\n", d.LogEntryURL)
				fmt.Fprintf(out, "  install        npm install %s --registry %s/\n", d.Package, st.Info.RegistryURL)
			}
			fmt.Fprintln(out, "\nServing; press Ctrl-C to stop.")
			return st.Wait(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", ".data", "directory holding all state")
	f.StringVar(&cfg.RegistryAddr, "registry-addr", "", "registry listen address (default 127.0.0.1, free port)")
	f.StringVar(&cfg.TrustAddr, "trust-addr", "", "trust services listen address (default 127.0.0.1, free port)")
	f.StringVar(&cfg.ForgeAddr, "forge-addr", "", "git forge listen address (default 127.0.0.1, free port)")
	f.StringVar(&cfg.PublicGoodRoot, "public-good-root", "", "also trust this public-good Sigstore trusted_root.json")
	f.BoolVar(&demo, "demo", false, "publish the example package with provenance")
	f.StringVar(&example, "example", devstack.DefaultExampleDir, "package folder the demo publishes")
	return cmd
}
