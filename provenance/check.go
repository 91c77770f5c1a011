package provenance

import "fmt"

// A CheckError reports that one named provenance check failed. It carries
// the evidence: what the check expected and what it found. Every
// verification step in Provenant (statement, certificate, bundle, log,
// repository, commit, policy) returns one, wrapped or bare, so that callers
// can say which check failed with errors.As.
type CheckError struct {
	// Check is the stable, kebab-case name of the failed check, for example
	// "subject-name", "subject-digest", "repository-url" or "commit-exists".
	Check string
	// Expected is the value the check required; empty when not applicable.
	Expected string
	// Actual is the value the check found; empty when not applicable.
	Actual string
	// Err is an optional underlying cause.
	Err error
}

// Error renders the check name with its evidence.
func (e *CheckError) Error() string {
	msg := e.Check + " check failed"
	if e.Expected != "" || e.Actual != "" {
		msg += fmt.Sprintf(": expected %q, got %q", e.Expected, e.Actual)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the underlying cause, if any.
func (e *CheckError) Unwrap() error { return e.Err }
