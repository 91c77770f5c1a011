// Command publish-library publishes an npm package with provenance by
// calling the publisher library directly, the way a release tool would
// embed Provenant instead of shelling out to `provenant publish`.
//
// Run it inside a CI job (GitHub Actions with `permissions: id-token: write`,
// or GitLab CI with an `id_tokens: SIGSTORE_ID_TOKEN` entry):
//
//	go run ./examples/publish-library -registry http://127.0.0.1:4873/ ./my-package
//
// Without -provenance=false it signs against the CA and log named by
// PROVENANT_FULCIO_URL / PROVENANT_REKOR_URL or PROVENANT_SIGNING_CONFIG,
// or public-good Sigstore.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/provenant/provenant/publisher"
)

func main() {
	registry := flag.String("registry", "", "registry URL (default: npm configuration)")
	prov := flag.Bool("provenance", true, "sign and attach a provenance statement")
	dryRun := flag.Bool("dry-run", false, "check everything, publish nothing")
	flag.Parse()
	dir := "."
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	res, err := publisher.Publish(ctx, publisher.Options{
		Path:       dir,
		Registry:   *registry,
		Provenance: *prov,
		DryRun:     *dryRun,
		Progress: func(s publisher.Step) {
			fmt.Fprintln(os.Stderr, publisher.StepLine(s))
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "publish failed:", err)
		stop()
		os.Exit(publisher.ExitCode(err))
	}
	out := map[string]any{"package": res.Package.Name + "@" + res.Package.Version, "integrity": res.Package.Integrity}
	if res.Provenance != nil {
		out["logEntry"] = res.Provenance.EntryURL
		out["certificate"] = res.Provenance.CertificateSAN
	}
	if res.Published != nil {
		out["url"] = res.Published.PackageURL
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
