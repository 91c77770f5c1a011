// Package cli wires the provenant subcommands (cobra) to the library
// packages. Each subcommand lives in its own file and does nothing but parse
// flags, environment and configuration, build its dependencies and call a
// library function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// ExitError carries a documented process exit code out of a subcommand.
type ExitError struct {
	// Code is the process exit code.
	Code int
	// Err is the underlying failure, printed to stderr.
	Err error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes shared by every subcommand.
const (
	ExitOK      = 0
	ExitFailure = 1 // an unexpected failure
	ExitUsage   = 2 // bad flags or arguments
)

// subcommands is filled by each subcommand file's init function, so that
// adding a command touches only its own file.
var subcommands []func() *cobra.Command

// NewRootCommand builds the provenant command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "provenant",
		Short:         "npm package provenance for every registry",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// Run executes the command line args and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "provenant:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if isUsageError(err) {
		return ExitUsage
	}
	return ExitFailure
}
