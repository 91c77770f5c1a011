// Package provenance builds, parses and checks npm provenance statements.
//
// It is pure: it reads an environment through a lookup function and bytes
// given by the caller, and does no I/O of its own. The publisher builds a
// statement with [BuildStatement]; the registry parses an uploaded one with
// [ParseStatement] and runs the checks below.
//
// # Building
//
// [BuildStatement] turns a CI job's environment into the in-toto statement
// that npm's libnpmpublish (npm/cli workspaces/libnpmpublish/lib/provenance.js)
// builds for the same job:
//
//   - GitHub Actions: Statement v1 with SLSA provenance v1 and build type
//     [GitHubBuildType], every field fed from the same GITHUB_* and RUNNER_*
//     variables as npm, including the split of GITHUB_WORKFLOW_REF at the
//     first "@" (so refs like refs/tags/pkg@1.0.0 survive).
//   - GitLab CI: Statement v0.1 with SLSA provenance v0.2 and build type
//     [GitLabBuildType], with npm's list of CI_* parameters.
//
// The statement is JSON-equal to npm's; a test drives npm's own code to
// prove it. Where npm would write "undefined" or drop a field because a
// variable is missing, BuildStatement returns an [*EnvError] naming it.
//
// # Parsing
//
// [ParseStatement] reads any npm provenance statement seen in the wild
// (Statement v0.1 and v1; SLSA v0.2 and v1; the GitHub build types
// https://github.com/npm/cli/gha@v0, https://github.com/npm/cli/gha/v2 and
// [GitHubBuildType], and the GitLab build type) into one [Summary].
// [Explain] does the same for a Sigstore bundle or an npm attestations
// response and compares the statement with the signing certificate's
// claims, without verifying any signature.
//
// # Checks
//
// Every check is a pure function that returns nil or a [*CheckError] whose
// Check field is one of these stable names:
//
//	subject-count                           the statement has exactly one subject
//	subject-name                            the subject name is PURL(name, version)
//	subject-digest                          the subject sha512 is the tarball's digest
//	certificate-source-repository           statement source repository = cert .1.12
//	certificate-source-commit               statement commit = cert .1.13
//	certificate-source-ref                  statement ref = cert .1.14
//	certificate-source-repository-id        GitHub repository_id = cert .1.15
//	certificate-source-repository-owner-id  GitHub repository_owner_id = cert .1.17
//	certificate-build-config                workflow file URI@ref = cert .1.18
//	certificate-build-trigger               trigger event = cert .1.20
//	certificate-run-invocation              build-summary URL = cert .1.21
//	certificate-runner-environment          runner environment = cert .1.11
//	repository-missing                      package.json has no usable "repository"
//	repository-url                          normalised package.json repository = source repository
//
// The certificate checks follow npm-protocol.md §6.2: npm's registry compares
// the (falsifiable) statement with the (non-falsifiable) Fulcio certificate
// extensions. The repository check follows npm's documented rule: the
// package.json repository, normalised, must equal the source repository URI
// exactly (case-sensitive, scheme-sensitive).
package provenance
