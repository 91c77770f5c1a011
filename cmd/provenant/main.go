// Command provenant publishes npm packages with Sigstore provenance, serves an
// npm-compatible registry that verifies it, and runs the embedded trust
// services (CI OIDC issuer, Fulcio-compatible CA, Rekor-compatible log).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/provenant/provenant/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
