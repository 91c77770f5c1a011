// Package publisher publishes npm packages with Sigstore provenance: the
// CI side of Provenant, and the library behind `provenant publish`.
//
// One call, [Publish], does what `npm publish --provenance` does, in this
// order:
//
//  1. pack the folder exactly as `npm pack` does (package
//     [github.com/provenant/provenant/publisher/pack]), or read a tarball;
//  2. check package.json (name, strict semver, private, prerelease tag,
//     access) and find the registry and token (.npmrc as actions/setup-node
//     writes it, NODE_AUTH_TOKEN, NPM_TOKEN);
//  3. with provenance, detect the CI system, check that an OIDC identity
//     token is available and build npm's in-toto statement;
//  4. read the registry: the version must be new and the token accepted
//     (GET /{name}, GET /-/whoami);
//  5. only then fetch the identity token (audience "sigstore"), get a
//     certificate from a Fulcio-compatible CA and a dsse entry in a
//     Rekor-compatible log with sigstore-go's sign.Bundle (bundle v0.3),
//     and optionally verify the bundle against a trusted root;
//  6. PUT the package in npm's format, the bundle attached as
//     "<name>-<version>.sigstore".
//
// A failure that can be known in advance therefore never leaves a
// transparency log entry behind. Every call has a timeout; calls that are
// safe to repeat are retried with exponential backoff on 429, 5xx and
// network errors, and the PUT only when it surely did not arrive.
//
// # Result and errors
//
// [Result] records each finished [Step] and what it produced: the packed
// tarball (name, version, size, integrity, shasum, files), the statement,
// the certificate identity, the log entry and the published URLs. It can
// be rendered with [WriteText], [Markdown] (a GitHub Actions job summary)
// and [Annotation] (an ::error:: workflow command), or as JSON.
//
// Errors are [*StepError]s of four kinds, each with an exit code:
//
//	ErrUsage      2  bad options
//	ErrPreflight  3  a check before signing failed; nothing was signed, logged or sent
//	ErrSigning    4  identity token, certificate authority or log failed
//	ErrRegistry   5  the registry rejected the publish (its message is kept verbatim)
//
// and 1 for anything else. See [ExitCode].
//
// # Signing services
//
// The CA and log come from [Options.FulcioURL] and [Options.RekorURL], else
// PROVENANT_FULCIO_URL and PROVENANT_REKOR_URL, else a Sigstore signing
// config ([Options.SigningConfig], [Options.SigningConfigURL] or
// PROVENANT_SIGNING_CONFIG; Provenant's trust services serve one at
// /signing_config.json), else public-good Sigstore.
package publisher
