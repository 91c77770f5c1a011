package provenance

import (
	"errors"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// ErrMissingExtension is wrapped by a certificate check that failed
// because the signing certificate lacks the extension it compares.
var ErrMissingExtension = errors.New("extension missing in signing certificate")

// ErrMissingStatementField is wrapped by a certificate check that failed
// because the statement lacks the field it compares.
var ErrMissingStatementField = errors.New("field missing in provenance statement")

// CheckCertificate compares the statement with the Fulcio extensions of
// the certificate that signed it (npm-protocol.md §6.2). The statement is
// written by the build and can be forged by changing environment
// variables; the certificate's extensions come from the CI's OIDC token.
//
// Source repository URI, commit, ref, build config URI and run invocation
// URI must be present on both sides and equal. Repository and owner ids,
// trigger event and runner environment are compared when both sides carry
// them (GitLab statements have no runner environment; npm 9 GitHub
// statements had no runner in the builder id; certificates from before
// Fulcio's v2 extensions lack the ids). The first mismatch is returned as
// a [*CheckError] named certificate-*.
func CheckCertificate(s *Summary, ext certificate.Extensions) error {
	required := []struct {
		check, statement, cert string
	}{
		{"certificate-source-repository", s.SourceRepositoryURI, ext.SourceRepositoryURI},
		{"certificate-source-commit", s.SourceCommit, ext.SourceRepositoryDigest},
		{"certificate-source-ref", s.SourceRef, ext.SourceRepositoryRef},
		{"certificate-build-config", s.BuildConfigURI, ext.BuildConfigURI},
		{"certificate-run-invocation", s.RunInvocationURI, ext.RunInvocationURI},
	}
	for _, c := range required {
		if err := compare(c.check, c.statement, c.cert); err != nil {
			return err
		}
	}
	optional := []struct {
		check, statement, cert string
	}{
		{"certificate-source-repository-id", s.SourceRepositoryID, ext.SourceRepositoryIdentifier},
		{"certificate-source-repository-owner-id", s.SourceRepositoryOwnerID, ext.SourceRepositoryOwnerIdentifier},
		{"certificate-build-trigger", s.TriggerEvent, ext.BuildTrigger},
		{"certificate-runner-environment", s.RunnerEnvironment, ext.RunnerEnvironment},
	}
	for _, c := range optional {
		if c.statement == "" || c.cert == "" {
			continue
		}
		if err := compare(c.check, c.statement, c.cert); err != nil {
			return err
		}
	}
	return nil
}

// compare checks one statement value against one certificate value. The
// expected value is the certificate's, which the statement must repeat.
func compare(check, statement, cert string) error {
	switch {
	case cert == "":
		return &CheckError{Check: check, Actual: statement, Err: ErrMissingExtension}
	case statement == "":
		return &CheckError{Check: check, Expected: cert, Err: ErrMissingStatementField}
	case statement != cert:
		return &CheckError{Check: check, Expected: cert, Actual: statement}
	}
	return nil
}
