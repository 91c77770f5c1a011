package publisher

import (
	"errors"
	"fmt"
)

// The four kinds of failure a publish can end in. Every error [Publish]
// returns is a [*StepError] wrapping exactly one of them, so callers
// (and [ExitCode]) can tell them apart with errors.Is.
var (
	// ErrUsage: the options are inconsistent or malformed. Nothing was read.
	ErrUsage = errors.New("usage error")
	// ErrPreflight: a check before signing failed: the package is invalid,
	// the version exists, the token is missing or rejected, the CI
	// environment cannot produce provenance. Nothing was signed or logged.
	ErrPreflight = errors.New("pre-flight check failed")
	// ErrSigning: the identity token, the certificate authority or the
	// transparency log failed. Nothing was published.
	ErrSigning = errors.New("signing failed")
	// ErrRegistry: the registry rejected or failed the publish request.
	// With provenance, a log entry may already exist.
	ErrRegistry = errors.New("registry rejected the publish")
)

// Process exit codes for each kind of failure, used by `provenant publish`.
const (
	// ExitOK: published (or, with dry-run, every check passed).
	ExitOK = 0
	// ExitFailure: an unexpected failure (I/O, a bug).
	ExitFailure = 1
	// ExitUsage: bad flags or arguments ([ErrUsage]).
	ExitUsage = 2
	// ExitPreflight: a pre-flight check failed ([ErrPreflight]).
	ExitPreflight = 3
	// ExitSigning: getting the identity token, certificate or log entry
	// failed ([ErrSigning]).
	ExitSigning = 4
	// ExitRegistry: the registry rejected the publish ([ErrRegistry]).
	ExitRegistry = 5
)

// ExitCode maps an error returned by [Publish] to its documented exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrPreflight):
		return ExitPreflight
	case errors.Is(err, ErrSigning):
		return ExitSigning
	case errors.Is(err, ErrRegistry):
		return ExitRegistry
	}
	return ExitFailure
}

// A StepError reports which step of a publish failed, and why.
type StepError struct {
	// Step names the step: one of the Step* constants.
	Step string
	// Kind is ErrUsage, ErrPreflight, ErrSigning or ErrRegistry.
	Kind error
	// Err is the cause; it may be a [*provenance.CheckError], a
	// [*provenance.EnvError], a [*RegistryError] or a [*TokenError].
	Err error
}

// Error names the step and the cause.
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *StepError) Unwrap() []error { return []error{e.Kind, e.Err} }

func stepErr(step string, kind error, err error) error {
	return &StepError{Step: step, Kind: kind, Err: err}
}

// A RegistryError is a non-success HTTP answer from the registry. Message
// is the registry's own {"error": …} text when it sent one.
type RegistryError struct {
	Method, URL string
	Status      int
	// Code is npm's error code for the status: E401, E403, E404, E422, ...
	Code string
	// Message is the registry's error message, verbatim.
	Message string
}

// Error renders the failure as npm-registry-fetch does:
// "<status> <text> - <METHOD> <url> - <message>".
func (e *RegistryError) Error() string {
	s := fmt.Sprintf("%d %s - %s %s", e.Status, statusText(e.Status), e.Method, e.URL)
	if e.Message != "" {
		s += " - " + e.Message
	}
	return s
}

// A TokenError explains that no OIDC identity token could be obtained,
// with the change to the CI configuration that fixes it.
type TokenError struct {
	// Reason says what is missing.
	Reason string
	// Fix is the workflow change that provides the token.
	Fix string
	// Err is an underlying failure, if any.
	Err error
}

// Error gives the reason, the cause and, on its own lines, the fix.
func (e *TokenError) Error() string {
	s := e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Fix != "" {
		s += "\n" + e.Fix
	}
	return s
}

// Unwrap returns the underlying failure.
func (e *TokenError) Unwrap() error { return e.Err }
