package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/provenant/provenant/publisher"
)

func init() { subcommands = append(subcommands, newPublishCommand) }

const publishLong = `Pack a package folder exactly as "npm pack" does (or take a tarball as is) and
publish it in npm's format, optionally with a Sigstore-signed provenance
statement for the CI job that runs it. A drop-in for "npm publish --provenance".

Before anything is signed or logged it checks package.json, that the version is
not yet on the registry and that the token is accepted, so a publish that was
bound to fail leaves no transparency log entry behind.

Token: --token, else .npmrc "//host/:_authToken=${NODE_AUTH_TOKEN}" (as
actions/setup-node writes it; project and user .npmrc), else NODE_AUTH_TOKEN or
NPM_TOKEN. Signing services: --fulcio-url/--rekor-url, else PROVENANT_FULCIO_URL /
PROVENANT_REKOR_URL, else --signing-config or PROVENANT_SIGNING_CONFIG, else
public-good Sigstore.

Exit codes:
  0  published (or dry run passed)
  1  unexpected failure
  2  usage error
  3  pre-flight check failed (nothing signed, logged or published)
  4  identity token, certificate authority or transparency log failed
  5  the registry rejected the publish`

func newPublishCommand() *cobra.Command {
	var (
		o           publisher.Options
		asJSON      bool
		trustedRoot string
		timeout     time.Duration
		retries     int
	)
	cmd := &cobra.Command{
		Use:   "publish [DIR|TARBALL]",
		Short: "publish an npm package, with Sigstore provenance",
		Long:  publishLong,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Path = "."
			if len(args) == 1 {
				o.Path = args[0]
			}
			o.TrustedRootURL = trustedRoot
			o.Timeout = timeout
			o.Retries = retries
			if retries <= 0 {
				o.Retries = -1 // the library reads 0 as "default"
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if !asJSON {
				o.Progress = func(s publisher.Step) { fmt.Fprintln(errOut, publisher.StepLine(s)) }
			}
			res, err := publisher.Publish(cmd.Context(), o)
			if asJSON {
				if err != nil {
					res.Error = err.Error()
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if werr := enc.Encode(res); werr != nil && err == nil {
					err = werr
				}
			} else if err == nil {
				if werr := publisher.WriteText(out, res, false); werr != nil {
					err = werr
				}
			}
			githubActionsReport(res, err, errOut)
			if err != nil {
				return &ExitError{Code: publisher.ExitCode(err), Err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.Provenance, "provenance", false, "sign and attach a provenance statement for this CI job")
	f.StringVar(&o.ProvenanceFile, "provenance-file", "", "attach this existing Sigstore bundle instead of signing")
	f.StringVar(&o.Registry, "registry", "", "registry URL (default: npm config, then https://registry.npmjs.org/)")
	f.StringVar(&o.Token, "token", "", "registry token (default: .npmrc, NODE_AUTH_TOKEN, NPM_TOKEN)")
	f.StringVar(&o.Tag, "tag", "", `dist-tag to set (default "latest")`)
	f.StringVar(&o.Access, "access", "", "public or restricted")
	f.BoolVar(&o.DryRun, "dry-run", false, "pack, check and build the statement, but sign, log and publish nothing")
	f.StringVar(&o.IdentityToken, "identity-token", "", "OIDC identity token to sign with instead of the CI job's")
	f.StringVar(&o.FulcioURL, "fulcio-url", "", "Fulcio-compatible certificate authority URL")
	f.StringVar(&o.RekorURL, "rekor-url", "", "Rekor-compatible transparency log URL")
	f.StringVar(&o.SigningConfigURL, "signing-config", "", "Sigstore signing config (path or URL) naming the CA and log")
	f.StringVar(&trustedRoot, "trusted-root", "", "trusted_root.json (path or URL) to verify the bundle with before publishing")
	f.DurationVar(&timeout, "timeout", publisher.DefaultTimeout, "timeout of each network call")
	f.IntVar(&retries, "retries", publisher.DefaultRetries, "retries of calls that are safe to repeat (429, 5xx, network errors)")
	f.BoolVar(&asJSON, "json", false, "print one JSON result object")
	return cmd
}

// githubActionsReport appends the job summary and, on failure, prints an
// ::error:: annotation when running on GitHub Actions.
func githubActionsReport(res *publisher.Result, err error, stderr io.Writer) {
	if os.Getenv("GITHUB_ACTIONS") == "" {
		return
	}
	if err != nil {
		fmt.Fprintln(stderr, publisher.Annotation(err))
	}
	path := os.Getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return
	}
	f, ferr := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if ferr != nil {
		fmt.Fprintln(stderr, "provenant: writing GITHUB_STEP_SUMMARY:", ferr)
		return
	}
	defer f.Close()
	if _, werr := io.WriteString(f, publisher.Markdown(res, err)+"\n"); werr != nil {
		fmt.Fprintln(stderr, "provenant: writing GITHUB_STEP_SUMMARY:", werr)
	}
}
