// Package limits names every size and count limit Provenant enforces, in
// one place, so that the parse paths and the verify paths share them and
// tests can probe each at the limit and one past it.
package limits

const (
	// MaxPublishBodyBytes caps a publish PUT body. The tarball travels base64
	// encoded (4/3 expansion) next to the manifest and the bundle.
	MaxPublishBodyBytes = 100 << 20
	// MaxTarballBytes caps a decoded package tarball.
	MaxTarballBytes = 64 << 20
	// MaxUnpackedBytes caps the decompressed size of a tarball, against gzip bombs.
	MaxUnpackedBytes = 256 << 20
	// MaxTarEntries caps the number of entries in a package tarball.
	MaxTarEntries = 20000
	// MaxBundleBytes caps a Sigstore bundle attachment.
	MaxBundleBytes = 1 << 20
	// MaxStatementBytes caps a decoded in-toto statement.
	MaxStatementBytes = 1 << 20
	// MaxSubjects caps the number of subjects read from a statement.
	MaxSubjects = 1024
	// MaxPackageJSONBytes caps package.json read from a tarball.
	MaxPackageJSONBytes = 4 << 20
	// MaxLogEntryRequestBytes caps a transparency log entry request body.
	MaxLogEntryRequestBytes = 1 << 20
	// MaxSigningCertRequestBytes caps a CA signing-certificate request body.
	MaxSigningCertRequestBytes = 64 << 10
	// MaxJWTBytes caps an OIDC token presented to the CA.
	MaxJWTBytes = 16 << 10
	// MaxPackageNameLength is npm's limit on package name length.
	MaxPackageNameLength = 214
)
