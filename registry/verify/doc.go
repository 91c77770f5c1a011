// Package verify decides whether the registry accepts a version's
// provenance: the Sigstore bundle (certificate chain, transparency log,
// signature), its subject, the signer's identity against the statement, the
// package.json repository claim, the claimed commit, and the operator's
// policy. It returns a typed *provenance.CheckError naming the first failed
// check, in the documented order, and never (false, nil).
//
// A [Verifier] is built once with [New] from a YAML-decodable [Config]
// (trusted roots, [Policy], commit checker) and then called for each
// publication with [Verifier.Verify]. Trusted roots are parsed, and
// sigstore-go verifiers built, once.
//
// # Checks, in order
//
// The registry's own step 1 (the request shape) runs before Verify. Verify
// runs steps 2 to 7 and stops at the first failure. Each name below is the
// stable Check of the *provenance.CheckError returned when it fails, and
// the Name of its record in [Result].Checks when it passes.
//
//	provenance-required    a version without a bundle is accepted only if the
//	                       policy does not require provenance (then Verify stops,
//	                       with Result.Provenance false)
//
// Step 2, the bundle:
//
//	bundle-size            the bundle is at most limits.MaxBundleBytes
//	bundle-parse           the bundle is protobuf JSON
//	bundle-media-type      v0.1, v0.2 or v0.3 (both spellings of v0.3)
//	bundle-parse           it has content and verification material, its log
//	                       entries parse, and a v0.3 bundle carries a certificate,
//	                       not a chain (sigstore-go's bundle rules)
//	tlog-set               a v0.1 bundle's entries carry an inclusion promise
//	tlog-inclusion         a v0.2 or v0.3 bundle's entries carry an inclusion proof
//	bundle-content         the bundle holds a DSSE envelope
//	payload-type           the envelope's payload type is application/vnd.in-toto+json
//	tlog-entry-kind        there is a log entry, and every entry is intoto 0.0.2,
//	                       dsse 0.0.1 or hashedrekord 0.0.1/0.0.2
//	signing-certificate    the bundle is signed with a certificate, not a key
//	trusted-root           a log entry belongs to a configured root the policy allows
//	                       for the package; the roots are tried in configuration
//	                       order and Result.TrustRoot names the one that verified
//
// Then sigstore-go's Verify (transparency log threshold 1, observer
// timestamps threshold 1, SCTs when the root lists CT logs). On success
// each of these is recorded; on failure the one that failed is named:
//
//	tlog-entry-count       too many or duplicate log entries
//	tlog-entry-mismatch    the entry's signature, certificate or payload hash is not the bundle's
//	tlog-set               the signed entry timestamp (inclusion promise) verifies under the log key
//	tlog-inclusion         the Merkle inclusion proof leads to the proof's root hash
//	tlog-checkpoint        the checkpoint is signed by the log and commits to that root
//	certificate-validity   the log's integrated time is within the certificate's validity
//	observer-timestamp     a trusted time for the signature is established
//	certificate-chain      the certificate chains to the root's CA at that time
//	certificate-sct        the certificate carries an SCT from the root's CT log
//	signature              the DSSE signature verifies with the certificate's key
//	bundle-verify          any other sigstore-go failure (its error is wrapped)
//
// Step 3, the statement and its subject:
//
//	predicate-type         SLSA provenance v1 or v0.2
//	statement-parse        provenance.ParseStatement reads the statement
//	subject-count, subject-name, subject-digest
//	                       exactly one subject, named PURL(name, version), whose
//	                       sha512 is the uploaded tarball's (recorded as "subject");
//	                       sigstore-go also checks the digest, and a digest it
//	                       rejects is reported here, under this name
//
// Step 4, identity:
//
//	issuer-allowed         the certificate's OIDC issuer is allowed by the policy
//	certificate-*          provenance.CheckCertificate: the statement agrees with the
//	                       certificate extensions (repository, commit, ref, workflow,
//	                       run invocation, ids, trigger, runner); recorded as
//	                       "certificate-statement"
//
// Step 5, the repository claim:
//
//	repository-missing, repository-url
//	                       provenance.CheckRepository: package.json "repository"
//	                       equals the certificate's Source Repository URI
//
// Step 6, the commit:
//
//	commit-exists          the certificate's commit exists in its repository
//	                       (package [commit]); mode require rejects, warn records
//	                       it "unverified", off records it "off"
//
// Step 7, the rest of the policy:
//
//	runner-environment     the Runner Environment extension is allowed
//	repository-visibility  the Source Repository Visibility extension is allowed
//	trusted-publisher      the repository, workflow and environment are one of
//	                       the package's trusted publishers (when it has any)
//
// A bundle whose SET, inclusion proof or checkpoint fails under a trusted log
// key is an ordinary rejection, not a security event: the publisher, not the
// log, supplied those bytes.
//
// Identity is checked by Provenant, not through sigstore-go's
// CertificateIdentity, so that every failure carries Provenant's check
// name; the sigstore-go policy is therefore WithoutIdentitiesUnsafe, and
// steps 4 and 7 are what make that safe.
package verify
